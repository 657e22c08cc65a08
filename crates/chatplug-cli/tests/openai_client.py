"""Talks to a running `chatplug serve` with the official `openai` package, plain and
streaming; exits non-zero (an assertion or an API error) if anything is off.

Usage: python3 openai_client.py BASE_URL API_KEY
Run by crates/chatplug-cli/tests/serve.rs; `.ci/setup` installs the pinned package.
"""

import sys

import openai

base_url, api_key = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=base_url + "/v1", api_key=api_key, max_retries=0, timeout=120)

models = client.models.list()
assert [m.id for m in models.data] == ["chatplug"], models

messages = [
    {"role": "system", "content": "你是一个喜欢表情的大学生"},
    {"role": "user", "content": "你好"},
    {"role": "assistant", "content": "你好呀"},
    {"role": "user", "content": "今天做什么"},
]

# Plain, greedy (temperature 0): deterministic.
plain = client.chat.completions.create(model="chatplug", messages=messages, max_tokens=12, temperature=0)
assert plain.object == "chat.completion", plain
assert len(plain.choices) == 1
choice = plain.choices[0]
assert choice.message.role == "assistant"
assert isinstance(choice.message.content, str) and choice.message.content, choice
assert choice.finish_reason in ("stop", "length"), choice
assert plain.usage.prompt_tokens > 0 and plain.usage.completion_tokens > 0, plain.usage
assert plain.usage.total_tokens == plain.usage.prompt_tokens + plain.usage.completion_tokens

# Streaming, same request: the chunks add up to the same reply.
chunks = list(
    client.chat.completions.create(
        model="chatplug", messages=messages, max_tokens=12, temperature=0, stream=True,
        stream_options={"include_usage": True},
    )
)
assert chunks[0].choices[0].delta.role == "assistant", chunks[0]
text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
assert text == choice.message.content, (text, choice.message.content)
finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
assert finishes == [choice.finish_reason], finishes
assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == plain.usage.completion_tokens

# Sampling with a seed, several choices, a stop string.
sampled = client.chat.completions.create(
    model="chatplug", messages=messages, max_tokens=8, temperature=0.9, top_p=0.95, seed=7, n=2, stop=["。"]
)
assert len(sampled.choices) == 2 and [c.index for c in sampled.choices] == [0, 1]
for c in sampled.choices:
    assert "。" not in c.message.content, c
again = client.chat.completions.create(
    model="chatplug", messages=messages, max_tokens=8, temperature=0.9, top_p=0.95, seed=7, n=2, stop=["。"]
)
assert [c.message.content for c in again.choices] == [c.message.content for c in sampled.choices], "seeded sampling repeats"

# Errors come back as the SDK's typed exceptions.
try:
    client.chat.completions.create(model="chatplug", messages=[{"role": "assistant", "content": "x"}])
    raise AssertionError("a conversation that does not end with the user must fail")
except openai.BadRequestError as e:
    assert "messages[0].role" in str(e), e
try:
    openai.OpenAI(base_url=base_url + "/v1", api_key="wrong", max_retries=0).models.list()
    raise AssertionError("a wrong key must fail")
except openai.AuthenticationError:
    pass

print("openai client: ok")
