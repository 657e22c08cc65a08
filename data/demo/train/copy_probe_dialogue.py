#!/usr/bin/env python3
"""Copy probes through the dialogue format (issue 10 diagnostic): the real pipeline's
passages, a reply of 12 random characters (the 190 most frequent of the main mix) that
only copying can produce.

    python3 data/demo/train/copy_probe_dialogue.py query|speaker OUT_DIR [--demo-size]
        [--alphabet N] [--heads H --d-kv D]

`query`: the reply repeats the query's characters (`请重复：…`), which stand in every
passage. `speaker`: the reply is what one of two speakers said (`甲：…`, `乙：…`), one
knowledge passage each. Prints the `chatplug train` command (a 2.2M-parameter model, or
the demo's architecture with --demo-size). The no-copy floor of the validation loss is
12 · ln 190 / 14 = 4.50 (the `▁` and `</s>` of each reply are nearly free).
Measured (RUNS.md, 2026-11-30): query 3.40 at step 550; speaker 4.44 at step 400, 3.64 at 600.
"""
import json
import random
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1]
ROOT = DEMO.parents[1]
sys.path.insert(0, str(DEMO))

import build  # noqa: E402


def example(kind, rng, alphabet):
    s = "".join(rng.choice(alphabet) for _ in range(12))
    if kind == "query":
        return {"query": f"请重复：{s}", "response": s}
    d = "".join(rng.choice(alphabet) for _ in range(12))
    know = [f"甲：{s}", f"乙：{d}"]
    rng.shuffle(know)
    return {"query": "甲说了什么？", "knowledge": know, "response": s}


def option(name, default):
    """The integer after `name` on the command line, or `default`."""
    if name in sys.argv:
        return int(sys.argv[sys.argv.index(name) + 1])
    return default


def main():
    kind, out = sys.argv[1], Path(sys.argv[2])
    if kind not in ("query", "speaker"):
        sys.exit("kind must be query or speaker")
    out.mkdir(parents=True, exist_ok=True)
    rows = [(None, json.loads(line)) for line in open(DEMO / "build/sft_train.jsonl", encoding="utf-8")][:5000]
    alphabet = build.frequent_characters(rows, option("--alphabet", 190))
    for name, seed, n in [("train.jsonl", 1, 20000), ("valid.jsonl", 2, 200)]:
        rng = random.Random(seed)
        with open(out / name, "w", encoding="utf-8") as f:
            for _ in range(n):
                f.write(json.dumps(example(kind, rng, alphabet), ensure_ascii=False) + "\n")
    config = json.loads((DEMO / "train/model_config.json").read_text())
    if "--demo-size" not in sys.argv:
        config.update(d_model=128, d_kv=32, num_heads=4, d_ff=384, num_layers=2, num_decoder_layers=2)
    # Head shape (the copy-capacity experiment, RUNS.md 2026-11-30 third session).
    config.update(num_heads=option("--heads", config["num_heads"]), d_kv=option("--d-kv", config["d_kv"]))
    (out / "config.json").write_text(json.dumps(config, indent=1))
    print(f"chatplug train --init-config {out}/config.json --tokenizer TOKENIZER_DIR "
          f"--train {out}/train.jsonl --format dialogue --valid {out}/valid.jsonl --valid-format dialogue "
          f"--out {out}/run --steps 2000 --batch-size 32 --lr 7e-4 --schedule constant --warmup-steps 20 "
          f"--dropout 0 --eval-every 50 --max-encoder-length 192")


if __name__ == "__main__":
    main()
