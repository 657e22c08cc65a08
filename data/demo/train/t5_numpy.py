"""A T5 forward pass in numpy, teacher-forced, with T5's own formulas (RMS norm, unscaled
attention with relative position buckets, gated GELU, tied embeddings rescaled by
d_model^-0.5), and T5's initialisation: for the demo recipe's scripts and their tests
(wire_copy_circuit.py, inspect_copy.py), where a few examples are enough and no torch is
needed. Written from the formulas of transformers' modeling_t5.py; not the engine's code."""
import math

import numpy as np


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


def forward(w, config, passages, decoder_input, cross=None):
    """Logits (len(decoder_input), vocab) of a FiD T5 reading `passages` (id sequences, each
    encoded alone, then read side by side). `cross`, when a list, receives each decoder
    layer's cross-attention weights (heads, len(decoder_input), passage positions)."""
    if config.get("feed_forward_proj", "gated-gelu") != "gated-gelu" or not config.get("tie_word_embeddings", True):
        raise ValueError("t5_numpy.forward computes gated-GELU T5s with tied embeddings (the demo model's)")
    h, dk, d = config["num_heads"], config["d_kv"], config["d_model"]

    def norm(x, name):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-6) * w[name]

    def attend(prefix, x, memory, bias, keep=None):
        def split(t):
            return t.reshape(len(t), h, dk).transpose(1, 0, 2)
        q, k, v = (split(t @ w[f"{prefix}.{n}.weight"].T) for n, t in (("q", x), ("k", memory), ("v", memory)))
        s = q @ k.transpose(0, 2, 1) + bias
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        if keep is not None:
            keep.append(a)
        return (a @ v).transpose(1, 0, 2).reshape(len(x), h * dk) @ w[f"{prefix}.o.weight"].T

    def feed_forward(prefix, x):
        g = x @ w[f"{prefix}.wi_0.weight"].T
        g = 0.5 * g * (1 + np.tanh(math.sqrt(2 / math.pi) * (g + 0.044715 * g ** 3)))
        return (g * (x @ w[f"{prefix}.wi_1.weight"].T)) @ w[f"{prefix}.wo.weight"].T

    def position_bias(stack, q, k, bidirectional):
        relative = np.arange(k)[None, :] - np.arange(q)[:, None]
        table = w[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        return table[bucket(relative, bidirectional)].transpose(2, 0, 1)

    def encode(ids):
        x = w["shared.weight"][ids]
        bias = position_bias("encoder", len(ids), len(ids), True)
        for i in range(config["num_layers"]):
            p = f"encoder.block.{i}.layer"
            n = norm(x, f"{p}.0.layer_norm.weight")
            x = x + attend(f"{p}.0.SelfAttention", n, n, bias)
            x = x + feed_forward(f"{p}.1.DenseReluDense", norm(x, f"{p}.1.layer_norm.weight"))
        return norm(x, "encoder.final_layer_norm.weight")

    memory = np.concatenate([encode(np.asarray(p)) for p in passages])
    t = len(decoder_input)
    y = w["shared.weight"][decoder_input]
    bias = position_bias("decoder", t, t, False) + np.triu(np.full((t, t), -1e9), 1)
    for i in range(config["num_decoder_layers"]):
        p = f"decoder.block.{i}.layer"
        n = norm(y, f"{p}.0.layer_norm.weight")
        y = y + attend(f"{p}.0.SelfAttention", n, n, bias)
        y = y + attend(f"{p}.1.EncDecAttention", norm(y, f"{p}.1.layer_norm.weight"), memory, 0.0, cross)
        y = y + feed_forward(f"{p}.2.DenseReluDense", norm(y, f"{p}.2.layer_norm.weight"))
    return norm(y, "decoder.final_layer_norm.weight") * d ** -0.5 @ w["shared.weight"].T
