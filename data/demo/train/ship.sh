#!/usr/bin/env bash
# Puts a trained model or one checkpoint of a run in models/chatplug-demo, the model
# chat, serve and eval load by default (issue 10): config.json, the weights in f16 and
# the run's tokenizer files. The model card (models/chatplug-demo/README.md) is written by
# hand: it says which run and step this is and what it scores.
#   bash data/demo/train/ship.sh ~/chatplug-runs/demo/continued/checkpoint-3000
set -euo pipefail
cd "$(dirname "$0")/../../.."
SRC="${1:?usage: ship.sh MODEL_OR_CHECKPOINT_DIR}"
DEST=models/chatplug-demo
# A checkpoint folder holds the weights; its run folder holds the tokenizer.
TOKENIZER="$SRC"
[ -f "$SRC/spiece.model" ] || TOKENIZER="$(dirname "$SRC")"
for f in "$SRC/config.json" "$SRC/model.safetensors" "$TOKENIZER/spiece.model" \
         "$TOKENIZER/tokenizer_config.json" "$TOKENIZER/special_tokens_map.json"; do
    [ -f "$f" ] || { echo "ship.sh: $f is missing" >&2; exit 1; }
done
# Checkpoints hold f32 weights (exact resumption); the shipped copy is f16 (the run's
# save_dtype), refused when a value would not fit f16, and must be small enough for git.
mkdir -p "$DEST"
python3 - "$SRC/model.safetensors" "$DEST/model.safetensors" <<'PY'
import os, sys
import numpy as np
from safetensors.numpy import load_file, save_file
src, dest = sys.argv[1:]
out = {}
for name, t in load_file(src).items():
    if t.dtype == np.float32:
        big = float(np.abs(t).max()) if t.size else 0.0
        if big > 60000:
            sys.exit(f"ship.sh: {src}: tensor {name} reaches {big}, beyond f16")
        t = t.astype(np.float16)
    if t.dtype != np.float16:
        sys.exit(f"ship.sh: {src}: tensor {name} is {t.dtype}, not f32 or f16")
    out[name] = t
save_file(out, dest, metadata={"format": "pt"})
size = os.path.getsize(dest)
if size > 80 * 1024 * 1024:
    os.remove(dest)
    sys.exit(f"ship.sh: {dest} would be {size} bytes, over 80 MiB")
print(f"{dest}: {len(out)} tensors, f16, {size / 1e6:.1f} MB")
PY
cp "$SRC/config.json" "$DEST/"
cp "$TOKENIZER/spiece.model" "$TOKENIZER/tokenizer_config.json" "$TOKENIZER/special_tokens_map.json" "$DEST/"
echo "shipped $SRC to $DEST; update $DEST/README.md (run, step, eval tables)"
