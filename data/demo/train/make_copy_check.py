#!/usr/bin/env python3
"""Writes 30 copy questions (build.py's `copy_example`, another seed than sft_copy.jsonl)
with their `answers`, to see when a checkpoint starts copying (issue 10):

    python3 data/demo/train/make_copy_check.py /tmp/copy_check.jsonl [--common BUILD_DIR]
    TOKENIZER=~/chatplug-runs/demo/model bash data/demo/train/eval_checkpoint.sh CHECKPOINT /tmp/copy_check.jsonl

The answer hit rate is the share of replies that contain the random string. With
`--common BUILD_DIR` the strings use the alphabet of sft_copy_common.jsonl (the most
frequent hanzi of BUILD_DIR/sft_train.jsonl), as model-6 is trained on. With `--speaker`
(needs `--common`) 30 more ask what one of two to four speakers said (build.py's
`warmup_example`, category `copy_speaker`), the reply being that speaker's characters.
"""
import json
import random
import re
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(DEMO))

import build  # noqa: E402


def main():
    args = sys.argv[1:]
    out = Path(args[0] if args else "copy_check.jsonl")
    if "--common" in args:
        train = Path(args[args.index("--common") + 1]) / "sft_train.jsonl"
        rows = [(None, json.loads(line)) for line in open(train, encoding="utf-8")]
        common = build.frequent_characters(rows, build.COMMON_ALPHABET)
    else:
        common = build.copy_characters()
    rng = random.Random(99)
    with open(out, "w", encoding="utf-8") as f:
        for i in range(30):
            category, ex = build.copy_example(rng, common)
            answer = re.search(r"(?:是|叫)([^。，;]+)[。，]", ex["response"]).group(1)
            ex.update(id=f"{category}-{i}", category=category, answers=[answer])
            f.write(json.dumps(ex, ensure_ascii=False) + "\n")
        if "--speaker" in args:
            rng = random.Random(98)
            written = 0
            while written < 30:
                category, ex = build.warmup_example(rng, common)
                if category != "copy_speaker":
                    continue
                ex.update(id=f"{category}-{written}", category=category, answers=[ex["response"]])
                f.write(json.dumps(ex, ensure_ascii=False) + "\n")
                written += 1


if __name__ == "__main__":
    main()
