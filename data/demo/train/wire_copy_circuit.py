#!/usr/bin/env python3
"""Wires a copy (induction) circuit into a freshly initialised T5 before training (issue 10).

Why: a reply that quotes a passage, a profile or an earlier turn continues, character by
character, from the place in the encoder where the character it has just written sits.
Trained from scratch on this project's two cores, the demo-size models never found that
circuit by themselves: after 1,500 steps the second character of an invented name still
cost 5–7 nats, and T5's relative position tables stayed within ±0.4 of their start, so no
encoder head ever looked at its neighbour (RUNS.md, 2026-11-30 fourth session). Wired in at
initialisation, the same model predicts most copied characters before its first step, and
training keeps and uses the circuit.

The circuit (head h = the first d_kv dimensions of a layer's attention):
- encoder layer 0, head 0: its relative position bias for offset -1 is set to BIAS_PREV, so
  it attends to the previous position; its value compresses that token's embedding
  (`A`, d_kv x d_model) and its output writes it, scaled by --alpha, into a reserved
  d_kv-dimensional subspace `U` of the residual stream. Every encoder position then carries
  "the token before me" in U.
- decoder layer 0, the first --copy-heads cross-attention heads: the query is the current
  token compressed the same way (`--beta * A`), the key reads U, so the head attends to the
  encoder positions whose previous token is the token just written; the value and output
  carry that position's own token (read outside U, scaled by --gamma) to the residual,
  where the tied output embedding turns it into that token's logit.
Everything else keeps its random initialisation, and training can move every weight.

    fixtures/.venv/bin/python data/demo/train/wire_copy_circuit.py IN_DIR OUT_DIR \
        [--alpha 4] [--beta 0.8] [--gamma 15] [--copy-heads N] [--seed 0]

IN_DIR holds config.json and model.safetensors of a fresh model (for example the final
weights of a one-step `chatplug train --init-config ...` run); tokenizer files are copied.
"""
import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

BIAS_PREV = 8.0
COPIED = ["config.json", "spiece.model", "tokenizer_config.json", "special_tokens_map.json"]
ENCODER_ATTENTION = "encoder.block.0.layer.0.SelfAttention"
CROSS_ATTENTION = "decoder.block.0.layer.1.EncDecAttention"


def wire(weights, config, alpha, beta, gamma, copy_heads, seed):
    """Returns a copy of `weights` (name -> float32 array) with the circuit wired in."""
    d, dk, heads = config["d_model"], config["d_kv"], config["num_heads"]
    if config.get("relative_attention_num_buckets", 32) != 32:
        raise ValueError("config.json: expected 32 relative attention buckets")
    if not 1 <= copy_heads <= heads:
        raise ValueError(f"--copy-heads must be between 1 and num_heads ({heads})")
    if copy_heads * dk > d:
        raise ValueError(f"--copy-heads {copy_heads} x d_kv {dk} exceeds d_model {d}")
    missing = [n for n in (f"{ENCODER_ATTENTION}.relative_attention_bias.weight", f"{CROSS_ATTENTION}.q.weight")
               if n not in weights]
    if missing:
        raise ValueError(f"model.safetensors: no tensor {missing[0]}")
    w = {k: v.astype(np.float32).copy() for k, v in weights.items()}
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((d, dk)))        # the reserved subspace, orthonormal columns
    a = rng.standard_normal((dk, d)) / np.sqrt(d)             # token compressor shared by writer and reader
    outside = np.eye(d) - u @ u.T                              # reads a token outside the subspace
    first = slice(0, dk)

    e = ENCODER_ATTENTION
    w[f"{e}.relative_attention_bias.weight"][1, 0] = BIAS_PREV  # bucket 1 = offset -1 (bidirectional)
    w[f"{e}.q.weight"][first] = 0.0                            # position alone decides where it looks
    w[f"{e}.k.weight"][first] = 0.0
    w[f"{e}.v.weight"][first] = a
    w[f"{e}.o.weight"][:, first] = alpha * u

    c = CROSS_ATTENTION
    for h in range(copy_heads):
        rows = slice(h * dk, (h + 1) * dk)
        w[f"{c}.q.weight"][rows] = beta * a
        w[f"{c}.k.weight"][rows] = u.T
        w[f"{c}.v.weight"][rows] = outside[rows]
        w[f"{c}.o.weight"][:, rows] = gamma * outside[rows].T
    return w


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--alpha", type=float, default=4.0, help="scale of the previous-token copy in the encoder")
    parser.add_argument("--beta", type=float, default=0.8, help="sharpness of the decoder's match")
    parser.add_argument("--gamma", type=float, default=15.0, help="strength of the copied token in the decoder")
    parser.add_argument("--copy-heads", type=int, default=None,
                        help="decoder cross-attention heads used (default: all of layer 0, at most d_model / d_kv)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = json.loads((args.input / "config.json").read_text())
    heads = args.copy_heads or min(config["num_heads"], config["d_model"] // config["d_kv"])
    try:
        weights = wire(load_file(str(args.input / "model.safetensors")), config,
                       args.alpha, args.beta, args.gamma, heads, args.seed)
    except ValueError as e:
        raise SystemExit(f"{args.input}: {e}")
    args.output.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in weights.items()},
              str(args.output / "model.safetensors"), metadata={"format": "pt"})
    for name in COPIED:
        if (args.input / name).exists():
            shutil.copy(args.input / name, args.output / name)
    print(f"{args.output}: copy circuit wired (encoder head 0 -> subspace of {config['d_kv']}, "
          f"{heads} decoder cross-attention heads; alpha {args.alpha}, beta {args.beta}, gamma {args.gamma})")


if __name__ == "__main__":
    main()
