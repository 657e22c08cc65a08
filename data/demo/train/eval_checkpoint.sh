#!/usr/bin/env bash
# Evaluates one checkpoint of the demo run on the held-out set, with and without
# knowledge, while the run goes on (issue 10): the checkpoint's weights plus the run's
# tokenizer make a model directory.
#   bash data/demo/train/eval_checkpoint.sh ~/chatplug-runs/demo/model/checkpoint-600 [DATA]
set -euo pipefail
cd "$(dirname "$0")/../../.."
CHECKPOINT="${1:?usage: eval_checkpoint.sh CHECKPOINT_DIR [DATA]}"
DATA="${2:-data/demo/eval/heldout.jsonl}"
BIN="${BIN:-target/release/chatplug}"
# The tokenizer files live in the run folder, beside the checkpoints.
TOKENIZER="${TOKENIZER:-$(dirname "$CHECKPOINT")}"
MODEL="$(mktemp -d)"
trap 'rm -rf "$MODEL"' EXIT
cp "$CHECKPOINT"/{config.json,model.safetensors} "$MODEL/"
cp "$TOKENIZER"/{spiece.model,tokenizer_config.json,special_tokens_map.json} "$MODEL/"
# The shipped model's decoding defaults (max_repeat_run), so checkpoints compare with it.
cp models/chatplug-demo/generation_config.json "$MODEL/"
OUT="${OUT:-$CHECKPOINT}"
"$BIN" eval --model "$MODEL" --data "$DATA" --out "$OUT/eval_heldout.jsonl" | tail -1 > "$OUT/eval_heldout.json"
"$BIN" eval --model "$MODEL" --data "$DATA" --no-knowledge --out "$OUT/eval_heldout_noknowledge.jsonl" | tail -1 > "$OUT/eval_heldout_noknowledge.json"
python3 - "$OUT/eval_heldout.json" "$OUT/eval_heldout_noknowledge.json" <<'PY'
import json, sys
for path in sys.argv[1:]:
    s = json.load(open(path))
    print(path.rsplit("/", 1)[-1])
    keys = ["items", "bleu1", "rouge_l", "f1", "distinct2", "knowledge_f1", "answer_hit", "reply_len"]
    print("  all: " + ", ".join(f"{k}={s[k]:.3f}" if isinstance(s.get(k), float) else f"{k}={s.get(k)}" for k in keys))
    for cat, c in sorted(s.get("by_category", {}).items()):
        print(f"  {cat}: " + ", ".join(f"{k}={c[k]:.3f}" for k in ["answer_hit", "f1", "distinct2"] if isinstance(c.get(k), float)))
PY
