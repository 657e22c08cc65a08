"""What the engine benchmarks share: medians, child-process JSON, and the ratio table."""
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


def median_ms(repeats, fn):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def add_engine_arguments(parser, repeats):
    """The options every engine benchmark takes: repeats, beam widths, output folder and
    the chatplug binary."""
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--beams", type=int, nargs="*", default=[3])
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--binary", type=Path,
                        default=Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "release/chatplug")


def prepare_run(args):
    """Stops with a clear message when the binary is missing; creates the output folder."""
    if not args.binary.exists():
        sys.exit(f"{args.binary} not found: run `cargo build --release -p chatplug-cli` first (or pass --binary)")
    args.out.mkdir(parents=True, exist_ok=True)


def run_json(cmd):
    """Runs a benchmark child and returns the JSON object on its last output line."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"command failed: {' '.join(map(str, cmd))}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_table(reference_name, ref, ours):
    """Rows of reference / chatplug figures and their ratio (> 1: chatplug is faster)."""
    print(f"{'measure':<28}{reference_name:>18}{'chatplug':>12}{'ratio':>10}")

    def row(name, a, b):
        print(f"{name:<28}{a:>18.1f}{b:>12.1f}{a / b:>10.2f}")

    row("encoder (ms)", ref["encoder_ms"], ours["encoder_ms"])
    for name in ref["decode"]:
        row(f"{name} per token (ms)", ref["decode"][name]["per_token_ms"], ours["decode"][name]["per_token_ms"])
        row(f"{name} total (ms)", ref["decode"][name]["total_ms"], ours["decode"][name]["total_ms"])
    if ref.get("loaded_rss_mib") and ours.get("loaded_rss_mib"):
        row("RSS once loaded (MiB)", ref["loaded_rss_mib"], ours["loaded_rss_mib"])
    row("peak RSS (MiB)", ref["peak_rss_mib"], ours["peak_rss_mib"])
    row("load (s)", ref["load_s"], ours["load_s"])
