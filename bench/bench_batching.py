#!/usr/bin/env python3
"""Continuous batching in `chatplug serve` (issue 11): tokens per second and latency per
token with 1, 4 and 16 concurrent clients, batching on (`server.batch_rows = 32`) against
off (`batch_rows = 0`: each worker decodes its request alone, today's behaviour). Both runs
have one worker per client, so the only difference is whether decoding steps share passes
over the weights.

The model is random (bench_fid.py's shapes; default mT5-small: d_model 512, 8+8 layers,
vocabulary 250112) with a word-level tokenizer over made-up pieces (bench_ct2.py's), so the
replies are noise; every reply is forced to --new-tokens tokens (min = max new tokens) and
the prompt is one short query, so the runs compare decoding. Each client sends --requests
OpenAI chat completions back to back; the figures are over all of them:

- tokens/s: completion tokens of all replies / wall time of the run;
- ms/token p50: median over replies of (reply latency / its completion tokens);
- latency p50 / p90 of whole replies.

The last column is on / off (> 1: batching serves more tokens a second, or for latency,
< 1 is better). Usage (from the repository root, with the fixtures venv):

    cargo build --release -p chatplug-cli
    fixtures/.venv/bin/python bench/bench_batching.py [--size small] [--beams 1 3]
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ct2 import ct2_source  # noqa: E402
from bench_fid import SIZES, make_model  # noqa: E402
from common import prepare_run  # noqa: E402

QUERIES = ["你好", "今天天气怎么样", "你喜欢什么颜色", "推荐一本书吧", "周末去哪里玩", "你会做饭吗",
           "讲个笑话", "我有点累了", "你叫什么名字", "北京有什么好吃的", "怎么学好数学", "晚安"]


def config_text(workers: int, batch_rows: int, beams: int, new_tokens: int) -> str:
    # No rules, FAQ, skills or bad words: every query reaches the model.
    return f"""
use_hit_rule = false
use_faq = false
skills = []
core_chat_bad_words = ""

[core_chat_generate_config]
num_beams = {beams}
do_sample = false
min_new_tokens = {new_tokens}
max_new_tokens = {new_tokens}
repetition_penalty = 1.2
no_repeat_ngram_size = 6

[server]
workers = {workers}
batch_rows = {batch_rows}
queue_capacity = 64
request_timeout_s = 600.0
"""


class Server:
    def __init__(self, binary, model_dir, workdir, config, precision):
        cfg = workdir / "config.toml"
        cfg.write_text(config)
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--model", str(model_dir), "--config", str(cfg), "--bind", "127.0.0.1:0",
             "--data-dir", str(workdir / "data"), "--precision", precision],
            stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            if "listening on" in line:
                self.url = line.strip().split("listening on ")[1]
                break
        else:
            sys.exit(f"chatplug serve did not start (exit {self.proc.wait()})")
        # Keep draining stderr so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def ask(self, query: str):
        body = json.dumps({"model": "chatplug", "messages": [{"role": "user", "content": query}]}).encode()
        request = urllib.request.Request(self.url + "/v1/chat/completions", body, {"Content-Type": "application/json"})
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=900) as r:
            reply = json.loads(r.read())
        return time.perf_counter() - start, reply["usage"]["completion_tokens"]

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def run_clients(server: Server, clients: int, requests: int):
    results, errors = [], []

    def client(c):
        for r in range(requests):
            try:
                results.append(server.ask(QUERIES[(c * requests + r) % len(QUERIES)] + f" {c}-{r}"))
            except Exception as e:  # noqa: BLE001 — reported below, not hidden
                errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        sys.exit(f"{len(errors)} requests failed, e.g. {errors[0]}")
    tokens = sum(n for _, n in results)
    per_token = [latency / max(n, 1) * 1e3 for latency, n in results]
    latencies = sorted(latency for latency, _ in results)
    return {
        "clients": clients,
        "replies": len(results),
        "tokens": tokens,
        "tokens_per_s": tokens / wall,
        "ms_per_token_p50": statistics.median(per_token),
        "latency_s_p50": statistics.median(latencies),
        "latency_s_p90": latencies[min(len(latencies) - 1, round(0.9 * (len(latencies) - 1)))],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--precision", default="f32")
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 4, 16])
    parser.add_argument("--beams", type=int, nargs="*", default=[1, 3])
    parser.add_argument("--new-tokens", type=int, default=24)
    parser.add_argument("--requests", type=int, default=0,
                        help="requests per client (default: 8 / clients, at least 2)")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--binary", type=Path, default=Path("target/release/chatplug"))
    parser.add_argument("--json", action="store_true", help="also print all results as one JSON line")
    args = parser.parse_args()
    prepare_run(args)

    model_dir = ct2_source(make_model(args.out, args.size), args.out)
    rows = []
    for beams in args.beams:
        for clients in args.clients:
            requests = args.requests or max(2, 8 // clients)
            pair = {}
            for mode, batch_rows in (("off", 0), ("on", 32)):
                with tempfile.TemporaryDirectory() as tmp:
                    server = Server(args.binary, model_dir, Path(tmp),
                                    config_text(clients, batch_rows, beams, args.new_tokens), args.precision)
                    try:
                        server.ask("预热")  # first-touch of the weights, outside the timing
                        pair[mode] = run_clients(server, clients, requests)
                    finally:
                        server.close()
                pair[mode].update(beams=beams, batching=mode)
                rows.append(pair[mode])
            off, on = pair["off"], pair["on"]
            print(f"beams {beams}, {clients:>2} clients x {requests} replies of {args.new_tokens} tokens "
                  f"({args.size}, {args.precision})")
            print(f"  {'':<18}{'off':>10}{'on':>10}{'on/off':>9}")
            for key, name in (("tokens_per_s", "tokens/s"), ("ms_per_token_p50", "ms/token p50"),
                              ("latency_s_p50", "latency p50 (s)"), ("latency_s_p90", "latency p90 (s)")):
                print(f"  {name:<18}{off[key]:>10.2f}{on[key]:>10.2f}{on[key] / off[key]:>9.2f}")
            sys.stdout.flush()
    if args.json:
        print(json.dumps({"size": args.size, "precision": args.precision, "new_tokens": args.new_tokens,
                          "runs": rows}))


if __name__ == "__main__":
    main()
