#!/usr/bin/env python3
"""Validate knowledge_b.jsonl (hand-written knowledge-grounded eval set).

Standard library only. Prints one line per problem as
    <file>:<line>: <field>: <message>
and exits 1 if any problem is found; otherwise prints a one-line summary
with counts per category and exits 0.
"""
import json
import os
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
FILENAME = "knowledge_b.jsonl"
PATH = os.path.join(HERE, FILENAME)

PREFIX = {"knowledge": "kb-knowledge-", "knowledge_absent": "kb-absent-"}
REQUIRED = {"id": str, "category": str, "query": str, "knowledge": list, "response": str}
OPTIONAL = {"answers": list}
PASSAGE_MIN, PASSAGE_MAX = 8, 80
KNOW_MIN, KNOW_MAX = 2, 5
ANSWERS_MIN, ANSWERS_MAX = 1, 3


def check(path):
    problems = []
    counts = Counter()
    seen_ids = {}

    def bad(lineno, field, msg):
        problems.append(f"{FILENAME}:{lineno}: {field}: {msg}")

    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (OSError, UnicodeDecodeError) as e:
        return [f"{FILENAME}:0: file: cannot read ({e})"], counts
    if lines and lines[-1] == "":
        lines.pop()  # trailing newline at end of file

    for lineno, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            bad(lineno, "json", f"invalid JSON ({e.msg})")
            continue
        if not isinstance(obj, dict):
            bad(lineno, "json", "line is not a JSON object")
            continue

        # fields: missing / unknown / wrong type
        for name, typ in REQUIRED.items():
            if name not in obj:
                bad(lineno, name, "missing field")
            elif not isinstance(obj[name], typ):
                bad(lineno, name, f"must be {typ.__name__}")
        for name in obj:
            if name not in REQUIRED and name not in OPTIONAL:
                bad(lineno, name, "unknown field")
        for name in ("query", "response"):
            if isinstance(obj.get(name), str) and not obj[name].strip():
                bad(lineno, name, "empty string")

        cat = obj.get("category")
        if isinstance(cat, str) and cat not in PREFIX:
            bad(lineno, "category", f"unknown category {cat!r}")
            cat = None
        elif not isinstance(cat, str):
            cat = None

        # id: duplicates and prefix
        oid = obj.get("id")
        if isinstance(oid, str):
            if oid in seen_ids:
                bad(lineno, "id", f"duplicate id {oid!r} (first on line {seen_ids[oid]})")
            else:
                seen_ids[oid] = lineno
            if cat is not None and not re.fullmatch(re.escape(PREFIX[cat]) + r"\d{3}", oid):
                bad(lineno, "id", f"{oid!r} should look like {PREFIX[cat]}NNN for category {cat}")

        # knowledge passages
        know = obj.get("knowledge")
        passages = []
        if isinstance(know, list):
            if not KNOW_MIN <= len(know) <= KNOW_MAX:
                bad(lineno, "knowledge", f"has {len(know)} passages, expected {KNOW_MIN}-{KNOW_MAX}")
            for i, p in enumerate(know):
                if not isinstance(p, str):
                    bad(lineno, "knowledge", f"passage {i} is not a string")
                    continue
                if not PASSAGE_MIN <= len(p) <= PASSAGE_MAX:
                    bad(lineno, "knowledge", f"passage {i} has {len(p)} characters, expected {PASSAGE_MIN}-{PASSAGE_MAX}")
                passages.append(p)

        # answers
        has_answers = "answers" in obj
        if cat == "knowledge_absent" and has_answers:
            bad(lineno, "answers", "knowledge_absent item must not have answers")
        if cat == "knowledge":
            if not has_answers:
                bad(lineno, "answers", "missing field (required for knowledge items)")
            elif isinstance(obj["answers"], list):
                answers = obj["answers"]
                if not ANSWERS_MIN <= len(answers) <= ANSWERS_MAX:
                    bad(lineno, "answers", f"has {len(answers)} entries, expected {ANSWERS_MIN}-{ANSWERS_MAX}")
                good = [a for a in answers if isinstance(a, str) and a.strip()]
                if len(good) != len(answers):
                    bad(lineno, "answers", "every answer must be a non-empty string")
                query = obj.get("query") if isinstance(obj.get("query"), str) else ""
                unique_somewhere = False
                for a in good:
                    n = sum(a in p for p in passages)
                    if n == 0:
                        bad(lineno, "answers", f"{a!r} does not occur in any passage")
                    if n == 1:
                        unique_somewhere = True
                    if a in query:
                        bad(lineno, "answers", f"{a!r} occurs in the query")
                if good and passages and not unique_somewhere:
                    bad(lineno, "answers", "no answer occurs in exactly one passage")

        if cat is not None:
            counts[cat] += 1

    return problems, counts


def main():
    problems, counts = check(PATH)
    if problems:
        for p in problems:
            print(p)
        sys.exit(1)
    total = sum(counts.values())
    parts = ", ".join(f"{c}={counts.get(c, 0)}" for c in PREFIX)
    print(f"{FILENAME}: OK, {total} items ({parts})")
    sys.exit(0)


if __name__ == "__main__":
    main()
