"""Load test for `chatplug serve`: many concurrent clients on loopback for a bounded
time, each sending OpenAI chat completions (or native /v1/chat requests) back to back.

Reports throughput (answered requests per second), p50/p90/p99 latency of answered
requests, how many got 429 (queue full: the client waits --backoff seconds and goes
on) and every other failure (an error status, a broken connection, a malformed reply),
which a healthy server must not produce.

    python3 bench/load_test.py --url http://127.0.0.1:8080 --clients 32 --duration 30

`--api mixed` is the soak mode: each request is, in turn, an OpenAI completion, an
OpenAI stream read to `[DONE]`, a native stream read to its `done` event, and a native
stream the client abandons after the first event (a cancellation). `--pid` samples the
server's resident memory (Linux /proc) every second; the result then has its value
after the first tenth of the run, at the end and at most.

    python3 bench/load_test.py --url http://127.0.0.1:8080 --api mixed --clients 16 \
        --duration 600 --pid "$(pgrep -f 'chatplug serve')" --json

Needs `httpx` (installed with the pinned `openai` package by .ci/setup). Prints a
summary and, with --json, one JSON object on the last line.
"""

import argparse
import asyncio
import json
import statistics
import time

import httpx

QUERIES = ["你好", "今天天气怎么样", "你喜欢什么颜色", "推荐一本书吧", "周末去哪里玩", "你会做饭吗",
           "讲个笑话", "我有点累了", "你叫什么名字", "北京有什么好吃的", "怎么学好数学", "晚安"]


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


KINDS = ("openai", "openai-stream", "native-stream", "cancel")


async def streamed(http, path, body, kind, stats):
    """One streamed request; `cancel` closes the connection after the first event."""
    async with http.stream("POST", path, json=body) as r:
        if r.status_code != 200:
            return r.status_code, (await r.aread()).decode("utf-8", "replace")
        events = 0
        finished = False
        name = "message"
        async for line in r.aiter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
                continue
            if not line.startswith("data:"):
                continue
            events += 1
            if kind == "cancel":
                stats["cancelled"] += 1
                return 200, ""
            payload = line[5:].strip()
            if name == "error" or (payload.startswith("{") and "error" in json.loads(payload)):
                return 500, payload
            if payload == "[DONE]" or name == "done":
                finished = True
            name = "message"
        if not finished:
            raise ValueError(f"{kind}: the stream ended without its end after {events} events")
        return 200, ""


def request_for(args, kind, query):
    """The path and body of one request of `kind` (openai, openai-stream, native,
    native-stream, cancel)."""
    if kind.startswith("openai"):
        return "/v1/chat/completions", {"model": "chatplug", "messages": [{"role": "user", "content": query}],
                                        "max_tokens": args.max_tokens, "temperature": 0,
                                        "stream": kind == "openai-stream"}
    return "/v1/chat", {"query": query, "stream": kind != "native",
                        "generation": {"num_beams": 1, "max_new_tokens": args.max_tokens}}


async def send(http, kind, path, body, stats):
    """(status, body text); a 200 whose reply is malformed raises."""
    if kind not in ("openai", "native"):
        return await streamed(http, path, body, kind, stats)
    r = await http.post(path, json=body)
    if r.status_code == 200:
        reply = r.json()
        text = reply["choices"][0]["message"]["content"] if kind == "openai" else reply["response"]
        if not isinstance(text, str):
            raise ValueError(f"malformed reply: {reply}")
    return r.status_code, r.text


async def client_loop(http, args, index, deadline, stats):
    n = index
    while time.monotonic() < deadline:
        query = QUERIES[n % len(QUERIES)] + str(n % 7)
        n += args.clients
        kind = KINDS[(n // args.clients) % len(KINDS)] if args.api == "mixed" else args.api
        path, body = request_for(args, kind, query)
        start = time.monotonic()
        try:
            status, text = await send(http, kind, path, body, stats)
            if status == 200:
                stats["latencies"].append(time.monotonic() - start)
            elif status == 429 and json.loads(text)["error"]["type"] == "rate_limit_error":
                stats["rejected"] += 1
                await asyncio.sleep(args.backoff)
            else:
                stats["errors"].append(f"{kind}: HTTP {status}: {text[:200]}")
        except Exception as e:  # noqa: BLE001 - every failure is counted and reported
            stats["errors"].append(f"{kind}: {type(e).__name__}: {e}")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


async def sample_rss(pid, start, deadline, samples):
    while time.monotonic() < deadline:
        samples.append((time.monotonic() - start, rss_mib(pid)))
        await asyncio.sleep(1.0)


async def run(args):
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    stats = {"latencies": [], "rejected": 0, "errors": [], "cancelled": 0}
    samples = []
    async with httpx.AsyncClient(base_url=args.url, headers=headers, timeout=args.timeout, limits=limits) as http:
        start = time.monotonic()
        deadline = start + args.duration
        tasks = [client_loop(http, args, i, deadline, stats) for i in range(args.clients)]
        if args.pid:
            tasks.append(sample_rss(args.pid, start, deadline, samples))
        await asyncio.gather(*tasks)
        wall = time.monotonic() - start
    lat = stats["latencies"]
    rss = {}
    if samples:
        settled = [m for t, m in samples if t >= args.duration / 10] or [samples[-1][1]]
        rss = {"rss_settled_mib": round(settled[0], 1), "rss_end_mib": round(samples[-1][1], 1),
               "rss_max_mib": round(max(m for _, m in samples), 1)}
    return {
        "clients": args.clients,
        "duration_s": round(wall, 2),
        "answered": len(lat),
        "rejected_429": stats["rejected"],
        "errors": len(stats["errors"]),
        "error_samples": stats["errors"][:5],
        "throughput_rps": round(len(lat) / wall, 2) if wall else 0.0,
        "latency_p50_ms": round(percentile(lat, 50) * 1000, 1) if lat else None,
        "latency_p90_ms": round(percentile(lat, 90) * 1000, 1) if lat else None,
        "latency_p99_ms": round(percentile(lat, 99) * 1000, 1) if lat else None,
        "latency_mean_ms": round(statistics.mean(lat) * 1000, 1) if lat else None,
        "cancelled": stats["cancelled"],
        **rss,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--duration", type=float, default=30.0, help="seconds")
    p.add_argument("--max-tokens", type=int, default=16)
    p.add_argument("--api", choices=["openai", "native", "mixed"], default="openai")
    p.add_argument("--pid", type=int, default=0, help="the server's process id, to sample its resident memory")
    p.add_argument("--api-key", default="")
    p.add_argument("--backoff", type=float, default=0.05, help="seconds a client waits after a 429")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--json", action="store_true", help="print the result as JSON on the last line")
    args = p.parse_args()
    result = asyncio.run(run(args))
    print(f"{result['clients']} clients, {result['duration_s']} s: {result['answered']} answered "
          f"({result['throughput_rps']}/s), {result['rejected_429']} rejected with 429, {result['errors']} errors")
    print(f"latency of answered requests: p50 {result['latency_p50_ms']} ms, p90 {result['latency_p90_ms']} ms, "
          f"p99 {result['latency_p99_ms']} ms")
    if "rss_end_mib" in result:
        print(f"server memory: {result['rss_settled_mib']} MiB after the first tenth, {result['rss_end_mib']} MiB "
              f"at the end, {result['rss_max_mib']} MiB at most; {result['cancelled']} streams cancelled")
    for e in result["error_samples"]:
        print("error:", e)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
