#!/usr/bin/env python3
"""How many steps a small FiD-T5 needs before it copies (issue 10 diagnostic).

Writes a synthetic tokenized task: two passages per example (a source after the marker
ids 5 6, a distractor after 7 8, in random order), the label is the source's 12 ids.
Nothing but copying from the right passage can lower the loss below ln(190) = 5.25.
Then prints the `chatplug train` command that trains a 1.2M-parameter model on it.

    python3 data/demo/train/copy_probe.py OUT_DIR
    # then run the printed command; the validation losses are in OUT_DIR/run/train_log.jsonl

Measured (2026-11-29, release build, 1 thread, shared machine): the validation loss
falls slowly from 6.5 to 2.8 over 800 steps of 32 examples, then drops to 0.5 by step
1200: copying appears abruptly, after about 30,000 examples (data/demo/train/RUNS.md).
"""
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def example(r: random.Random) -> dict:
    src = [r.randrange(10, 200) for _ in range(12)]
    dis = [r.randrange(10, 200) for _ in range(12)]
    passages = [[5, 6] + src + [1], [7, 8] + dis + [1]]
    r.shuffle(passages)
    return {"input_ids": passages, "labels": src + [1]}


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "copy-probe")
    out.mkdir(parents=True, exist_ok=True)
    r = random.Random(1)
    for name, n in [("train.jsonl", 20000), ("valid.jsonl", 200)]:
        with open(out / name, "w") as f:
            for _ in range(n):
                f.write(json.dumps(example(r)) + "\n")
    config = json.loads((ROOT / "data/demo/train/model_config.json").read_text())
    # The demo model's architecture, smaller; vocabulary of the fixture tokenizer (1600).
    config.update(vocab_size=1600, d_model=128, d_kv=32, num_heads=4, d_ff=384, num_layers=2, num_decoder_layers=2)
    (out / "config.json").write_text(json.dumps(config, indent=1))
    print(
        f"target/release/chatplug train --init-config {out}/config.json --tokenizer {ROOT}/fixtures/golden/tokenizer "
        f"--train {out}/train.jsonl --valid {out}/valid.jsonl --out {out}/run --steps 1600 --batch-size 32 "
        f"--lr 7e-4 --schedule constant --warmup-steps 20 --dropout 0 --threads 1 --eval-every 50"
    )


if __name__ == "__main__":
    main()
