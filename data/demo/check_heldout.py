#!/usr/bin/env python3
"""Verifies that the held-out set is really held out from the built training data.

    python3 data/demo/check_heldout.py [--build data/demo/build]

Fails (exit 1, one line per problem) when any held-out entity name, persona name,
answer value or query of data/demo/eval/ occurs in a file a training mix reads
(TRAINING_FILES: the sft_* files but the copy files, and documents.txt), or when a
held-out character is missing from tokenizer_corpus.txt (the tokenizer would turn it
into <unk> and the model could not copy it).
"""

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "eval"))

import make_heldout as H  # noqa: E402


# Every file a training mix reads (the copy files hold random strings only).
TRAINING_FILES = ("sft_train.jsonl", "sft_valid.jsonl", "sft_fresh_train.jsonl", "sft_fresh_valid.jsonl",
                  "sft_open.jsonl", "sft_fresh_quote.jsonl", "sft_chat.jsonl", "sft_persona_wide.jsonl",
                  "sft_wide_names.jsonl", "documents.txt")


def heldout_strings(items):
    """(kind, string) pairs that must not occur in training text."""
    out = []
    for lines in H.blocks(H.KNOWLEDGE):
        out.append(("entity", lines[0][1:]))
    for lines in H.blocks(H.PERSONAS):
        out.append(("persona", lines[0][1:].split("|")[0].strip()))
    for it in items:
        for a in it.get("answers", []):
            out.append((f"answer of {it['id']}", a))
        if it["category"] in ("knowledge", "knowledge_absent", "persona", "memory"):
            out.append((f"query of {it['id']}", it["query"]))
    seen, uniq = set(), []
    for kind, s in out:
        if s not in seen:
            seen.add(s)
            uniq.append((kind, s))
    return uniq


def item_text(it):
    parts = [it["query"], it.get("response", ""), it.get("bot_profile", ""), it.get("user_profile", "")]
    parts += it.get("knowledge", [])
    parts += [t["utterance"] for t in it.get("history", [])]
    return "".join(parts)


def main(argv=None):
    ap = argparse.ArgumentParser(description="check that the held-out set is held out")
    ap.add_argument("--build", default=str(HERE / "build"))
    ap.add_argument("--heldout", default=str(HERE / "eval" / "heldout.jsonl"))
    args = ap.parse_args(argv)
    build = Path(args.build)

    items = []
    with open(args.heldout, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as e:
                print(f"{args.heldout}:{n}: not JSON: {e}")
                return 1
    texts = {}
    for name in TRAINING_FILES + ("tokenizer_corpus.txt",):
        p = build / name
        if not p.is_file():
            print(f"{p}: missing; run data/demo/build.py first")
            return 1
        texts[name] = p.read_text(encoding="utf-8")

    problems = []
    for kind, s in heldout_strings(items):
        for name in TRAINING_FILES:
            i = texts[name].find(s)
            if i >= 0:
                ctx = texts[name][max(0, i - 20): i + len(s) + 20].replace("\n", " ")
                problems.append(f"{kind} {s!r} occurs in {name}: …{ctx}…")
    vocab = set(texts["tokenizer_corpus.txt"])
    missing = sorted({c for it in items for c in item_text(it)} - vocab)
    if missing:
        problems.append(f"characters of the held-out set missing from tokenizer_corpus.txt: {''.join(missing)}")

    for p in problems:
        print(p)
    n = len(heldout_strings(items))
    print(f"checked {n} held-out names/values/queries of {len(items)} items: "
          f"{'OK' if not problems else str(len(problems)) + ' problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
