#!/usr/bin/env python3
"""Builds the demo model's training data from the hand-written sources in src/ and
two registry packages (see ATTRIBUTION). Python 3.11 standard library only.

    python3 data/demo/build.py [--scale 1.0] [--seed 20240611] [--out data/demo/build]

Writes, under --out: sft_train.jsonl, sft_valid.jsonl (dialogue examples in the
format `chatplug data --format dialogue` reads), documents.txt (pre-training,
one document a line), tokenizer_corpus.txt and stats.json. The same arguments give
the same bytes: every random choice comes from seeded random.Random streams and
every iteration is over lists in a fixed order.
"""

import argparse
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from src import chitchat, empathy, memory, open_world, personas, prose, variety, vendor, widen  # noqa: E402
from src import world as W  # noqa: E402
from src.textcheck import BAD_WORDS, bad_word_in, copies_from  # noqa: E402

# Examples per category at --scale 1 (about 39k in all). Empathy and chit-chat come
# from ~100 and ~130 hand-written exchanges, so they are kept small to limit repetition.
BASE_COUNTS = {
    "knowledge": 15000,
    "knowledge_absent": 3500,
    "knowledge_none": 2000,
    "persona": 8000,
    "persona_uncovered": 1200,
    "memory": 5500,
    "memory_profile": 1000,
    "memory_never_said": 500,
    "empathy": 1200,
    "chitchat": 1200,
}
VALID_SHARE = 0.02
# sft_quote.jsonl, a separate file (the main mix's bytes stay as they are): knowledge
# answers that quote the passage's sentence whole.
QUOTE_COUNT = 8000
QUOTE_PREFIXES = ("资料里写着：", "资料上是这么说的：", "根据资料，", "资料里提到，", "")
# sft_copy.jsonl, another separate file: the same three question shapes (knowledge,
# persona, memory) about strings of random characters, which no prior can guess, so that
# only copying from the input lowers the loss (the copy probe in train/RUNS.md).
COPY_COUNT = 9000
# sft_open.jsonl: knowledge questions about entities of other kinds and relations
# (src/open_world.py), every entity invented for its example.
OPEN_COUNT = 15000
# sft_copy_common.jsonl: the same questions over the COMMON_ALPHABET most frequent hanzi
# of the main mix, so that each character is seen often as a copied output; the copy probe
# learnt to copy with 190 ids, the 3,755-character alphabet of sft_copy.jsonl had not
# started copying after ~2,000 steps (train/RUNS.md).
COMMON_ALPHABET = 300
# sft_copy_warmup.jsonl: copy questions with short inputs and long copied replies.
WARMUP_COUNT = 30000
# sft_chat.jsonl: more empathy and chit-chat draws (half each), for mixes that want more of
# them than the main mix's 2,400 against its 7,200 declining replies (train/RUNS.md,
# "sixth session"). Drawn last, from its own seed, so the other files keep their bytes.
CHAT_COUNT = 6000
# sft_persona_wide.jsonl: persona questions asked in the built-up wordings of
# variety.WIDE_PERSONA_FRAMES (three in four questions; the rest as in the fresh mix), the
# main mix's share of replies that keep a fact to themselves. The held-out persona
# questions mostly got that reply: an unfamiliar wording read as a question the profile
# does not answer (train/RUNS.md, "seventh session"). Drawn last, from its own seed.
PERSONA_WIDE_COUNTS = {"persona": 7000, "persona_uncovered": 1000}
WIDE_SHARE = 0.75
# sft_wide_names.jsonl: fresh knowledge, quoting, open-world, persona and memory questions
# whose invented names draw half their characters from all of GB2312 (src/widen.py). The
# other files' replies use about 1,700 distinct characters; a character that is never a
# reply's target is one the model never learns to write (31 of the 61 held-out knowledge
# answers hold such a character; train/RUNS.md, "ninth session"). Drawn last, from its own
# seed, so the other files keep their bytes.
WIDE_NAMES_COUNTS = {"knowledge": 6000, "knowledge_quote": 3000, "knowledge_open": 3000,
                     "persona": 3000, "memory": 3000}
ENTITIES_PER_FAMILY = 500
SONGCI_SAMPLE = 4000   # of ~21k Song ci; classical poems are a seasoning, not the bulk
SYNTH_PERSONAS = 900
MIN_REPLY = 10       # characters; the default min_length is 10 tokens (5 for persona questions)
MIN_PERSONA_REPLY = 4
MIN_CHITCHAT_REPLY = 8  # shorter lines (嗨, 谢谢) would meet the 10-token min_length only by padding


class Rejected(Exception):
    """No reply wording passes the checks for this draw; the caller draws again."""


def choose_reply(rng, candidates, utterances, min_len, fallback=()):
    """The first candidate (in a shuffled order) that has no bad word, copies no long
    window of the query/history, and is long enough; the fallback wordings only when
    no candidate passes."""
    for group in (candidates, fallback):
        cands = list(group)
        rng.shuffle(cands)
        for c in cands:
            if bad_word_in(c) is None and not copies_from(c, utterances) and len(c) >= min_len:
                return c
    raise Rejected()


def fill(t, **kw):
    return t.format(**kw)


# --- knowledge ------------------------------------------------------------------------
class Knowledge:
    """Knowledge questions over the world's entities; with `fresh`, over entities
    invented for each example (new name, new values: the passage is the only source)."""

    def __init__(self, world, fresh=False):
        self.world = world
        self.fresh = fresh

    def entity(self, rng, fam):
        if not self.fresh:
            return rng.choice(self.world.entities[fam.key])
        facts = {a.key: a.make(rng, self.world) for a in fam.attrs}
        if fam.key == "person":
            facts["_p"] = rng.choice("他她")
        return fam.make_name(rng, set()), facts

    def ask(self, rng, attr, name):
        q = fill(rng.choice(attr.questions), e=name)
        return variety.vary_question(rng, q) if self.fresh else q

    def pronoun(self, fam, facts):
        return facts.get("_p", fam.pronoun)

    def sentence(self, rng, fam, name, facts, attr, first):
        t = rng.choice(attr.sentences)
        p = self.pronoun(fam, facts)
        if not first and t.startswith("{e}"):
            t = p + t[3:]
        return fill(t, e=name, v=facts[attr.key], p=p)

    def passage(self, rng, fam, name, facts, attrs, intro=False):
        parts = []
        if intro:
            parts.append(fill(rng.choice(fam.intro), e=name, k=fam.kind))
        for i, a in enumerate(attrs):
            parts.append(self.sentence(rng, fam, name, facts, a, first=(i == 0 and not intro)))
        return "".join(parts)

    def pick_entity(self, rng):
        fam = rng.choice(W.FAMILIES)
        name, facts = self.entity(rng, fam)
        return fam, name, facts

    def other_entity(self, rng, fam, name):
        while True:
            n, f = self.entity(rng, fam)
            if n != name:
                return n, f

    def distractors(self, rng, fam, name, facts, attr, count):
        """Passages that do not answer: the same attribute of other entities of the
        family, other attributes of this entity, and entities of other families."""
        out = []
        others = [a for a in fam.attrs if a.key != attr.key]
        for _ in range(count):
            r = rng.random()
            if r < 0.45:
                n, f = self.other_entity(rng, fam, name)
                extra = rng.sample(others, rng.randint(0, 1))
                out.append(self.passage(rng, fam, n, f, [attr] + extra))
            elif r < 0.75 and others:
                out.append(self.passage(rng, fam, name, facts, rng.sample(others, min(len(others), rng.randint(1, 2))),
                                        intro=rng.random() < 0.2))
            else:
                ofam = rng.choice([f for f in W.FAMILIES if f.key != fam.key])
                n, f = self.entity(rng, ofam)
                out.append(self.passage(rng, ofam, n, f, rng.sample(ofam.attrs, rng.randint(1, 2))))
        return out

    def history(self, rng, pairs):
        if rng.random() < 0.2:
            u, b = rng.choice(pairs)
            return [u, b]
        return []

    def answer(self, rng, pairs):
        fam, name, facts = self.pick_entity(rng)
        attr = rng.choice(fam.attrs)
        q = self.ask(rng, attr, name)
        hist = self.history(rng, pairs)
        others = [a for a in fam.attrs if a.key != attr.key]
        with_target = [attr] + rng.sample(others, rng.choice([0, 0, 1, 2]))
        rng.shuffle(with_target)
        gold = self.passage(rng, fam, name, facts, with_target, intro=rng.random() < 0.15)
        n_distract = rng.randint(1, 4)
        know = self.distractors(rng, fam, name, facts, attr, n_distract) + [gold]
        rng.shuffle(know)
        p = self.pronoun(fam, facts)
        cands = [fill(t, e=name, v=facts[attr.key], p=p) for t in attr.answers]
        longer = [c[:-1] + "，资料里是这么写的。" for c in cands if not c.startswith("资料")]
        reply = choose_reply(rng, cands, [q] + hist, MIN_REPLY, longer)
        return example(q, hist, know, reply, "knowledge")

    def quote(self, rng, pairs):
        """A knowledge question whose reply quotes the answer-bearing sentence whole, so
        that most of the reply is copied from the right passage (`sft_quote.jsonl`: the
        copy probe in data/demo/train/RUNS.md found copying to appear only after many
        copied target tokens; the main mix copies 31 % of its reply characters)."""
        fam, name, facts = self.pick_entity(rng)
        attr = rng.choice(fam.attrs)
        q = self.ask(rng, attr, name)
        hist = self.history(rng, pairs)
        target = self.sentence(rng, fam, name, facts, attr, first=True)
        others = [a for a in fam.attrs if a.key != attr.key]
        extra = [self.sentence(rng, fam, name, facts, a, first=False)
                 for a in rng.sample(others, rng.choice([0, 1, 2]))]
        gold = target + "".join(extra)
        know = self.distractors(rng, fam, name, facts, attr, rng.randint(1, 4)) + [gold]
        rng.shuffle(know)
        cands = [prefix + target for prefix in QUOTE_PREFIXES]
        reply = choose_reply(rng, cands, [q] + hist, MIN_REPLY)
        return example(q, hist, know, reply, "knowledge_quote")

    def absent(self, rng, pairs):
        fam, name, facts = self.pick_entity(rng)
        attr = rng.choice([a for a in fam.attrs if a.absent_ok])
        q = self.ask(rng, attr, name)
        hist = self.history(rng, pairs)
        others = [a for a in fam.attrs if a.key != attr.key]
        told = rng.sample(others, rng.randint(1, min(3, len(others))))
        know = [self.passage(rng, fam, name, facts, told, intro=rng.random() < 0.3)]
        for _ in range(rng.randint(1, 3)):
            r = rng.random()
            if r < 0.6:
                # The asked attribute of ANOTHER entity: the reply must not take its value.
                n, f = self.other_entity(rng, fam, name)
                know.append(self.passage(rng, fam, n, f, [attr]))
            else:
                ofam = rng.choice([f for f in W.FAMILIES if f.key != fam.key])
                n, f = self.entity(rng, ofam)
                know.append(self.passage(rng, ofam, n, f, rng.sample(ofam.attrs, 1)))
        rng.shuffle(know)
        told_label = rng.choice(told).label
        p = self.pronoun(fam, facts)
        cands = [
            f"资料里没有提到{name}的{attr.label}。",
            f"给到的资料只讲了{name}的{told_label}，没写{attr.label}。",
            f"这些资料里找不到{name}的{attr.label}，我不能乱猜。",
            f"资料里没说{name}的{attr.label}，我也不好随便回答。",
            f"关于{attr.label}，资料里并没有写到{name}的情况。",
            f"我看了一遍资料，里面没有{name}的{attr.label}。",
        ]
        reply = choose_reply(rng, cands, [q] + hist, MIN_REPLY)
        return example(q, hist, know, reply, "knowledge_absent")

    def none(self, rng, pairs):
        fam, name, facts = self.pick_entity(rng)
        attr = rng.choice(fam.attrs)
        q = self.ask(rng, attr, name)
        hist = self.history(rng, pairs)
        p = self.pronoun(fam, facts)
        cands = [
            f"抱歉，我对{name}了解不多，说不准{p}的{attr.label}。",
            f"关于{name}的{attr.label}，我手头没有资料，不敢乱说。",
            f"我没听说过{name}，也就说不好{p}的{attr.label}，抱歉。",
            f"这个我答不上来，我不清楚{name}的{attr.label}。",
            f"我这里没有{name}的资料，{attr.label}这一项我说不准。",
        ]
        reply = choose_reply(rng, cands, [q] + hist, MIN_REPLY)
        return example(q, hist, [], reply, "knowledge_none")


# --- personas ---------------------------------------------------------------------------
def is_student(job):
    return job.endswith("生")


def persona_answer(rng, p, attr, q):
    base = [t for t in personas.ANSWERS[attr] if not (attr == "job" and is_student(p["job"]) and "做" in t)]
    cands = [fill(t, v=p[attr]) + rng.choice(personas.STYLE_TAILS[p["style"]]) for t in base]
    return choose_reply(rng, cands, [q], MIN_PERSONA_REPLY)


def persona_profile(rng, p, attrs):
    """The bot_profile string: the name first (as people introduce themselves), the
    other facts in a shuffled order, then the persona's extra facts."""
    rest = [a for a in attrs if a != "name"]
    rng.shuffle(rest)
    order = (["name"] if "name" in attrs else []) + rest
    facts = []
    for a in order:
        opts = personas.FACTS[a]
        if a == "job" and is_student(p["job"]):
            opts = ["我是一名{v}", "我是{v}"]
        facts.append(fill(rng.choice(opts), v=p[a]))
    return ";".join(facts + p["extras"])


class Persona:
    """Persona questions; with `fresh`, most personas are invented for the example
    (variety.persona) and questions get openers."""

    def __init__(self, rng, fresh=False, wide=False):
        self.hand = personas.parse_hand_written()
        taken = {p["name"] for p in self.hand}
        self.synth = [personas.synthesize(rng, taken) for _ in range(SYNTH_PERSONAS)]
        self.fresh = fresh
        self.wide = wide

    def pick(self, rng):
        if self.fresh:
            return rng.choice(self.hand) if rng.random() < 0.2 else variety.persona(rng)
        return rng.choice(self.hand) if rng.random() < 0.4 else rng.choice(self.synth)

    def vary(self, rng, q):
        return variety.vary_question(rng, q) if self.fresh else q

    def ask(self, rng, attr):
        """A usual question about `attr` (more wordings in fresh mode, built-up ones in
        wide mode)."""
        if self.wide and rng.random() < WIDE_SHARE:
            return variety.wide_persona_question(rng, attr)
        asks = personas.QUESTIONS[attr] + (variety.EXTRA_PERSONA_QUESTIONS[attr] if self.fresh else [])
        return self.vary(rng, rng.choice(asks))

    def keep_to_myself(self, rng, p, q, profile, fact_keys):
        """The reply that leaves the question aside and tells one of `fact_keys` instead."""
        fk = rng.choice(sorted(fact_keys))
        fact = fill(rng.choice(personas.UNCOVERED_FACTS[fk]), v=p[fk])
        cands = [fill(t, fact=fact) for t in personas.UNCOVERED_ANSWERS]
        reply = choose_reply(rng, cands, [q], MIN_PERSONA_REPLY)
        return example(q, [], [], reply, "persona_uncovered", bot_profile=profile)

    def covered(self, rng, pairs):
        p = self.pick(rng)
        attrs = list(personas.FACTS.keys())
        drop = rng.sample([a for a in attrs if a != "name"], rng.randint(0, 3))
        attrs = [a for a in attrs if a not in drop]
        profile = persona_profile(rng, p, attrs)
        if rng.random() < 0.12:
            q = rng.choice(personas.INTRO_QUESTIONS)
            known = [a for a in attrs if a in ("job", "city", "hobby", "age")]
            if "name" not in attrs or len(known) < 2:
                raise Rejected()
            chosen = ["name"] + rng.sample(known, 2)
            bits = {"name": f"我叫{p['name']}", "job": f"是一名{p['job']}", "city": f"住在{p['city']}",
                    "hobby": f"平时喜欢{p['hobby']}", "age": f"今年{p['age']}岁"}
            reply = "，".join(bits[a] for a in chosen) + rng.choice(personas.STYLE_TAILS[p["style"]])
            if reply[-1] not in "。！～":
                reply += "。"
            if bad_word_in(reply) or copies_from(reply, [q]):
                raise Rejected()
            return example(q, [], [], reply, "persona", bot_profile=profile)
        attr = rng.choice(attrs)
        q = self.ask(rng, attr)
        hist = []
        if rng.random() < 0.2:
            u, b = rng.choice(pairs)
            hist = [u, b]
        reply = persona_answer(rng, p, attr, q)
        return example(q, hist, [], reply, "persona", bot_profile=profile)

    def uncovered(self, rng, pairs):
        p = self.pick(rng)
        attrs = list(personas.FACTS.keys())
        if self.fresh and rng.random() < 0.5:
            return self.dropped(rng, p, attrs)
        profile = persona_profile(rng, p, attrs)
        qs = [q for q, keys in personas.UNCOVERED_QUESTIONS if not any(k in profile for k in keys)]
        q = self.vary(rng, rng.choice(qs))
        return self.keep_to_myself(rng, p, q, profile, personas.UNCOVERED_FACTS)

    def dropped(self, rng, p, attrs):
        """A usual persona question about a fact the profile leaves out: the wording
        alone must not decide between answering and keeping it to oneself (with only
        odd questions uncovered, the model took any unfamiliar wording for one)."""
        asked = rng.choice([a for a in attrs if a != "name"])
        kept = [a for a in attrs if a != asked]
        profile = persona_profile(rng, p, kept)
        q = self.ask(rng, asked)
        return self.keep_to_myself(rng, p, q, profile, [k for k in personas.UNCOVERED_FACTS if k in kept])


# --- memory -----------------------------------------------------------------------------
ACKS = {
    "name": ["你好，{v}，很高兴认识你。", "{v}，这个名字真好听。", "好的，{v}，我记住了。"],
    "default": ["好的，我记下了。", "听起来很不错。", "原来是这样，挺好的。", "嗯嗯，我记住啦。", "真不错。"],
}
MEMORY_TAILS = ["，这个我记得清清楚楚。", "，我一直记着呢。", "，我没有忘。"]


class Memory:
    """Memory questions; with `fresh`, wider values (variety.MEMORY_VALUES) and
    statements and questions in more wordings."""

    def __init__(self, fresh=False):
        self.fresh = fresh

    def values(self, rng, kind):
        if self.fresh:
            return variety.MEMORY_VALUES[kind](rng)
        return memory.FACTS[kind][0](rng)

    def statement(self, rng, kind, vals):
        if not self.fresh:
            return fill(rng.choice(memory.FACTS[kind][1]), **vals)
        t = fill(rng.choice(memory.FACTS[kind][1] + variety.EXTRA_STATEMENTS[kind]), **vals)
        tail = rng.choice(variety.STATEMENT_TAILS)
        if tail:
            t = t[:-1] + tail
        return rng.choice(variety.STATEMENT_OPENERS) + t

    def question(self, rng, kind, vals, templates):
        if self.fresh and rng.random() < 0.6:
            noun = fill(rng.choice(variety.RECALL_NOUNS[kind]), **vals)
            return variety.vary_question(rng, fill(rng.choice(variety.RECALL_FRAMES), n=noun))
        q = fill(rng.choice(templates), **vals)
        return variety.vary_question(rng, q) if self.fresh else q

    def stated(self, rng, pairs, kinds):
        """History where the user states each kind once, with filler exchanges."""
        vals = {k: self.values(rng, k) for k in kinds}
        turns = []
        slots = list(kinds) + ["filler"] * rng.randint(0, 3)
        rng.shuffle(slots)
        if slots[0] == "filler" and rng.random() < 0.5:
            slots[0], slots[-1] = slots[-1], slots[0]
        for s in slots:
            if s == "filler":
                u, b = rng.choice(pairs)
            else:
                u = self.statement(rng, s, vals[s])
                acks = ACKS.get(s, ACKS["default"])
                b = fill(rng.choice(acks), **vals[s])
            turns += [u, b]
        return turns[-8:], vals

    def recall(self, rng, pairs):
        kinds = rng.sample(sorted(memory.FACTS), rng.randint(1, 3))
        turns, vals = self.stated(rng, pairs, kinds)
        # The statement may have fallen out of the 8-turn window; ask about one still there.
        present = [k for k in kinds if any(fill("{v}", **vals[k]) in t for t in turns[0::2])]
        if not present:
            raise Rejected()
        k = rng.choice(present)
        q = self.question(rng, k, vals[k], memory.FACTS[k][2])
        cands = [fill(t, **vals[k]) for t in memory.FACTS[k][3]]
        longer = [c[:-1] + rng.choice(MEMORY_TAILS) for c in cands]
        reply = choose_reply(rng, cands, [q] + turns, MIN_REPLY, longer)
        return example(q, turns, [], reply, "memory")

    def profile(self, rng, pairs):
        kinds = rng.sample(sorted(memory.FACTS), rng.randint(1, 3))
        vals = {k: self.values(rng, k) for k in kinds}
        up = ";".join(fill(memory.PROFILE_FACTS[k], **vals[k]) for k in kinds)
        hist = []
        if rng.random() < 0.4:
            u, b = rng.choice(pairs)
            hist = [u, b]
        k = rng.choice(kinds)
        q = self.question(rng, k, vals[k], memory.PROFILE_QUESTIONS[k])
        cands = [fill(t, **vals[k]) for t in memory.FACTS[k][3]]
        longer = [c[:-1] + rng.choice(MEMORY_TAILS) for c in cands]
        reply = choose_reply(rng, cands, [q] + hist, MIN_REPLY, longer)
        return example(q, hist, [], reply, "memory_profile", user_profile=up)

    def never_said(self, rng, pairs):
        kinds = sorted(memory.FACTS)
        stated = rng.sample(kinds, rng.randint(0, 2))
        turns, _ = self.stated(rng, pairs, stated) if stated else ([], {})
        if not turns:
            u, b = rng.choice(pairs)
            turns = [u, b]
        asked = rng.choice([k for k in kinds if k not in stated])
        vals = self.values(rng, asked)
        q = self.question(rng, asked, vals, memory.FACTS[asked][2])
        reply = fill(memory.NEVER_SAID[asked], **vals)
        if bad_word_in(reply) or copies_from(reply, [q] + turns):
            raise Rejected()
        return example(q, turns, [], reply, "memory_never_said")


# --- empathy and chit-chat ----------------------------------------------------------------
PREFIXES = ["", "", "", "唉，", "说真的，", "跟你说，", "哎，", "今天想说，"]


def empathy_example(rng, items, pairs):
    u, replies = rng.choice(items)
    q = rng.choice(PREFIXES) + u
    hist = []
    if rng.random() < 0.3:
        a, b = rng.choice(pairs)
        hist = [a, b]
    reply = choose_reply(rng, replies, [q] + hist, MIN_REPLY)
    return example(q, hist, [], reply, "empathy")


def chitchat_pool(dialogues, vendor_dialogues, pairs):
    """Every (history, query, reply) a dialogue offers where the bot's turn is a
    usable reply."""
    pool = []
    for d in dialogues + vendor_dialogues:
        for i in range(1, len(d), 2):
            hist, q, r = d[:i - 1], d[i - 1], d[i]
            if bad_word_in(r) is None and not copies_from(r, [q] + hist) and len(r) >= MIN_CHITCHAT_REPLY:
                pool.append((hist[-8:], q, r))
    for u, b in pairs:
        if bad_word_in(b) is None and len(b) >= MIN_CHITCHAT_REPLY:
            pool.append(([], u, b))
    return pool


def chitchat_example(rng, pool):
    hist, q, r = rng.choice(pool)
    return example(q, list(hist), [], r, "chitchat")


def normalize_vendor(text):
    """Full-width punctuation for the chatterbot lines (the pipeline's
    post-processing does the same to replies)."""
    table = {",": "，", "?": "？", "!": "！", ":": "：", ";": "；"}
    t = "".join(table.get(c, c) for c in text.strip())
    t = t.rstrip(".") + ("。" if t.endswith(".") else "")
    return t.replace(" ", "")


def vendor_chat(vendor_dir):
    keep = []
    for d in vendor.chatterbot_dialogues(vendor_dir):
        turns = [normalize_vendor(t) for t in d]
        # Lines about being a machine, in Latin letters, or odd translations are left out.
        if any(any(ch.isascii() and ch.isalpha() for ch in t) or "机器" in t for t in turns):
            continue
        keep.append(turns)
    return keep


# --- assembling ----------------------------------------------------------------------------
def example(q, hist, know, reply, category, bot_profile="", user_profile=""):
    ex = {"query": q}
    if hist:
        ex["history"] = [{"role": "user" if i % 2 == 0 else "bot", "utterance": t} for i, t in enumerate(hist)]
    if know:
        ex["knowledge"] = know
    if bot_profile:
        ex["bot_profile"] = bot_profile
    if user_profile:
        ex["user_profile"] = user_profile
    ex["response"] = reply
    return category, ex


def open_answer(rng):
    """An open_world question whose reply states the value in one of the answer shapes."""
    ent, rel, q, know = open_world.draw(rng)
    cands = [t.format(e=ent["name"], v=ent[rel]) for t in open_world.RELATIONS[rel][3]]
    reply = choose_reply(rng, cands, [q], MIN_REPLY, [c[:-1] + "，资料里是这么写的。" for c in cands])
    return example(q, [], know, reply, "knowledge_open")


def open_quote(rng, pairs):
    """An open_world question whose reply quotes the answering sentence whole."""
    ent, rel, q, know = open_world.draw(rng)
    target = next(k for k in know if ent[rel] in k and ent["name"] in k)
    sentence = next((c + "。" for c in target.split("。") if ent[rel] in c), target)
    reply = choose_reply(rng, [prefix + sentence for prefix in QUOTE_PREFIXES], [q], MIN_REPLY)
    return example(q, [], know, reply, "knowledge_quote")


def heldout_strings():
    """The strings check_heldout.py forbids in training text (held-out names, answers,
    queries), or none when the held-out set is absent."""
    if not (HERE / "eval" / "heldout.jsonl").is_file():
        return []
    import check_heldout
    items = [json.loads(l) for l in open(HERE / "eval" / "heldout.jsonl", encoding="utf-8")]
    return [s for _, s in check_heldout.heldout_strings(items)]


def avoiding(forbidden, maker):
    """`maker`, drawing again when the example's text contains a forbidden string:
    invented values can hit a held-out answer by chance."""
    def make(rng):
        cat, ex = maker(rng)
        text = json.dumps(ex, ensure_ascii=False)
        if any(s in text for s in forbidden):
            raise Rejected()
        return cat, ex
    return make


def generate(rng, counts, makers):
    out, rejected = [], {}
    for cat in sorted(counts):
        made = 0
        tries = 0
        while made < counts[cat]:
            tries += 1
            if tries > counts[cat] * 20 + 100:
                raise SystemExit(f"build.py: category {cat}: too many rejected draws ({tries}); check the templates")
            try:
                out.append(makers[cat](rng))
                made += 1
            except Rejected:
                rejected[cat] = rejected.get(cat, 0) + 1
    rng.shuffle(out)
    return out, rejected


def encyclopedia(rng, kn, world):
    docs = []
    for fam in W.FAMILIES:
        for name, facts in world.entities[fam.key]:
            for _ in range(4):
                attrs = list(fam.attrs)
                rng.shuffle(attrs)
                docs.append(kn.passage(rng, fam, name, facts, attrs, intro=True))
    return docs


def travel_notes(rng, kn, world):
    fam = W.FAMILY_BY_KEY["town"]
    docs = []
    for name, facts in world.entities["town"]:
        attrs = rng.sample(fam.attrs, 3)
        body = kn.passage(rng, fam, name, facts, attrs)
        t = rng.choice(prose.TRAVEL_NOTES)
        docs.append(fill(t, e=name, season=rng.choice(prose.SEASONS), facts=body))
    return docs


def select_poems(rng, poems):
    """All of 宋词三百首 and the Book of Songs, and a fixed-seed sample of the other ci."""
    keep = [(t, b) for s, t, b in poems if s != "songci"]
    rest = [(t, b) for s, t, b in poems if s == "songci"]
    return keep + rng.sample(rest, min(SONGCI_SAMPLE, len(rest)))


def dialogue_text(turns):
    return "".join(("甲：" if i % 2 == 0 else "乙：") + t for i, t in enumerate(turns))


COPY_THINGS = ("暗号", "编号", "口令", "代号", "密语", "通行码")
COPY_OWNERS = ("甲组", "乙组", "丙组", "丁组", "一号仓", "二号仓", "三号仓", "东门", "西门", "南门", "北门")
COPY_PETS = ("猫", "狗", "兔子", "鹦鹉", "仓鼠", "乌龟", "金鱼")


def copy_characters(level_two=False):
    """GB2312 level 1 (the 3755 most common hanzi; with `level_two`, level 2's 3008 too)
    minus characters a random name should not have and those of the banned words (a reply
    with 谁 or 几 would be refused at generation time)."""
    banned = set("妓娼嫖屎尿屁奸淫操贱死尸杀毒赌粪鬼魔骚" + "".join(BAD_WORDS))
    inventory = gb2312_characters() if level_two else gb2312_characters()[:3755]
    return [c for c in inventory if c not in banned]


def frequent_characters(rows, count):
    """The `count` most frequent hanzi of the examples' replies and knowledge (ties by code
    point), minus the copy alphabet's exclusions."""
    allowed = set(copy_characters())
    freq = {}
    for _, ex in rows:
        for text in [ex["response"]] + ex.get("knowledge", []):
            for c in text:
                if c in allowed:
                    freq[c] = freq.get(c, 0) + 1
    return sorted(freq, key=lambda c: (-freq[c], c))[:count]


def copy_example(rng, chars):
    """A question whose answer is a string of 3–10 random common characters found only in
    the input: in a passage among distractors, in the bot profile, or in an earlier user
    turn."""
    def code(longest=10):
        # Longer strings are more copied tokens a step; a recalled name stays within 6
        # characters so that the reply does not repeat 7 of the user's.
        return "".join(rng.choice(chars) for _ in range(rng.randint(3, longest)))
    kind = rng.randrange(3)
    if kind == 0:
        thing = rng.choice(COPY_THINGS)
        owners = rng.sample(COPY_OWNERS, rng.randint(2, 4))
        codes = [code() for _ in owners]
        know = [f"{o}的{thing}是{c}。" for o, c in zip(owners, codes)]
        i = rng.randrange(len(owners))
        return example(f"{owners[i]}的{thing}是什么？", [], know, f"{thing}是{codes[i]}。", "copy_knowledge")
    if kind == 1:
        name = code()
        return example("你叫什么名字？", [], [], f"我叫{name}。", "copy_persona",
                       bot_profile=f"我叫{name};我是{rng.choice(('导游', '老师', '厨师', '画家'))}")
    pet = rng.choice(COPY_PETS)
    name = code(longest=6)
    hist = [f"我家的{pet}叫{name}。", "这个名字挺特别的。"]
    # Not "你家的…叫X": seven characters in a row from the history would be refused by
    # the no-repeat rule (textcheck.COPY_WINDOW).
    return example(f"我家的{pet}叫什么来着？", hist, [], f"是{name}，我记得。", "copy_memory")


WARMUP_SPEAKERS = ("甲", "乙", "丙", "丁")


def warmup_example(rng, chars):
    """A copy warm-up question: half are `copy_example`s, half ask what one speaker said
    among two to four (`甲：…`), the reply being that speaker's 8–12 random characters whole.
    Short inputs and long copied replies put many copied tokens in each step: the small
    probe models learnt to copy from these within a few hundred steps of 32 examples
    (data/demo/train/RUNS.md), where the main mix's few copied tokens a step had not taught
    it in thousands."""
    if rng.random() < 0.5:
        return copy_example(rng, chars)
    speakers = rng.sample(WARMUP_SPEAKERS, rng.randint(2, 4))
    lines = ["".join(rng.choice(chars) for _ in range(rng.randint(8, 12))) for _ in speakers]
    i = rng.randrange(len(speakers))
    know = [f"{sp}：{line}" for sp, line in zip(speakers, lines)]
    return example(f"{speakers[i]}说了什么？", [], know, lines[i], "copy_speaker")


def gb2312_characters():
    """Every GB2312 hanzi (levels 1 and 2, 6763 characters): a fixed, public inventory
    of common characters, so the tokenizer has a piece for characters the data does
    not happen to use (user input, held-out names). Printable ASCII is added beside it."""
    chars = []
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                c = bytes([hi, lo]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            chars.append(c)
    return "".join(chars)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every category's example count")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--out", default=str(HERE / "build"))
    ap.add_argument("--vendor", default=None, help="folder with the package archives (default OUT/vendor)")
    ap.add_argument("--no-packages", action="store_true", help="build without the registry packages")
    ap.add_argument("--with-category", action="store_true",
                    help="add a `category` field to each SFT line (not read by `chatplug data`)")
    args = ap.parse_args(argv)
    if args.scale <= 0:
        ap.error("--scale must be positive")
    out = Path(args.out)
    vendor_dir = Path(args.vendor) if args.vendor else out / "vendor"

    rng = random.Random(args.seed)
    world = W.World(random.Random(args.seed + 1), ENTITIES_PER_FAMILY)
    prng = random.Random(args.seed + 2)
    for name, facts in world.entities["person"]:
        facts["_p"] = prng.choice("他她")
    kn = Knowledge(world)
    per = Persona(random.Random(args.seed + 3))
    mem = Memory()
    emp = empathy.parse()
    dialogues = chitchat.parse()
    pairs = chitchat.parse_pairs()
    try:
        vchat = [] if args.no_packages else vendor_chat(vendor_dir)
        poems = [] if args.no_packages else select_poems(random.Random(args.seed + 4), vendor.poems(vendor_dir))
    except vendor.VendorError as e:
        raise SystemExit(f"build.py: {e}")
    pool = chitchat_pool(dialogues, vchat, pairs)

    makers = {
        "knowledge": lambda r: kn.answer(r, pairs),
        "knowledge_absent": lambda r: kn.absent(r, pairs),
        "knowledge_none": lambda r: kn.none(r, pairs),
        "persona": lambda r: per.covered(r, pairs),
        "persona_uncovered": lambda r: per.uncovered(r, pairs),
        "memory": lambda r: mem.recall(r, pairs),
        "memory_profile": lambda r: mem.profile(r, pairs),
        "memory_never_said": lambda r: mem.never_said(r, pairs),
        "empathy": lambda r: empathy_example(r, emp, pairs),
        "chitchat": lambda r: chitchat_example(r, pool),
    }
    train_counts = {k: max(1, round(v * args.scale)) for k, v in BASE_COUNTS.items()}
    valid_counts = {k: max(5, round(v * VALID_SHARE)) for k, v in train_counts.items()}
    train, rej_t = generate(random.Random(args.seed + 10), train_counts, makers)
    valid, rej_v = generate(random.Random(args.seed + 11), valid_counts, makers)

    quote, rej_q = generate(random.Random(args.seed + 12), {"knowledge_quote": max(1, round(QUOTE_COUNT * args.scale))},
                            {"knowledge_quote": lambda r: kn.quote(r, pairs)})

    # sft_fresh_train/valid.jsonl: the main mix's categories with entities, personas and
    # values invented for each example and wider wording (src/variety.py), so that a reply's
    # value can only be copied. A draw that contains a held-out string is drawn again.
    heldout = heldout_strings()
    kn_f, per_f, mem_f = Knowledge(world, fresh=True), Persona(random.Random(args.seed + 3), fresh=True), Memory(fresh=True)
    fresh_makers = dict(makers, **{
        "knowledge": lambda r: kn_f.answer(r, pairs),
        "knowledge_absent": lambda r: kn_f.absent(r, pairs),
        "knowledge_none": lambda r: kn_f.none(r, pairs),
        "persona": lambda r: per_f.covered(r, pairs),
        "persona_uncovered": lambda r: per_f.uncovered(r, pairs),
        "memory": lambda r: mem_f.recall(r, pairs),
        "memory_profile": lambda r: mem_f.profile(r, pairs),
        "memory_never_said": lambda r: mem_f.never_said(r, pairs),
    })
    fresh_makers = {k: avoiding(heldout, m) for k, m in fresh_makers.items()}
    fresh_train, rej_ft = generate(random.Random(args.seed + 16), train_counts, fresh_makers)
    fresh_valid, rej_fv = generate(random.Random(args.seed + 17), valid_counts, fresh_makers)
    # sft_fresh_quote.jsonl: quoting replies (as sft_quote.jsonl) about invented entities of
    # the world's families and of open_world's kinds: 15-30 copied characters a reply, which
    # no name can recall.
    fresh_makers["knowledge_quote"] = avoiding(heldout, lambda r: (kn_f.quote if r.random() < 0.5 else open_quote)(r, pairs))
    fresh_makers["knowledge_open"] = avoiding(heldout, open_answer)
    fresh_quote, rej_fq = generate(random.Random(args.seed + 19), {"knowledge_quote": max(1, round(QUOTE_COUNT * args.scale))},
                                   fresh_makers)
    open_rows, rej_o = generate(random.Random(args.seed + 18), {"knowledge_open": max(1, round(OPEN_COUNT * args.scale))},
                                fresh_makers)

    common = copy_characters()
    copy_rng = random.Random(args.seed + 13)
    copy = [copy_example(copy_rng, common) for _ in range(max(1, round(COPY_COUNT * args.scale)))]
    frequent = frequent_characters(train, COMMON_ALPHABET)
    copy_common_rng = random.Random(args.seed + 14)
    copy_common = [copy_example(copy_common_rng, frequent) for _ in range(max(1, round(COPY_COUNT * args.scale)))]
    warmup_rng = random.Random(args.seed + 15)
    warmup = [warmup_example(warmup_rng, frequent) for _ in range(max(1, round(WARMUP_COUNT * args.scale)))]

    # Documents: same world, our prose, dialogues as plain text, poems.
    drng = random.Random(args.seed + 20)
    docs = []
    docs += encyclopedia(drng, kn, world)
    docs += travel_notes(drng, kn, world)
    docs += prose.paragraphs()
    docs += [dialogue_text(d) for d in dialogues + vchat]
    docs += [f"{u}{r}" for u, rs in emp for r in rs]
    for p in per.hand + per.synth:
        docs.append(persona_profile(drng, p, list(personas.FACTS)).replace(";", "，") + "。")
    docs += [f"《{t}》{b}" if t else b for t, b in poems]
    drng.shuffle(docs)
    docs = [d.replace("\n", " ").strip() for d in docs if d.strip()]

    out.mkdir(parents=True, exist_ok=True)

    def write_jsonl(path, rows):
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for cat, ex in rows:
                if args.with_category:
                    ex = dict(ex, category=cat)
                f.write(json.dumps(ex, ensure_ascii=False, separators=(",", ":")) + "\n")

    write_jsonl(out / "sft_train.jsonl", train)
    write_jsonl(out / "sft_valid.jsonl", valid)
    write_jsonl(out / "sft_quote.jsonl", quote)
    write_jsonl(out / "sft_copy.jsonl", copy)
    write_jsonl(out / "sft_fresh_train.jsonl", fresh_train)
    write_jsonl(out / "sft_fresh_valid.jsonl", fresh_valid)
    write_jsonl(out / "sft_open.jsonl", open_rows)
    write_jsonl(out / "sft_fresh_quote.jsonl", fresh_quote)
    # The persona and memory lines of sft_fresh_train.jsonl alone (train/persona-memory.toml).
    write_jsonl(out / "sft_fresh_persona_memory.jsonl",
                [(c, ex) for c, ex in fresh_train if c.startswith(("persona", "memory"))])
    write_jsonl(out / "sft_copy_common.jsonl", copy_common)
    write_jsonl(out / "sft_copy_warmup.jsonl", warmup)
    with open(out / "documents.txt", "w", encoding="utf-8", newline="\n") as f:
        for d in docs:
            f.write(d + "\n")

    # Tokenizer corpus: documents, every SFT text field, and the GB2312 inventory.
    inventory = gb2312_characters() + "".join(chr(c) for c in range(0x21, 0x7F))
    lines = list(docs)
    data_chars = set()
    for _, ex in train + valid:
        lines.append(ex["query"])
        lines += [t["utterance"] for t in ex.get("history", [])]
        lines += ex.get("knowledge", [])
        for k in ("bot_profile", "user_profile"):
            if ex.get(k):
                lines.append(ex[k])
        lines.append(ex["response"])
    for t in lines:
        data_chars.update(t)
    for i in range(0, len(inventory), 60):
        lines += [inventory[i:i + 60]] * 3
    with open(out / "tokenizer_corpus.txt", "w", encoding="utf-8", newline="\n") as f:
        for t in lines:
            f.write(t.replace("\n", " ") + "\n")

    chat, rej_c = generate(random.Random(args.seed + 21),
                           {c: max(1, round(CHAT_COUNT * args.scale / 2)) for c in ("empathy", "chitchat")},
                           {c: avoiding(heldout, makers[c]) for c in ("empathy", "chitchat")})
    write_jsonl(out / "sft_chat.jsonl", chat)

    per_w = Persona(random.Random(args.seed + 23), fresh=True, wide=True)
    persona_wide, rej_pw = generate(random.Random(args.seed + 22),
                                    {c: max(1, round(n * args.scale)) for c, n in PERSONA_WIDE_COUNTS.items()},
                                    {"persona": avoiding(heldout, lambda r: per_w.covered(r, pairs)),
                                     "persona_uncovered": avoiding(heldout, lambda r: per_w.uncovered(r, pairs))})
    write_jsonl(out / "sft_persona_wide.jsonl", persona_wide)

    # The fresh makers themselves: the pools are read when a name is drawn, so inside the
    # block they draw the wide characters.
    with widen.name_characters(copy_characters(level_two=True)):
        wide_names, rej_wn = generate(random.Random(args.seed + 24),
                                      {c: max(1, round(n * args.scale)) for c, n in WIDE_NAMES_COUNTS.items()},
                                      fresh_makers)
    write_jsonl(out / "sft_wide_names.jsonl", wide_names)

    # Stats.
    def tally(rows):
        c = {}
        for cat, _ in rows:
            c[cat] = c.get(cat, 0) + 1
        return dict(sorted(c.items()))

    def lens(values):
        values = sorted(values)
        if not values:
            return {}
        return {"min": values[0], "mean": round(sum(values) / len(values), 1),
                "p50": values[len(values) // 2], "p95": values[int(len(values) * 0.95)], "max": values[-1]}

    chars = set()
    for t in lines:
        chars.update(t)
    stats = {
        "seed": args.seed, "scale": args.scale,
        "train": tally(train), "valid": tally(valid),
        "train_examples": len(train), "valid_examples": len(valid), "quote_examples": len(quote),
        "quote_rejected_draws": rej_q.get("knowledge_quote", 0),
        "fresh_train": tally(fresh_train), "fresh_valid_examples": len(fresh_valid),
        "fresh_quote_examples": len(fresh_quote), "fresh_quote_rejected_draws": rej_fq.get("knowledge_quote", 0),
        "chat": tally(chat), "chat_rejected_draws": dict(sorted(rej_c.items())),
        "persona_wide": tally(persona_wide), "persona_wide_rejected_draws": dict(sorted(rej_pw.items())),
        "wide_names": tally(wide_names), "wide_names_rejected_draws": dict(sorted(rej_wn.items())),
        "open_examples": len(open_rows), "open_rejected_draws": rej_o.get("knowledge_open", 0),
        "fresh_rejected_draws": {"train": dict(sorted(rej_ft.items())), "valid": dict(sorted(rej_fv.items()))},
        "rejected_draws": {"train": dict(sorted(rej_t.items())), "valid": dict(sorted(rej_v.items()))},
        "documents": len(docs),
        "documents_bytes": (out / "documents.txt").stat().st_size,
        "documents_by_source": {"poems": len(poems), "chatterbot_dialogues": len(vchat),
                                "prose_paragraphs": len(prose.paragraphs())},
        "chitchat_pool": len(pool),
        "tokenizer_corpus_bytes": (out / "tokenizer_corpus.txt").stat().st_size,
        "characters": len(chars),
        "characters_in_data": len(data_chars),
        "response_chars": lens([len(ex["response"]) for _, ex in train]),
        "knowledge_passages_per_example": lens([len(ex.get("knowledge", [])) for _, ex in train if ex.get("knowledge")]),
        "knowledge_passage_chars": lens([len(k) for _, ex in train for k in ex.get("knowledge", [])]),
        "bot_profile_chars": lens([len(ex["bot_profile"]) for _, ex in train if ex.get("bot_profile")]),
        "history_turns": lens([len(ex.get("history", [])) for _, ex in train]),
        "document_chars": lens([len(d) for d in docs]),
    }
    with open(out / "stats.json", "w", encoding="utf-8", newline="\n") as f:
        json.dump(stats, f, ensure_ascii=False, indent=1)
        f.write("\n")

    print(f"train {len(train)} examples, valid {len(valid)}, documents {len(docs)} "
          f"({stats['documents_bytes'] / 1e6:.1f} MB), characters {len(chars)}")
    for cat, n in stats["train"].items():
        print(f"  {cat:20s} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
