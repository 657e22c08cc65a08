"""Tests of wire_copy_circuit.py: a randomly initialised T5, run teacher-forced in numpy
(T5's own formulas: RMS norm, unscaled attention with relative position buckets, gated GELU,
tied embeddings rescaled by d_model^-0.5), predicts the next character of a string it reads
once the circuit is wired in, and does not before. Run by `cargo test` through
crates/chatplug-data/tests/demo_builder.rs (numpy and safetensors come from .ci/setup)."""
import math
import unittest

import numpy as np

import wire_copy_circuit as wcc

CONFIG = {"d_model": 64, "d_kv": 16, "num_heads": 4, "d_ff": 128, "num_layers": 2, "num_decoder_layers": 2,
          "vocab_size": 500, "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128}


def fresh_weights(config, seed=1):
    """T5's initialisation (transformers' T5PreTrainedModel._init_weights, factor 1)."""
    rng = np.random.default_rng(seed)
    d, dk, h, ff, v = (config[k] for k in ("d_model", "d_kv", "num_heads", "d_ff", "vocab_size"))
    inner = h * dk
    w = {"shared.weight": rng.standard_normal((v, d))}

    def attention(prefix, bias):
        w[f"{prefix}.q.weight"] = rng.standard_normal((inner, d)) * (d * dk) ** -0.5
        w[f"{prefix}.k.weight"] = rng.standard_normal((inner, d)) * d ** -0.5
        w[f"{prefix}.v.weight"] = rng.standard_normal((inner, d)) * d ** -0.5
        w[f"{prefix}.o.weight"] = rng.standard_normal((d, inner)) * inner ** -0.5
        if bias:
            w[f"{prefix}.relative_attention_bias.weight"] = rng.standard_normal((32, h)) * d ** -0.5

    def feed_forward(prefix):
        w[f"{prefix}.wi_0.weight"] = rng.standard_normal((ff, d)) * d ** -0.5
        w[f"{prefix}.wi_1.weight"] = rng.standard_normal((ff, d)) * d ** -0.5
        w[f"{prefix}.wo.weight"] = rng.standard_normal((d, ff)) * ff ** -0.5

    for i in range(config["num_layers"]):
        attention(f"encoder.block.{i}.layer.0.SelfAttention", i == 0)
        feed_forward(f"encoder.block.{i}.layer.1.DenseReluDense")
        for n in range(2):
            w[f"encoder.block.{i}.layer.{n}.layer_norm.weight"] = np.ones(d)
    for i in range(config["num_decoder_layers"]):
        attention(f"decoder.block.{i}.layer.0.SelfAttention", i == 0)
        attention(f"decoder.block.{i}.layer.1.EncDecAttention", False)
        feed_forward(f"decoder.block.{i}.layer.2.DenseReluDense")
        for n in range(3):
            w[f"decoder.block.{i}.layer.{n}.layer_norm.weight"] = np.ones(d)
    w["encoder.final_layer_norm.weight"] = np.ones(d)
    w["decoder.final_layer_norm.weight"] = np.ones(d)
    return {k: v.astype(np.float32) for k, v in w.items()}


def bucket(relative, bidirectional, buckets=32, max_distance=128):
    """T5's relative position bucket (transformers' T5Attention._relative_position_bucket)."""
    out = np.zeros_like(relative)
    n = relative.copy()
    if bidirectional:
        buckets //= 2
        out += (n > 0) * buckets
        n = np.abs(n)
    else:
        n = -np.minimum(n, 0)
    exact = buckets // 2
    large = exact + (np.log(np.maximum(n, 1) / exact) / math.log(max_distance / exact) * (buckets - exact)).astype(np.int64)
    return out + np.where(n < exact, n, np.minimum(large, buckets - 1))


def forward(w, config, source, decoder_input):
    """Logits (len(decoder_input), vocab) of a one-passage T5."""
    h, dk, d = config["num_heads"], config["d_kv"], config["d_model"]

    def norm(x, name):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6) * w[name]

    def attend(prefix, x, memory, bias):
        def split(t):
            return t.reshape(len(t), h, dk).transpose(1, 0, 2)
        q, k, v = (split(t @ w[f"{prefix}.{n}.weight"].T) for n, t in (("q", x), ("k", memory), ("v", memory)))
        s = q @ k.transpose(0, 2, 1) + bias
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        return (a @ v).transpose(1, 0, 2).reshape(len(x), h * dk) @ w[f"{prefix}.o.weight"].T

    def feed_forward(prefix, x):
        g = x @ w[f"{prefix}.wi_0.weight"].T
        g = 0.5 * g * (1 + np.tanh(math.sqrt(2 / math.pi) * (g + 0.044715 * g ** 3)))
        return (g * (x @ w[f"{prefix}.wi_1.weight"].T)) @ w[f"{prefix}.wo.weight"].T

    def position_bias(stack, q, k, bidirectional):
        relative = np.arange(k)[None, :] - np.arange(q)[:, None]
        table = w[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        return table[bucket(relative, bidirectional)].transpose(2, 0, 1)

    x = w["shared.weight"][source]
    bias = position_bias("encoder", len(source), len(source), True)
    for i in range(config["num_layers"]):
        p = f"encoder.block.{i}.layer"
        n = norm(x, f"{p}.0.layer_norm.weight")
        x = x + attend(f"{p}.0.SelfAttention", n, n, bias)
        x = x + feed_forward(f"{p}.1.DenseReluDense", norm(x, f"{p}.1.layer_norm.weight"))
    memory = norm(x, "encoder.final_layer_norm.weight")
    t = len(decoder_input)
    y = w["shared.weight"][decoder_input]
    bias = position_bias("decoder", t, t, False) + np.triu(np.full((t, t), -1e9), 1)
    for i in range(config["num_decoder_layers"]):
        p = f"decoder.block.{i}.layer"
        n = norm(y, f"{p}.0.layer_norm.weight")
        y = y + attend(f"{p}.0.SelfAttention", n, n, bias)
        y = y + attend(f"{p}.1.EncDecAttention", norm(y, f"{p}.1.layer_norm.weight"), memory, 0.0)
        y = y + feed_forward(f"{p}.2.DenseReluDense", norm(y, f"{p}.2.layer_norm.weight"))
    return norm(y, "decoder.final_layer_norm.weight") * d ** -0.5 @ w["shared.weight"].T


def copy_accuracy(weights, seed=7, strings=5, length=40):
    """Share of positions where the model, having been fed a prefix of a string it reads,
    predicts the string's next token."""
    rng = np.random.default_rng(seed)
    hits = total = 0
    for _ in range(strings):
        text = rng.choice(np.arange(3, CONFIG["vocab_size"]), size=length, replace=False)
        source = np.concatenate([rng.choice(np.arange(3, CONFIG["vocab_size"]), size=10), text, [1]])
        predicted = forward(weights, CONFIG, source, text[:-1]).argmax(-1)
        hits += int((predicted == text[1:]).sum())
        total += length - 1
    return hits / total


class WireCopyCircuitTest(unittest.TestCase):
    def setUp(self):
        self.fresh = fresh_weights(CONFIG)

    def test_wired_model_copies_before_training(self):
        wired = wcc.wire(self.fresh, CONFIG, 4.0, 0.8, 15.0, 4, 0)
        self.assertGreaterEqual(copy_accuracy(wired), 0.85)

    def test_fresh_model_does_not_copy(self):
        self.assertLessEqual(copy_accuracy(self.fresh), 0.1)

    def test_only_the_circuit_changes(self):
        wired = wcc.wire(self.fresh, CONFIG, 4.0, 0.8, 15.0, 2, 0)
        changed = {k for k in self.fresh if not np.array_equal(self.fresh[k], wired[k])}
        self.assertEqual(changed, {f"encoder.block.0.layer.0.SelfAttention.{n}" for n in
                                   ("relative_attention_bias.weight", "q.weight", "k.weight", "v.weight", "o.weight")}
                         | {f"decoder.block.0.layer.1.EncDecAttention.{n}.weight" for n in "qkvo"})
        # Heads past --copy-heads keep their initialisation.
        q = "decoder.block.0.layer.1.EncDecAttention.q.weight"
        np.testing.assert_array_equal(self.fresh[q][32:], wired[q][32:])
        self.assertEqual(wired["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"][1, 0], 8.0)

    def test_bad_options_are_refused(self):
        with self.assertRaisesRegex(ValueError, "--copy-heads"):
            wcc.wire(self.fresh, CONFIG, 4.0, 0.8, 15.0, 5, 0)
        with self.assertRaisesRegex(ValueError, "no tensor"):
            wcc.wire({"shared.weight": self.fresh["shared.weight"]}, CONFIG, 4.0, 0.8, 15.0, 4, 0)


if __name__ == "__main__":
    unittest.main()
