"""Tests of the demo data builder (standard library only):

    python3 -m unittest discover -s data/demo -p 'test_*.py'

They build a small data set (--scale 0.02, without the registry packages so they
run offline) twice and check determinism, the request shape `chatplug data
--format dialogue` reads, and the rules every reply must follow.
"""

import json
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from src.textcheck import BAD_WORDS, copies_from  # noqa: E402

REQUEST_FIELDS = {"query", "history", "knowledge", "bot_profile", "user_profile", "role_instruction", "response"}
CLAUSES = re.compile("[。！；？，,;.!?]")


def build(out, *extra):
    subprocess.run([sys.executable, str(HERE / "build.py"), "--scale", "0.02", "--no-packages", "--out", str(out),
                    *extra], check=True, capture_output=True)


class BuildTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.a = Path(cls.tmp.name) / "a"
        cls.b = Path(cls.tmp.name) / "b"
        build(cls.a)
        build(cls.b)
        build(Path(cls.tmp.name) / "c", "--with-category")
        cls.rows = [json.loads(l) for l in open(Path(cls.tmp.name) / "c" / "sft_train.jsonl", encoding="utf-8")]
        cls.fresh = [json.loads(l) for l in open(Path(cls.tmp.name) / "c" / "sft_fresh_train.jsonl", encoding="utf-8")]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_same_bytes_every_run(self):
        for name in ("sft_train.jsonl", "sft_valid.jsonl", "sft_quote.jsonl", "sft_copy.jsonl", "sft_copy_common.jsonl",
                     "sft_fresh_train.jsonl", "sft_fresh_valid.jsonl", "sft_fresh_quote.jsonl", "sft_open.jsonl",
                     "sft_chat.jsonl", "sft_persona_wide.jsonl", "sft_wide_names.jsonl", "documents.txt",
                     "tokenizer_corpus.txt",
                     "stats.json"):
            self.assertEqual((self.a / name).read_bytes(), (self.b / name).read_bytes(), name)

    def test_lines_have_the_request_shape(self):
        for line in open(self.a / "sft_train.jsonl", encoding="utf-8"):
            ex = json.loads(line)
            self.assertTrue(set(ex) <= REQUEST_FIELDS, set(ex) - REQUEST_FIELDS)
            self.assertTrue(ex["query"].strip())
            self.assertTrue(ex["response"].strip())
            for t in ex.get("history", []):
                self.assertEqual(set(t), {"role", "utterance"})
                self.assertIn(t["role"], ("user", "bot"))
            self.assertTrue(all(isinstance(k, str) and k for k in ex.get("knowledge", [])))

    def test_every_category_is_present(self):
        for rows in (self.rows, self.fresh):
            cats = {r["category"] for r in rows}
            self.assertEqual(cats, {"knowledge", "knowledge_absent", "knowledge_none", "persona", "persona_uncovered",
                                    "memory", "memory_profile", "memory_never_said", "empathy", "chitchat"})

    def test_replies_follow_the_default_generation_rules(self):
        for r in self.rows + self.fresh:
            for w in BAD_WORDS:
                self.assertNotIn(w, r["response"], r)
            if r["category"] != "chitchat":   # chit-chat lines are hand-written whole dialogues
                ctx = [r["query"]] + [t["utterance"] for t in r.get("history", [])]
                self.assertFalse(copies_from(r["response"], ctx), r)

    def test_knowledge_answers_come_from_exactly_the_given_passages(self):
        for r in self.rows + self.fresh:
            if r["category"] == "knowledge":
                self.assertGreaterEqual(len(r["knowledge"]), 2)
                self.assertLessEqual(len(r["knowledge"]), 5)
            if r["category"] == "knowledge_none":
                self.assertNotIn("knowledge", r)

    def test_quote_replies_quote_one_of_their_passages(self):
        from build import QUOTE_PREFIXES
        rows = [json.loads(l) for l in open(self.a / "sft_quote.jsonl", encoding="utf-8")]
        fresh = [json.loads(l) for l in open(self.a / "sft_fresh_quote.jsonl", encoding="utf-8")]
        self.assertEqual(len(rows), 160)  # QUOTE_COUNT 8000 x --scale 0.02
        self.assertEqual(len(fresh), 160)
        for r in rows + fresh:
            reply = r["response"]
            for w in BAD_WORDS:
                self.assertNotIn(w, reply, r)
            self.assertFalse(copies_from(reply, [r["query"]] + [t["utterance"] for t in r.get("history", [])]), r)
            quoted = [reply[len(p):] for p in QUOTE_PREFIXES if reply.startswith(p)]
            self.assertTrue(any(q and any(q in k for k in r["knowledge"]) for q in quoted), r)
        # The main mix does not change: quote lines are a file of their own.
        self.assertFalse(any(r["category"] == "knowledge_quote" for r in self.rows))

    def test_copy_answers_are_random_strings_found_only_in_the_input(self):
        rows = [json.loads(l) for l in open(self.a / "sft_copy.jsonl", encoding="utf-8")]
        self.assertEqual(len(rows), 180)  # COPY_COUNT 9000 x --scale 0.02
        shapes = set()
        for r in rows:
            reply = r["response"]
            for w in BAD_WORDS:
                self.assertNotIn(w, reply, r)
            self.assertFalse(copies_from(reply, [r["query"]] + [t["utterance"] for t in r.get("history", [])]), r)
            inputs = r.get("knowledge", []) + [r.get("bot_profile", "")] + [t["utterance"] for t in r.get("history", [])]
            answer = re.search(r"(?:是|叫)([^。，;]+)[。，]", reply).group(1)
            self.assertTrue(any(answer in i for i in inputs), r)
            self.assertNotIn(answer, r["query"], r)
            shapes.add("knowledge" if "knowledge" in r else "persona" if "bot_profile" in r else "memory")
        self.assertEqual(shapes, {"knowledge", "persona", "memory"})

    def test_common_copy_strings_use_the_main_mix_most_frequent_characters(self):
        rows = [json.loads(l) for l in open(self.a / "sft_copy_common.jsonl", encoding="utf-8")]
        self.assertEqual(len(rows), 180)
        used = set()
        for r in rows:
            answer = re.search(r"(?:是|叫)([^。，;]+)[。，]", r["response"]).group(1)
            inputs = r.get("knowledge", []) + [r.get("bot_profile", "")] + [t["utterance"] for t in r.get("history", [])]
            self.assertTrue(any(answer in i for i in inputs), r)
            used.update(answer)
        self.assertLessEqual(len(used), 300)
        # Frequent in the main mix's replies and knowledge: every character used is there.
        main = "".join(r["response"] + "".join(r.get("knowledge", [])) for r in self.rows)
        self.assertTrue(all(c in main for c in used), sorted(c for c in used if c not in main))

    def test_recalled_fact_is_in_a_first_person_user_clause(self):
        # The pipeline's dynamic user profile keeps clauses with 我; the recalled value
        # must be in one so that it reaches the model.
        for r in self.rows + self.fresh:
            if r["category"] != "memory":
                continue
            clauses = [c for t in r["history"] if t["role"] == "user" for c in CLAUSES.split(t["utterance"]) if "我" in c]
            self.assertTrue(any(self._shares_value(c, r["response"]) for c in clauses), r)

    def test_fresh_entities_are_invented_for_each_example(self):
        import random
        import build
        from src import world as W
        world = W.World(random.Random(1), 50)
        fresh = build.Knowledge(world, fresh=True)
        known = {(n, tuple(sorted(f.items()))) for fam in W.FAMILIES for n, f in world.entities[fam.key]}
        rng = random.Random(2)
        draws = [fresh.entity(rng, fam) for fam in W.FAMILIES for _ in range(20)]
        self.assertFalse(any((n, tuple(sorted(f.items()))) in known for n, f in draws))
        # The same name asked twice need not have the same value: no value to recall.
        self.assertGreater(len({f[W.FAMILIES[0].attrs[0].key] for _, f in draws[:20]}), 10)

    def test_fresh_memory_values_go_beyond_the_fixed_pools(self):
        from src import memory
        fixed = set(memory.PET_NAMES) | set(memory.MAJORS)
        asked = [r for r in self.fresh if r["category"] == "memory" and any(k in r["query"] for k in ("专业", "叫"))]
        self.assertGreater(len(asked), 10)
        outside = [r for r in asked if not any(v in r["response"] for v in fixed)]
        self.assertGreater(len(outside) / len(asked), 0.5)

    def test_chat_file_is_empathy_and_chitchat_in_halves(self):
        rows = [json.loads(l) for l in open(Path(self.tmp.name) / "c" / "sft_chat.jsonl", encoding="utf-8")]
        cats = {}
        for r in rows:
            cats[r["category"]] = cats.get(r["category"], 0) + 1
            self.assertNotIn("knowledge", r)
            self.assertNotIn("bot_profile", r)
        self.assertEqual(set(cats), {"empathy", "chitchat"})
        self.assertEqual(cats["empathy"], cats["chitchat"])
        # Not the main mix's lines again: its own draws (other histories and openers).
        main = {json.dumps(r, ensure_ascii=False) for r in self.fresh if r["category"] in ("empathy", "chitchat")}
        same = sum(json.dumps(r, ensure_ascii=False) in main for r in rows)
        self.assertLess(same, len(rows) * 0.9)

    def test_persona_wide_file_asks_in_built_up_wordings(self):
        from src import personas, variety
        rows = [json.loads(l) for l in open(Path(self.tmp.name) / "c" / "sft_persona_wide.jsonl", encoding="utf-8")]
        cats = {}
        for r in rows:
            cats[r["category"]] = cats.get(r["category"], 0) + 1
            self.assertTrue(r["bot_profile"])
            self.assertNotIn("knowledge", r)
        self.assertEqual(set(cats), {"persona", "persona_uncovered"})
        self.assertGreater(cats["persona"], 5 * cats["persona_uncovered"])
        fixed = {q for qs in personas.QUESTIONS.values() for q in qs}
        fixed |= {q for qs in variety.EXTRA_PERSONA_QUESTIONS.values() for q in qs}
        plain = [r for r in rows if r["category"] == "persona"]
        unopened = [r["query"] for r in plain if not any(r["query"] == o + q for o in variety.OPENERS for q in fixed)]
        self.assertGreater(len(unopened) / len(plain), 0.6)
        self.assertGreater(len(set(unopened)), len(unopened) * 0.5)
        # A profile fact that is dropped is still asked in the built-up wordings, so that the
        # wording alone does not decide between answering and keeping it to oneself (the odd
        # questions no profile answers are fixed wordings too).
        fixed |= {q for q, _ in personas.UNCOVERED_QUESTIONS}
        kept = [r for r in rows if r["category"] == "persona_uncovered"
                and not any(r["query"].endswith(q) for q in fixed)]
        self.assertTrue(kept)

    def test_wide_persona_questions_end_as_questions_or_requests(self):
        import random
        from src import variety
        rng = random.Random(3)
        for attr in variety.WIDE_PERSONA_FRAMES:
            for _ in range(200):
                q = variety.wide_persona_question(rng, attr)
                self.assertNotIn("{s}", q)
                self.assertIn(q[-1], "？。", q)
                if any(w in q for w in ("什么", "啥", "哪", "几", "吗")):
                    self.assertEqual(q[-1], "？", q)

    def test_wide_names_file_writes_characters_the_other_files_never_reply_with(self):
        import build
        rows = [json.loads(l) for l in open(Path(self.tmp.name) / "c" / "sft_wide_names.jsonl", encoding="utf-8")]
        cats = {}
        for r in rows:
            cats[r["category"]] = cats.get(r["category"], 0) + 1
            for w in BAD_WORDS:
                self.assertNotIn(w, r["response"], r)
        self.assertEqual(cats, {c: round(n * 0.02) for c, n in build.WIDE_NAMES_COUNTS.items()})
        others = set()
        for name in ("sft_fresh_train.jsonl", "sft_fresh_quote.jsonl", "sft_open.jsonl", "sft_persona_wide.jsonl"):
            with open(Path(self.tmp.name) / "c" / name, encoding="utf-8") as f:
                others.update(c for line in f for c in json.loads(line)["response"])
        new = {c for r in rows for c in r["response"]} - others
        level_two = set(build.gb2312_characters()[3755:])
        # Hundreds of reply characters the other files never write (about 200 in these 360
        # rows at --scale 0.02), level 2 among them.
        self.assertGreater(len(new), 100)
        self.assertTrue(new & level_two)

    def test_widened_pools_draw_half_from_the_inventory_and_are_restored(self):
        import random
        from src import pools, widen
        before = pools.PLACE_FIRST
        with widen.name_characters(["甲"]):
            self.assertIsInstance(pools.PLACE_FIRST, widen.HalfWide)
            rng = random.Random(1)
            draws = [rng.choice(pools.PLACE_FIRST) for _ in range(2000)]
        self.assertIs(pools.PLACE_FIRST, before)
        self.assertTrue(all(d == "甲" or d in before for d in draws))
        self.assertAlmostEqual(draws.count("甲") / len(draws), 0.5, delta=0.05)

    def test_draws_with_a_heldout_string_are_drawn_again(self):
        import build
        maker = build.avoiding(["琥珀湖"], lambda rng: ("knowledge", {"query": "q", "response": "在琥珀湖东岸。"}))
        with self.assertRaises(build.Rejected):
            maker(None)
        self.assertIn("琥珀湖的东岸", build.heldout_strings())

    def test_open_world_answers_are_in_a_passage_about_the_entity(self):
        import random
        from src import open_world
        rows = [json.loads(l) for l in open(self.a / "sft_open.jsonl", encoding="utf-8")]
        self.assertEqual(len(rows), 300)  # OPEN_COUNT 15000 x --scale 0.02
        for r in rows:
            for w in BAD_WORDS:
                self.assertNotIn(w, r["response"], r)
            self.assertGreaterEqual(len(r["knowledge"]), 2)
        rng = random.Random(5)
        for _ in range(500):
            ent, rel, q, know = open_world.draw(rng)
            value = ent[rel]
            with_value = [k for k in know if value in k]
            self.assertTrue(with_value, (value, know))
            self.assertTrue(any(ent["name"] in k for k in with_value), (value, know))
            self.assertNotIn(value, q)
            self.assertIn(ent["name"], q)

    def test_chinese_numerals(self):
        from src.variety import chinese_number
        cases = {0: "零", 7: "七", 10: "十", 13: "十三", 40: "四十", 101: "一百零一", 110: "一百一十",
                 269: "二百六十九", 1040: "一千零四十", 2005: "二千零五", 30000: "三万", 41100: "四万一千一百"}
        for n, want in cases.items():
            self.assertEqual(chinese_number(n), want, n)

    @staticmethod
    def _shares_value(clause, reply):
        # Some 2+ character stretch of the clause (the value) reappears in the reply.
        stripped = clause.replace("我", "")
        return any(stripped[i:i + 2] in reply for i in range(len(stripped) - 1))


if __name__ == "__main__":
    unittest.main()
