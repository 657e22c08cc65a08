#!/usr/bin/env bash
# Rebuilds the demo model from the repository and the package registries (issue 10):
# data, tokenizer, curriculum. Long: run it in the background; it resumes where it
# stopped when started again (the run's checkpoints live in $RUN, outside git).
#   bash data/demo/train/train.sh            # RUN defaults to ~/chatplug-runs/demo
# When models/chatplug-demo exists, the run continues the shipped model (the machines
# are wiped between sessions, so the shipped weights carry a run from one session to the
# next); FROM_SCRATCH=1 rebuilds it from a fresh model instead. ship.sh puts a
# checkpoint in models/chatplug-demo.
set -euo pipefail
cd "$(dirname "$0")/../../.."
RUN="${RUN:-$HOME/chatplug-runs/demo}"
BIN="${BIN:-target/release/chatplug}"
mkdir -p "$RUN"

# 1. Data (deterministic: the same bytes on every run).
[ -d data/demo/build/vendor ] || bash data/demo/fetch_packages.sh
[ -f data/demo/build/sft_train.jsonl ] || python3 data/demo/build.py
python3 data/demo/check_heldout.py

# mimalloc keeps freed memory (about 15 % faster steps measured). A run's final
# model.safetensors marks it done; until then --resume continues it.
export MIMALLOC_PURGE_DELAY=-1
# run DIR ARGS...: trains DIR unless it is done, resuming it when it was started; a DIR
# that is neither (no log) is refused rather than trained over.
run() {
    local dir="$1"; shift
    [ -f "$dir/model.safetensors" ] && return 0
    if [ -f "$dir/train_log.jsonl" ]; then "$BIN" train --resume "$dir"; return; fi
    [ -e "$dir" ] && { echo "$dir exists without a training log; remove it" >&2; return 1; }
    "$BIN" train "$@" --out "$dir"
}

# 2-3. Continue the shipped model on the mix with more chit-chat, the built-up persona
#    wordings and the names of wide characters (continue-wide-3.toml: the rate warms up to
#    3e-4 and falls linearly to 0 over 3000 steps), with its own tokenizer. SEED picks the
#    order of the examples (a new one each session; the model card lists them). Then
#    evaluate and ship by hand (step 4).
if [ -f models/chatplug-demo/model.safetensors ] && [ -z "${FROM_SCRATCH:-}" ]; then
    run "$RUN/continued" --config data/demo/train/continue-wide-3.toml --model models/chatplug-demo \
        --seed "${SEED:-$(date +%Y%m%d)}"
    exit 0
fi

# 2. The tokenizer: 8000 pieces (7635 of them single characters), every character kept.
if [ ! -f "$RUN/tokenizer/spiece.model" ]; then
    "$BIN" tokenizer train --input data/demo/build/tokenizer_corpus.txt --out "$RUN/tokenizer" \
        --vocab-size 8000 --character-coverage 1.0
fi

# 3. The path to the current model: a fresh model with a copy circuit wired in before its
#    first step (wire_copy_circuit.py), then the instruction mix (wired.toml). Earlier paths
#    (the curriculum lineage model → model-2 → model-16, and the copy-first lineage) never
#    copied a value on the held-out set; RUNS.md has them all.
# 3a. Fresh weights: one step at a learning rate of 1e-9 writes the initialised model.
if [ ! -f "$RUN/init/model.safetensors" ]; then
    "$BIN" train --init-config data/demo/train/model_config.json --tokenizer "$RUN/tokenizer" \
        --train data/demo/build/sft_fresh_quote.jsonl --format dialogue --steps 1 --lr 1e-9 \
        --batch-size 2 --max-encoder-length 192 --out "$RUN/init"
fi
# 3b. The copy circuit (the fixtures venv has numpy and safetensors, fixtures/README.md).
if [ ! -f "$RUN/start-w/model.safetensors" ]; then
    "${FIXTURES_PYTHON:-fixtures/.venv/bin/python}" data/demo/train/wire_copy_circuit.py "$RUN/init" "$RUN/start-w"
fi
# 3c. The instruction mix with invented values, the main mix beside it: 2000 steps at a
#     constant rate, then the anneal from the last checkpoint (f32) to a rate of 0.
run "$RUN/wired" --config data/demo/train/wired.toml --model "$RUN/start-w"
run "$RUN/anneal" --config data/demo/train/anneal.toml --model "$RUN/wired/checkpoint-2000" \
    --tokenizer "$RUN/tokenizer"

# 4. Evaluate (any checkpoint too: data/demo/train/eval_checkpoint.sh DIR), then ship
#    one (f16 weights, tokenizer, config): data/demo/train/ship.sh DIR.
#    python3 data/demo/train/card_tables.py --model "$RUN/anneal" (the model card's tables)
bash data/demo/train/ship.sh "$RUN/anneal"
