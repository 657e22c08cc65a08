#!/usr/bin/env python3
"""FiD-T5 training benchmark: `chatplug train` (Rust) against the PyTorch reference loop.

Two random gated-gelu FiD-T5 models (about 15M and 40M parameters, vocab 8000, 4+4
layers) are trained for a few steps on a fixed synthetic tokenized dataset (every line 4
passages x 100 tokens, labels 32 tokens), batch 4, no shuffling, dropout 0, constant
learning rate, on --threads CPU threads.

PyTorch runs the reference loop of fixtures/make_train_golden.py (its `collate`,
`fid_loss` and `param_groups` are imported, not copied) with forward, backward and
optimizer (clip + AdamW) timed separately. chatplug runs

    chatplug train --init-config CONFIG --tokenizer fixtures/golden/tokenizer --train DATA
                   --out DIR --steps N --batch-size 4 --shuffle false --dropout 0
                   --schedule constant --threads T

and its DIR/train_log.jsonl (one `{"step","loss","lr","grad_norm","tokens","elapsed_s"}`
object per step, `elapsed_s` counted from the start of training) gives its step times.
Both engines run as child processes one after the other, so each reports its own peak
RSS. tokens = encoder non-pad tokens + label tokens of the step (computed here from the
dataset for both engines); tokens/s and step times are medians over the steps after the
first (the first step pays for warm-up).

Usage (from the repository root, with the fixtures venv of fixtures/README.md):
    cargo build --release -p chatplug-cli
    fixtures/.venv/bin/python bench/bench_train.py [--sizes 15m 40m] [--steps 6]
    fixtures/.venv/bin/python bench/bench_train.py --torch-only     # PyTorch half alone

Random weights and random token ids: the numbers say nothing about learning, only speed.
The two engines start from different random weights (chatplug initialises its own from
CONFIG, initializer_factor 0.1 included), so their losses are only comparable in size
(about ln(8000) = 9 at the start; a much larger chatplug loss means its init differs,
see COMMON_CONFIG). On a machine shared with other work single steps vary a lot (seen:
one AdamW step 0.15 s or 5 s); use more --steps there.
"""
import argparse
import importlib.util
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "fixtures" / "make_train_golden.py"
TOKENIZER = ROOT / "fixtures" / "golden" / "tokenizer"
TOKENIZER_VOCAB = 1600  # len(tokenizer) of fixtures/golden/tokenizer: the config's vocab must cover it

SIZES = {
    "15m": dict(d_model=256, d_kv=64, num_heads=4, d_ff=1280),
    "40m": dict(d_model=512, d_kv=64, num_heads=8, d_ff=1536),
}
# initializer_factor 0.1: HF's default init (factor 1) gives an untied model logits of std
# ~sqrt(d_model) and a first loss of ~64 instead of ~ln(vocab) = 9 (its AdamW state then
# holds ~1e5 float32 denormals; no slowdown from them was measurable on the shared test
# machine, but a realistic start avoids the question).  With 0.1 the first loss is ~9.0.
COMMON_CONFIG = dict(vocab_size=8000, num_layers=4, num_decoder_layers=4, feed_forward_proj="gated-gelu",
                     tie_word_embeddings=False, dropout_rate=0.0, pad_token_id=0, eos_token_id=1,
                     decoder_start_token_id=0, initializer_factor=0.1)
PASSAGES, PASSAGE_LEN, LABEL_LEN = 4, 100, 32
BATCH = 4
# Optimizer settings of the reference SFT (shared/reference: AdamW, clip 5); speed does not
# depend on them.
LR, BETAS, EPS, WEIGHT_DECAY, CLIP = 1e-4, (0.9, 0.999), 1e-6, 0.01, 5.0


def write_config(out: Path, size: str) -> Path:
    """A complete HF config.json (every T5Config field written by transformers)."""
    from transformers import T5Config

    config_dir = out / f"config-{size}"
    T5Config(**COMMON_CONFIG, **SIZES[size]).save_pretrained(config_dir)
    return config_dir / "config.json"


def write_data(out: Path, lines: int) -> Path:
    """Fixed synthetic dataset: ids in [3, 1600) (inside the tokenizer), EOS-terminated."""
    rng = random.Random(0)

    def seq(n):
        return [rng.randrange(3, TOKENIZER_VOCAB) for _ in range(n - 1)] + [1]

    path = out / f"data-{lines}.jsonl"
    path.write_text("".join(json.dumps({"input_ids": [seq(PASSAGE_LEN) for _ in range(PASSAGES)],
                                        "labels": seq(LABEL_LEN)}) + "\n" for _ in range(lines)))
    return path


def step_tokens(data_path: Path, steps: int):
    """Encoder non-pad + label tokens of each step (batches are consecutive lines, no shuffle)."""
    lines = [json.loads(l) for l in data_path.read_text().splitlines()]
    out = []
    for step in range(steps):
        batch = [lines[(step * BATCH + i) % len(lines)] for i in range(BATCH)]
        out.append(sum(sum(1 for t in p if t != 0) for l in batch for p in l["input_ids"])
                   + sum(len(l["labels"]) for l in batch))
    return out


def peak_rss_mib(rusage) -> float:
    return rusage.ru_maxrss / 1024.0  # KiB on Linux


def run_child(cmd, log_path: Path):
    """Runs a command, returns (stdout, its own peak RSS in MiB)."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
        stdout = proc.stdout.read()
        _, status, rusage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n"
                 f"{log_path.read_text()[-3000:]}")
    return stdout, peak_rss_mib(rusage)


# --------------------------------------------------------------------------------------
# PyTorch side (runs in a child process)
# --------------------------------------------------------------------------------------

def torch_worker(config_path: str, data_path: str, steps: int, threads: int):
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    spec = importlib.util.spec_from_file_location("make_train_golden", REFERENCE)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(T5Config.from_pretrained(config_path)).train()
    params = sum(p.numel() for p in model.parameters())
    data = [json.loads(l) for l in Path(data_path).read_text().splitlines()]
    optimizer = torch.optim.AdamW(ref.param_groups(model, WEIGHT_DECAY), lr=LR, betas=BETAS, eps=EPS)
    chunks = ref.micro_batches(len(data), BATCH)
    rows = []
    for step in range(1, steps + 1):
        indices = next(chunks)
        encoder_ids, labels, n = ref.collate([data[i] for i in indices])
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = ref.fid_loss(model, encoder_ids, labels, n)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        optimizer.step()
        t3 = time.perf_counter()
        rows.append({"step": step, "loss": loss.item(), "grad_norm": norm.item(), "forward_s": t1 - t0,
                     "backward_s": t2 - t1, "optimizer_s": t3 - t2, "step_s": t3 - t0})
    print(json.dumps({"params": params, "steps": rows}))


def run_torch(config: Path, data: Path, steps: int, threads: int, out: Path, size: str):
    stdout, rss = run_child([sys.executable, __file__, "--torch-worker", str(config), str(data),
                             "--steps", str(steps), "--threads", str(threads)], out / f"torch-{size}.log")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mib"] = rss
    return result


# --------------------------------------------------------------------------------------
# chatplug side
# --------------------------------------------------------------------------------------

def run_chatplug(binary: Path, config: Path, data: Path, steps: int, threads: int, out: Path, size: str):
    run_dir = out / f"chatplug-{size}"
    # `chatplug train` refuses to start a fresh run in a folder holding one.
    shutil.rmtree(run_dir, ignore_errors=True)
    cmd = [str(binary), "train", "--init-config", str(config), "--tokenizer", str(TOKENIZER),
           "--train", str(data), "--out", str(run_dir), "--steps", str(steps), "--batch-size", str(BATCH),
           "--shuffle", "false", "--dropout", "0", "--schedule", "constant", "--threads", str(threads)]
    _, rss = run_child(cmd, out / f"chatplug-{size}.log")
    log_path = run_dir / "train_log.jsonl"
    if not log_path.exists():
        sys.exit(f"{log_path} not written by: {' '.join(cmd)}")
    rows = []
    for number, line in enumerate(log_path.read_text().splitlines(), 1):
        try:
            row = json.loads(line)
            rows.append({"step": int(row["step"]), "loss": float(row["loss"]),
                         "grad_norm": float(row["grad_norm"]), "elapsed_s": float(row["elapsed_s"])})
        except (ValueError, KeyError, TypeError) as e:
            sys.exit(f"{log_path}:{number}: not a train_log line ({e}): {line[:200]}")
    if [r["step"] for r in rows] != list(range(1, steps + 1)):
        sys.exit(f"{log_path}: expected steps 1..{steps}, got {[r['step'] for r in rows]}")
    previous = 0.0
    for r in rows:  # elapsed_s is cumulative: a step's time is the difference
        r["step_s"] = r["elapsed_s"] - previous
        previous = r["elapsed_s"]
    return {"steps": rows, "peak_rss_mib": rss}


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------

def summarise(rows, tokens):
    """Medians over the steps after the first."""
    later = rows[1:] if len(rows) > 1 else rows
    out = {"tokens_per_s": statistics.median(tokens[r["step"] - 1] / r["step_s"] for r in later),
           "step_ms": statistics.median(r["step_s"] for r in later) * 1e3,
           "first_loss": rows[0]["loss"], "last_loss": rows[-1]["loss"]}
    for part in ("forward_s", "backward_s", "optimizer_s"):
        if part in rows[0]:
            out[part.replace("_s", "_ms")] = statistics.median(r[part] for r in later) * 1e3
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="+", choices=SIZES, default=list(SIZES))
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "train")
    p.add_argument("--chatplug", type=Path,
                   default=Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "chatplug")
    p.add_argument("--torch-only", action="store_true", help="run the PyTorch half alone")
    p.add_argument("--torch-worker", nargs=2, metavar=("CONFIG", "DATA"), help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.torch_worker:
        torch_worker(*args.torch_worker, args.steps, args.threads)
        return
    if args.steps < 2:
        sys.exit("--steps must be at least 2 (the first step is left out of the medians)")
    if not args.torch_only and not args.chatplug.exists():
        sys.exit(f"{args.chatplug} not found: run `cargo build --release -p chatplug-cli` first "
                 f"(or pass --chatplug, or --torch-only)")
    args.out.mkdir(parents=True, exist_ok=True)
    data = write_data(args.out, args.steps * BATCH)
    tokens = step_tokens(data, args.steps)

    results = {}
    for size in args.sizes:
        config = write_config(args.out, size)
        torch_result = run_torch(config, data, args.steps, args.threads, args.out, size)
        entry = {"params": torch_result["params"], "torch": summarise(torch_result["steps"], tokens),
                 "torch_peak_rss_mib": torch_result["peak_rss_mib"], "torch_steps": torch_result["steps"]}
        if not args.torch_only:
            ours = run_chatplug(args.chatplug, config, data, args.steps, args.threads, args.out, size)
            entry["chatplug"] = summarise(ours["steps"], tokens)
            entry["chatplug_peak_rss_mib"] = ours["peak_rss_mib"]
            entry["chatplug_steps"] = ours["steps"]
        results[size] = entry

    print(f"FiD-T5 training, batch {BATCH} x {PASSAGES} passages x {PASSAGE_LEN} tokens + {LABEL_LEN} label "
          f"tokens ({tokens[0]} tokens/step), {args.steps} steps, {args.threads} threads; "
          f"medians over steps 2..{args.steps}")
    header = f"{'model':<14}{'engine':<10}{'fwd ms':>9}{'bwd ms':>9}{'opt ms':>9}{'step ms':>10}" \
             f"{'tokens/s':>10}{'peak MiB':>10}{'loss 1st->last':>18}"
    print(header)
    for size, e in results.items():
        label = f"{size} ({e['params'] / 1e6:.1f}M)"
        t = e["torch"]
        print(f"{label:<14}{'pytorch':<10}{t['forward_ms']:>9.0f}{t['backward_ms']:>9.0f}{t['optimizer_ms']:>9.0f}"
              f"{t['step_ms']:>10.0f}{t['tokens_per_s']:>10.0f}{e['torch_peak_rss_mib']:>10.0f}"
              f"{t['first_loss']:>9.3f}->{t['last_loss']:.3f}")
        if "chatplug" in e:
            c = e["chatplug"]
            print(f"{'':<14}{'chatplug':<10}{'-':>9}{'-':>9}{'-':>9}{c['step_ms']:>10.0f}{c['tokens_per_s']:>10.0f}"
                  f"{e['chatplug_peak_rss_mib']:>10.0f}{c['first_loss']:>9.3f}->{c['last_loss']:.3f}")
            print(f"{'':<14}{'ratio':<10}{'':>27}{'':>10}{c['tokens_per_s'] / t['tokens_per_s']:>10.2f}"
                  f"   (chatplug tokens/s / pytorch tokens/s; > 1: chatplug faster)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
