#!/usr/bin/env python3
"""Shows, token by token, what a demo checkpoint predicts on tokenized FiD examples and where
its cross-attention looks (issue 10): the tool that showed the demo models were not copying
(RUNS.md, 2026-11-30 fourth session). Teacher-forced, in numpy (t5_numpy.py).

    chatplug data prepare --format dialogue --input ITEMS.jsonl --out ITEMS.tok.jsonl \
        --tokenizer MODEL_DIR --max-encoder-length 192
    fixtures/.venv/bin/python data/demo/train/inspect_copy.py CHECKPOINT_DIR ITEMS.tok.jsonl \
        [--tokenizer DIR] [--examples 3] [--layer -1] [--head -1]

Per reply token: its loss (nats), the model's top prediction, and the source text at the
position the chosen decoder layer's cross-attention weighs most (one head, or the heads'
mean), with that weight. Ends with the mean loss per token over the examples shown.
"""
import argparse
import json
from pathlib import Path

import numpy as np
import sentencepiece as spm
from safetensors.numpy import load_file

from t5_numpy import forward


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("examples", type=Path, help="tokenized lines of `chatplug data prepare`")
    parser.add_argument("--tokenizer", type=Path, default=None, help="folder with spiece.model (default: the checkpoint's, else its parent's)")
    parser.add_argument("--examples", dest="n", type=int, default=3, help="how many examples are shown")
    parser.add_argument("--layer", type=int, default=-1, help="decoder layer whose cross-attention is shown")
    parser.add_argument("--head", type=int, default=-1, help="head shown (-1: mean of the heads)")
    args = parser.parse_args()
    config = json.loads((args.checkpoint / "config.json").read_text())
    weights = {k: v.astype(np.float32) for k, v in load_file(str(args.checkpoint / "model.safetensors")).items()}
    folders = [args.tokenizer] if args.tokenizer else [args.checkpoint, args.checkpoint.parent]
    model_file = next((f / "spiece.model" for f in folders if (f / "spiece.model").is_file()), None)
    if model_file is None:
        raise SystemExit(f"no spiece.model in {', '.join(map(str, folders))} (use --tokenizer)")
    sp = spm.SentencePieceProcessor(model_file=str(model_file))

    def piece(i):
        return sp.id_to_piece(int(i)) if int(i) < sp.get_piece_size() else f"<{int(i)}>"

    losses = []
    with open(args.examples, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if number > args.n:
                break
            try:
                example = json.loads(line)
                passages, labels = example["input_ids"], example["labels"]
            except (json.JSONDecodeError, KeyError) as e:
                raise SystemExit(f"{args.examples}:{number}: not a tokenized example ({e})")
            source = [i for p in passages for i in p]
            cross = []
            logits = forward(weights, config, passages, [config.get("decoder_start_token_id", 0)] + labels[:-1], cross)
            logp = logits - logits.max(-1, keepdims=True)
            logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
            print("".join(piece(i) for i in labels))
            attention = cross[args.layer]
            for j, label in enumerate(labels):
                a = attention[args.head, j] if args.head >= 0 else attention[:, j].mean(0)
                k = int(a.argmax())
                loss = float(-logp[j, label])
                losses.append(loss)
                looked = "".join(piece(i) for i in source[k:k + 3])
                print(f"  {piece(label):8} loss {loss:5.2f}  top {piece(logp[j].argmax()):8} looks at {looked} ({a[k]:.2f})")
    if losses:
        print(f"mean loss per token: {np.mean(losses):.3f} over {len(losses)} tokens")


if __name__ == "__main__":
    main()
