"""Hand-written source material for the demo model's data (see data/demo/README.md)."""
