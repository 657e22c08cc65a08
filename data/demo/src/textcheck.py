"""Checks every reply must pass, so that what the model learns is what the
default pipeline lets it say.

Why: the default configuration (config/chatplug.toml) bans the words of
`core_chat_bad_words` outright and bans every 6-token n-gram of the query and the
recent history (the no-repeat session). A reply that breaks either rule could
never be produced at inference, so training on it only teaches the model to
collide with the ban. We check characters, not tokens: a token is at least one
character, so a 7-character window is a close, slightly permissive stand-in for 6
tokens when common two-character words are single pieces.
"""

import re

# The default `core_chat_bad_words` of config/chatplug.toml (a reply never contains them).
BAD_WORDS = (
    "不知道|什么工作|你告诉我一下|你可以说一下|你呢|？|?|吗|什么|怎么|怎样|咋|啥|如何|为什么|"
    "哪|几|谁|多少|多大|多高|是不是|有没有|是否|多久|可不可以|能不能|行不行|干嘛|蠢蛋|傻逼"
).split("|")

COPY_WINDOW = 7
_DIGITS = re.compile(r"[0-9]+")


def bad_word_in(text):
    """The first banned word found in `text`, or None."""
    for w in BAD_WORDS:
        if w in text:
            return w
    return None


def _windows(text, n):
    return {text[i:i + n] for i in range(len(text) - n + 1)}


def copies_from(reply, utterances, n=COPY_WINDOW):
    """True when `reply` shares an n-character window with any utterance (digit runs
    become a space first, as the no-repeat session does)."""
    r = _DIGITS.sub(" ", reply)
    mine = _windows(r, n)
    if not mine:
        return False
    for u in utterances:
        if mine & _windows(_DIGITS.sub(" ", u), n):
            return True
    return False


def reply_ok(reply, utterances):
    """A reply is usable when it has no banned word and copies no long window of the
    query or history."""
    return bad_word_in(reply) is None and not copies_from(reply, utterances)
