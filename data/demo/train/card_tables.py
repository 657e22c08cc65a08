#!/usr/bin/env python3
"""Prints the demo model card's evaluation tables (issue 10): `chatplug eval` of one model
on the held-out set and on the second knowledge set, with and without knowledge, per
precision, in the default configuration.

    python3 data/demo/train/card_tables.py [--model models/chatplug-demo] \
        [--bin target/release/chatplug] [--precision f32 --precision int8 ...]

Markdown on standard output; each eval's summary line is kept in --out (default: a
temporary folder) as `SET-KNOWLEDGE-PRECISION.json`.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SETS = {
    "heldout": "data/demo/eval/heldout.jsonl",
    "knowledge_b": "data/demo/eval/knowledge_b.jsonl",
}
CATEGORIES = ["knowledge", "knowledge_absent", "persona", "memory", "empathy", "chitchat"]
COLUMNS = ["items", "answer_hit", "f1", "rouge_l", "bleu1", "bleu4", "knowledge_f1", "distinct1", "distinct2",
           "reply_len", "latency_ms_p50", "latency_ms_p90"]


def run_eval(binary, model, data, no_knowledge, precision, out_dir):
    name = f"{Path(data).stem}-{'without' if no_knowledge else 'with'}-{precision}"
    cmd = [binary, "eval", "--model", model, "--data", data, "--precision", precision,
           "--out", str(out_dir / f"{name}.predictions.jsonl")]
    if no_knowledge:
        cmd.append("--no-knowledge")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATPLUG_")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    (out_dir / f"{name}.json").write_text(json.dumps(summary, ensure_ascii=False) + "\n")
    return summary


def cell(value, key):
    if value is None:
        return "–"
    if key == "items":
        return str(value)
    if key == "reply_len":
        return f"{value:.1f}"
    if key.startswith("latency"):
        return f"{value:.0f}"
    return f"{value:.3f}"


def table(title, rows):
    """rows: (label, metrics dict)."""
    lines = [f"**{title}**", "", "| | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for label, m in rows:
        lines.append(f"| {label} | " + " | ".join(cell(m.get(k), k) for k in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="models/chatplug-demo")
    ap.add_argument("--bin", default=str(ROOT / "target/release/chatplug"))
    ap.add_argument("--precision", action="append")
    ap.add_argument("--out")
    args = ap.parse_args()
    precisions = args.precision or ["f32"]
    out_dir = Path(args.out or tempfile.mkdtemp(prefix="card-"))
    out_dir.mkdir(parents=True, exist_ok=True)

    for precision in precisions:
        for set_name, data in SETS.items():
            rows = []
            for no_knowledge in (False, True):
                s = run_eval(args.bin, args.model, data, no_knowledge, precision, out_dir)
                tag = "without knowledge" if no_knowledge else "with knowledge"
                for cat in CATEGORIES:
                    if cat in s.get("by_category", {}):
                        if no_knowledge and cat not in ("knowledge", "knowledge_absent"):
                            continue  # only the knowledge categories change without knowledge
                        rows.append((f"{cat}, {tag}", s["by_category"][cat]))
                if not no_knowledge:
                    rows.append((f"all, {tag}", s))
            print(table(f"{set_name} ({data}), {precision}", rows))
    print(f"(summaries in {out_dir})", file=sys.stderr)


if __name__ == "__main__":
    main()
