#!/usr/bin/env python3
"""Prints a T5 checkpoint's relative position bias near the diagonal, per head (issue 10):
whether the encoder has a head that looks at the previous token (offset -1), which
ordered copying needs. Needs numpy and safetensors (the fixtures venv has both).

    fixtures/.venv/bin/python data/demo/train/show_position_bias.py CHECKPOINT_DIR...

Buckets as T5 computes them: bidirectional (encoder) tables keep offsets -7..-1 in buckets
1..7 and +1..+7 in 17..23; the decoder's (causal) table offsets -1..-7 in 1..7.
"""
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

ENCODER = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
DECODER = "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"


def main():
    np.set_printoptions(precision=2, suppress=True, linewidth=200)
    for directory in sys.argv[1:]:
        weights = load_file(str(Path(directory) / "model.safetensors"))
        enc = weights[ENCODER].astype(np.float32)
        print(f"{directory}: encoder table max |bias| {np.abs(enc).max():.2f}, "
              f"decoder {np.abs(weights[DECODER].astype(np.float32)).max():.2f}")
        print("  head  offset -3    -2    -1     0    +1    +2    +3   (encoder)")
        for head in range(enc.shape[1]):
            row = [enc[3, head], enc[2, head], enc[1, head], enc[0, head], enc[17, head], enc[18, head], enc[19, head]]
            print(f"  {head:>4}      " + " ".join(f"{v:>5.2f}" for v in row))


if __name__ == "__main__":
    main()
