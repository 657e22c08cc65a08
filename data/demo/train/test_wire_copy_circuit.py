"""Tests of wire_copy_circuit.py: a randomly initialised T5, run teacher-forced in numpy
(t5_numpy.py), predicts the next character of a string it reads
once the circuit is wired in, and does not before. Run by `cargo test` through
crates/chatplug-data/tests/demo_builder.rs (numpy and safetensors come from .ci/setup)."""
import unittest

import numpy as np

import wire_copy_circuit as wcc
from t5_numpy import forward, fresh_weights

CONFIG = {"d_model": 64, "d_kv": 16, "num_heads": 4, "d_ff": 128, "num_layers": 2, "num_decoder_layers": 2,
          "vocab_size": 500, "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128}


def copy_accuracy(weights, seed=7, strings=5, length=40):
    """Share of positions where the model, having been fed a prefix of a string it reads,
    predicts the string's next token."""
    rng = np.random.default_rng(seed)
    hits = total = 0
    for _ in range(strings):
        text = rng.choice(np.arange(3, CONFIG["vocab_size"]), size=length, replace=False)
        source = np.concatenate([rng.choice(np.arange(3, CONFIG["vocab_size"]), size=10), text, [1]])
        predicted = forward(weights, CONFIG, [source], text[:-1]).argmax(-1)
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
        q, rest = "decoder.block.0.layer.1.EncDecAttention.q.weight", 2 * CONFIG["d_kv"]
        np.testing.assert_array_equal(self.fresh[q][rest:], wired[q][rest:])
        self.assertEqual(wired["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"][1, 0], 8.0)

    def test_bad_options_are_refused(self):
        with self.assertRaisesRegex(ValueError, "--copy-heads"):
            wcc.wire(self.fresh, CONFIG, 4.0, 0.8, 15.0, 5, 0)
        with self.assertRaisesRegex(ValueError, "no tensor"):
            wcc.wire({"shared.weight": self.fresh["shared.weight"]}, CONFIG, 4.0, 0.8, 15.0, 4, 0)


if __name__ == "__main__":
    unittest.main()
