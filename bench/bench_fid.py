#!/usr/bin/env python3
"""FiD-T5 benchmark: chatplug (Rust) against HF transformers on the same random model.

A ChatPLUG-shaped request (6 passages x 380 tokens, 30 new tokens, greedy and beam 3) on
random weights of mT5-base size (d_model 768, 12+12 layers, vocab 250112, gated-gelu,
untied). Both engines run as child processes on the same files, one after the other, so
each reports its own peak memory. Every figure is the median of --repeats runs; the last
column is HF time / chatplug time (> 1 means chatplug is faster).

Usage (from the repository root, with the fixtures venv of fixtures/README.md):
    cargo build --release -p chatplug-cli
    fixtures/.venv/bin/python bench/bench_fid.py [--size base|small|tiny] [--repeats 3]

Random weights: the numbers say nothing about reply quality, only about speed.
"""
import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_ms, print_table, run_json  # noqa: E402

SIZES = {
    # mT5-base shape, untied like mT5/ChatPLUG.
    "base": dict(d_model=768, d_kv=64, num_heads=12, d_ff=2048, num_layers=12, num_decoder_layers=12, vocab_size=250112),
    "small": dict(d_model=512, d_kv=64, num_heads=6, d_ff=1024, num_layers=8, num_decoder_layers=8, vocab_size=250112),
    "tiny": dict(d_model=64, d_kv=16, num_heads=4, d_ff=128, num_layers=2, num_decoder_layers=2, vocab_size=32128),
}


def make_model(out: Path, size: str) -> Path:
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    model_dir = out / f"mt5-{size}-random"
    if (model_dir / "model.safetensors").exists():
        return model_dir
    torch.manual_seed(0)
    config = T5Config(feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                      decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, **SIZES[size])
    model = T5ForConditionalGeneration(config)
    model.save_pretrained(model_dir, safe_serialization=True)
    return model_dir


def make_request(out: Path, vocab: int, passages: int, length: int, new_tokens: int) -> Path:
    import random

    rng = random.Random(0)
    ids = [[rng.randrange(3, min(vocab, 250000)) for _ in range(length - 1)] + [1] for _ in range(passages)]
    path = out / f"request-{passages}x{length}-{new_tokens}.json"
    path.write_text(json.dumps({"input_ids": ids, "new_tokens": new_tokens}))
    return path


def hf_worker(model_dir: str, request_path: str, repeats: int, beams: list):
    """Runs inside a child process: times HF transformers and prints JSON."""
    import torch
    from transformers import T5ForConditionalGeneration
    from transformers.modeling_outputs import BaseModelOutput

    torch.set_num_threads(os.cpu_count())
    started = time.perf_counter()
    model = T5ForConditionalGeneration.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    load_s = time.perf_counter() - started
    request = json.loads(Path(request_path).read_text())
    ids = torch.tensor(request["input_ids"])
    new_tokens = request["new_tokens"]
    mask = (ids != 0).long()
    n, length = ids.shape

    def encode():
        hidden = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        return hidden.reshape(1, n * length, -1)

    with torch.inference_mode():
        encoder_ms = median_ms(repeats, encode)
        hidden = encode()
        decode = {}
        for num_beams in [1] + beams:
            # Decoding alone, on passages encoded once; total = encoder + decoding.
            def run():
                model.generate(encoder_outputs=BaseModelOutput(last_hidden_state=hidden),
                               attention_mask=mask.reshape(1, -1), num_beams=num_beams,
                               do_sample=False, max_new_tokens=new_tokens, min_new_tokens=new_tokens)
            decode_ms = median_ms(repeats, run)
            name = "greedy" if num_beams == 1 else f"beam{num_beams}"
            decode[name] = {"total_ms": encoder_ms + decode_ms, "per_token_ms": decode_ms / new_tokens}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"engine": "hf-transformers", "load_s": load_s, "encoder_ms": encoder_ms,
                      "decode": decode, "peak_rss_mib": peak}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=SIZES, default="base")
    p.add_argument("--passages", type=int, default=6)
    p.add_argument("--passage-len", type=int, default=380)
    p.add_argument("--new-tokens", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--beams", type=int, nargs="*", default=[3])
    p.add_argument("--out", type=Path, default=Path("bench/out"))
    p.add_argument("--binary", type=Path, default=Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "release/chatplug")
    p.add_argument("--hf-worker", nargs=2, metavar=("MODEL_DIR", "REQUEST"), help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.hf_worker:
        hf_worker(*args.hf_worker, args.repeats, args.beams)
        return
    if not args.binary.exists():
        sys.exit(f"{args.binary} not found: run `cargo build --release -p chatplug-cli` first (or pass --binary)")
    args.out.mkdir(parents=True, exist_ok=True)
    model_dir = make_model(args.out, args.size)
    request = make_request(args.out, SIZES[args.size]["vocab_size"], args.passages, args.passage_len, args.new_tokens)
    beams = [str(b) for b in args.beams]
    hf = run_json([sys.executable, __file__, "--repeats", str(args.repeats), "--beams", *beams,
                   "--hf-worker", str(model_dir), str(request)])
    ours = run_json([str(args.binary), "bench", "--model", str(model_dir), "--request", str(request),
                     "--repeats", str(args.repeats), *sum((["--beams", b] for b in beams), [])])

    print(f"FiD-T5 {args.size} (random weights), {args.passages} passages x {args.passage_len} tokens, "
          f"{args.new_tokens} new tokens, {os.cpu_count()} CPU threads, median of {args.repeats}")
    print_table("HF transformers", hf, ours)
    print(json.dumps({"hf": hf, "chatplug": ours}))


if __name__ == "__main__":
    main()
