#!/usr/bin/env python3
"""Gives a T5 checkpoint's encoder a previous-character and a next-character head (issue 10).

Ordered copying needs, at every encoder position, what the character before it was: the
decoder, having just written character X, then looks for the position whose previous
character is X. T5 learns order only through its relative position bias (one 32 × 8 table
a stack, shared by the stack's layers), and on the demo model's copy probe 1000 steps at a
30× bias learning rate left every head leaning vaguely left with no sharp previous-token
head (RUNS.md, model-9c). This sets head 0's offset -1 bucket and head 1's offset +1 bucket
to BIAS, so those heads attend almost only to the neighbouring character whatever the
content; training can still move them. Everything else is copied unchanged, in its dtype.

    fixtures/.venv/bin/python data/demo/train/seed_position_heads.py IN_DIR OUT_DIR [--bias 8]

IN_DIR holds config.json and model.safetensors (tokenizer files are copied when present).
Buckets as T5 computes them for a bidirectional table of 32: offset -1 is bucket 1,
offset +1 is bucket 17.
"""
import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

ENCODER = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
COPIED = ["config.json", "spiece.model", "tokenizer_config.json", "special_tokens_map.json"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--bias", type=float, default=8.0)
    args = parser.parse_args()

    config = json.loads((args.input / "config.json").read_text())
    buckets = config.get("relative_attention_num_buckets", 32)
    if buckets != 32 or config.get("num_heads", 0) < 2:
        raise SystemExit(f"{args.input}/config.json: expected 32 buckets and at least 2 heads")
    weights = load_file(str(args.input / "model.safetensors"))
    if ENCODER not in weights:
        raise SystemExit(f"{args.input}/model.safetensors: no tensor {ENCODER}")
    table = weights[ENCODER].copy()
    previous, following = 1, buckets // 2 + 1
    table[previous, 0] = args.bias
    table[following, 1] = args.bias
    weights[ENCODER] = table.astype(weights[ENCODER].dtype)

    args.output.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(args.output / "model.safetensors"), metadata={"format": "pt"})
    for name in COPIED:
        if (args.input / name).exists():
            shutil.copy(args.input / name, args.output / name)
    print(f"{args.output}: encoder head 0 offset -1 and head 1 offset +1 set to {args.bias}")


if __name__ == "__main__":
    main()
