#!/usr/bin/env python3
"""Turns a T5 checkpoint's 8 attention heads of 32 into 4 heads of 64 (issue 10), and
gives the encoder a previous-character head.

Why: a head matches a decoder position to an encoder position through a bilinear form of
rank d_kv. Copying a character means finding the encoder position whose previous
character is the one just written, among thousands of characters; with d_kv = 32 the
demo model copied strings over 190–300 characters and not wider alphabets (RUNS.md).
Merging head pairs keeps every weight (q, k, v, o are [heads·d_kv, d_model] either way;
a merged head's score is the sum of its two halves' scores) and doubles the rank, so
training continues from the learnt embeddings and feed-forward layers. The relative
position tables (32 buckets × heads) take the mean of each pair; encoder head 0 then
attends to offset -1 only (bucket 1 set to BIAS, its other buckets 0), as
seed_position_heads.py does for the 8-head model.

    fixtures/.venv/bin/python data/demo/train/widen_heads.py IN_DIR OUT_DIR [--bias 8]

IN_DIR holds config.json and model.safetensors (tokenizer files are copied when present).
"""
import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

COPIED = ["spiece.model", "tokenizer_config.json", "special_tokens_map.json"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--bias", type=float, default=8.0)
    args = parser.parse_args()

    config = json.loads((args.input / "config.json").read_text())
    heads, d_kv = config.get("num_heads"), config.get("d_kv")
    if heads is None or d_kv is None or heads % 2:
        raise SystemExit(f"{args.input}/config.json: needs an even num_heads and a d_kv (got {heads}, {d_kv})")
    if config.get("relative_attention_num_buckets", 32) != 32:
        raise SystemExit(f"{args.input}/config.json: expected 32 relative attention buckets")
    config["num_heads"], config["d_kv"] = heads // 2, d_kv * 2

    weights = load_file(args.input / "model.safetensors")
    tables = [k for k in weights if k.endswith("relative_attention_bias.weight")]
    if not any(k.startswith("encoder.") for k in tables):
        raise SystemExit(f"{args.input}/model.safetensors: no encoder relative_attention_bias")
    for name in tables:
        table = weights[name]
        if table.shape != (32, heads):
            raise SystemExit(f"{args.input}/model.safetensors: {name} has shape {table.shape}, expected (32, {heads})")
        merged = (table[:, 0::2].astype(np.float32) + table[:, 1::2].astype(np.float32)) / 2
        if name.startswith("encoder."):
            merged[:, 0] = 0.0
            merged[1, 0] = args.bias  # bucket 1 = offset -1 in T5's bidirectional bucketing
        weights[name] = merged.astype(table.dtype)

    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_file(weights, args.output / "model.safetensors", metadata={"format": "pt"})
    for f in COPIED:
        if (args.input / f).exists():
            shutil.copy(args.input / f, args.output / f)
    print(f"{args.output}: {heads // 2} heads of {d_kv * 2}; encoder head 0 at offset -1 set to {args.bias}")


if __name__ == "__main__":
    main()
