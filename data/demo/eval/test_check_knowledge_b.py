"""knowledge_b.jsonl passes its checker, and the checker finds planted mistakes."""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import check_knowledge_b as C  # noqa: E402

with open(C.PATH, encoding="utf-8") as f:
    ITEMS = [json.loads(line) for line in f]


def problems_of(items):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, C.FILENAME)
        with open(path, "w", encoding="utf-8") as f:
            for it in items:
                f.write(json.dumps(it, ensure_ascii=False) + "\n")
        return C.check(path)[0]


class CheckKnowledgeB(unittest.TestCase):
    def test_the_committed_set_passes(self):
        problems, counts = C.check(C.PATH)
        self.assertEqual(problems, [])
        self.assertEqual(counts["knowledge"], 50)
        self.assertEqual(counts["knowledge_absent"], 15)

    def test_planted_mistakes_are_found_with_line_and_field(self):
        first = next(i for i in ITEMS if i["category"] == "knowledge")
        absent = next(i for i in ITEMS if i["category"] == "knowledge_absent")
        cases = [
            ("answers", dict(first, answers=["不在资料里的答案"])),
            ("answers", dict(first, query=first["query"] + first["answers"][0])),
            ("answers", dict(absent, answers=["x"])),
            ("knowledge", dict(first, knowledge=first["knowledge"][:1])),
            ("id", dict(first, id="kb-absent-999")),
            ("extra", dict(first, extra=1)),
        ]
        for field, item in cases:
            with self.subTest(field=field):
                problems = problems_of([item])
                self.assertTrue(any(p.startswith(f"{C.FILENAME}:1: {field}:") for p in problems), problems)
        duplicate = problems_of([first, first])
        self.assertTrue(any(p.startswith(f"{C.FILENAME}:2: id:") for p in duplicate), duplicate)


if __name__ == "__main__":
    unittest.main()
