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

With --precisions (default: f32 bf16 int8) the engine runs once per precision, and the
run ends with the machine's ceilings, measured by small probes in the same run (peak f32
GEMM FLOP/s with torch; memory bandwidth of a large copy, and of a large sum, which only
reads): the encoder's share of the FLOP ceiling and decoding's share of the bandwidth floor
(the bytes a step must read, at the read bandwidth: decoder weights in the precision, the
f32 cross-attention memory).

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
from common import add_engine_arguments, median_ms, prepare_run, print_table, run_json  # noqa: E402

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


BYTES_PER_WEIGHT = {"f32": 4.0, "bf16": 2.0, "int8": 1.125}  # int8: 32 values + an f32 scale a block


def ceilings():
    """Peak f32 GEMM FLOP/s (torch, all threads), copy bandwidth (bytes read + written) and
    read bandwidth (a sum over the same buffer: what a decoding step does to its weights)."""
    import torch

    torch.set_num_threads(os.cpu_count())
    # A ceiling is the best of several runs (a median let a noisy neighbour lower it below
    # what HF's encoder then reached).
    n = 3072
    a, b = torch.randn(n, n), torch.randn(n, n)
    ms = best_ms(7, lambda: a @ b)
    flops = 2 * n ** 3 / (ms / 1e3)
    # 256 MiB, far beyond the caches; written first, or its pages would all be the one
    # zero page, and a read would come from cache.
    big = torch.ones(256 * 1024 * 1024 // 4)
    dst = torch.empty_like(big)
    ms = best_ms(7, lambda: dst.copy_(big))
    bandwidth = 2 * big.numel() * 4 / (ms / 1e3)
    ms = best_ms(7, lambda: big.sum())
    read_bandwidth = big.numel() * 4 / (ms / 1e3)
    return flops, bandwidth, read_bandwidth


def best_ms(repeats, fn):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return min(times)


def encoder_flops(c: dict, passages: int, length: int) -> float:
    """Multiply-adds ×2 of the encoder: linear maps and attention scores/values."""
    inner = c["num_heads"] * c["d_kv"]
    per_token = 4 * c["d_model"] * inner + 3 * c["d_model"] * c["d_ff"]  # gated-gelu: 3 maps
    attention = 2 * length * inner  # q·k and weights·v per token
    return 2 * c["num_layers"] * (per_token + attention) * passages * length


def decode_step_bytes(c: dict, precision: str, memory_tokens: int) -> float:
    """Bytes one greedy step must read: the decoder's weights (self-attention, cross q/o,
    feed-forward, vocabulary head) in the precision, and the f32 cross keys/values."""
    inner = c["num_heads"] * c["d_kv"]
    per_layer = 4 * c["d_model"] * inner + 2 * c["d_model"] * inner + 3 * c["d_model"] * c["d_ff"]
    weights = c["num_decoder_layers"] * per_layer + c["vocab_size"] * c["d_model"]
    memory = c["num_decoder_layers"] * 2 * memory_tokens * inner * 4
    return weights * BYTES_PER_WEIGHT[precision] + memory


def current_rss_mib():
    """This process's resident memory now (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return None


def hf_worker(model_dir: str, request_path: str, repeats: int, beams: list):
    """Runs inside a child process: times HF transformers and prints JSON."""
    import torch
    from transformers import T5ForConditionalGeneration
    from transformers.modeling_outputs import BaseModelOutput

    torch.set_num_threads(os.cpu_count())
    started = time.perf_counter()
    model = T5ForConditionalGeneration.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    load_s = time.perf_counter() - started
    loaded_rss = current_rss_mib()
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
                      "decode": decode, "loaded_rss_mib": loaded_rss, "peak_rss_mib": peak}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=SIZES, default="base")
    p.add_argument("--passages", type=int, default=6)
    p.add_argument("--passage-len", type=int, default=380)
    p.add_argument("--new-tokens", type=int, default=30)
    add_engine_arguments(p, repeats=3)
    p.add_argument("--precisions", nargs="*", default=["f32", "bf16", "int8"], choices=list(BYTES_PER_WEIGHT))
    p.add_argument("--hf-worker", nargs=2, metavar=("MODEL_DIR", "REQUEST"), help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.hf_worker:
        hf_worker(*args.hf_worker, args.repeats, args.beams)
        return
    prepare_run(args)
    model_dir = make_model(args.out, args.size)
    request = make_request(args.out, SIZES[args.size]["vocab_size"], args.passages, args.passage_len, args.new_tokens)
    beams = [str(b) for b in args.beams]
    hf = run_json([sys.executable, __file__, "--repeats", str(args.repeats), "--beams", *beams,
                   "--hf-worker", str(model_dir), str(request)])
    ours = {}
    for precision in args.precisions:
        ours[precision] = run_json([str(args.binary), "bench", "--model", str(model_dir), "--request", str(request),
                                    "--repeats", str(args.repeats), "--precision", precision,
                                    *sum((["--beams", b] for b in beams), [])])

    print(f"FiD-T5 {args.size} (random weights), {args.passages} passages x {args.passage_len} tokens, "
          f"{args.new_tokens} new tokens, {os.cpu_count()} CPU threads, median of {args.repeats}")
    for precision, result in ours.items():
        print(f"\n-- chatplug {precision}")
        print_table("HF transformers", hf, result)

    flops, bandwidth, read_bandwidth = ceilings()
    c = SIZES[args.size]
    work = encoder_flops(c, args.passages, args.passage_len)
    print(f"\nceilings: {flops / 1e9:.1f} GFLOP/s (torch f32 GEMM), {bandwidth / 1e9:.1f} GB/s (copy, read + "
          f"written), {read_bandwidth / 1e9:.1f} GB/s (read); the decoding floor is the read")
    print(f"{'engine':<18}{'encoder GFLOP/s':>16}{'of peak':>9}{'greedy ms/token':>17}{'floor ms':>10}{'floor/actual':>14}")
    rows = [("hf f32", hf, "f32")] + [(f"chatplug {p}", r, p) for p, r in ours.items()]
    summary = {}
    for name, result, precision in rows:
        achieved = work / (result["encoder_ms"] / 1e3)
        floor_ms = decode_step_bytes(c, precision, args.passages * args.passage_len) / read_bandwidth * 1e3
        per_token = result["decode"]["greedy"]["per_token_ms"]
        print(f"{name:<18}{achieved / 1e9:>16.1f}{achieved / flops:>9.2f}{per_token:>17.1f}{floor_ms:>10.1f}{floor_ms / per_token:>14.2f}")
        summary[name] = {"encoder_share_of_peak": achieved / flops, "decode_share_of_floor": floor_ms / per_token}
    print(json.dumps({"hf": hf, "chatplug": ours, "ceilings": {"flops": flops, "bandwidth": bandwidth, "read_bandwidth": read_bandwidth},
                      "shares": summary}))


if __name__ == "__main__":
    main()
