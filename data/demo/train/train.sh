#!/usr/bin/env bash
# Rebuilds the demo model from the repository and the package registries (issue 10):
# data, tokenizer, curriculum. Long: run it in the background; it resumes where it
# stopped when started again (the run's checkpoints live in $RUN, outside git).
#   bash data/demo/train/train.sh            # RUN defaults to ~/chatplug-runs/demo
set -euo pipefail
cd "$(dirname "$0")/../../.."
RUN="${RUN:-$HOME/chatplug-runs/demo}"
BIN="${BIN:-target/release/chatplug}"
mkdir -p "$RUN"

# 1. Data (deterministic: the same bytes on every run).
[ -d data/demo/build/vendor ] || bash data/demo/fetch_packages.sh
[ -f data/demo/build/sft_train.jsonl ] || python3 data/demo/build.py
python3 data/demo/check_heldout.py

# 2. The tokenizer: 8000 pieces (7635 of them single characters), every character kept.
if [ ! -f "$RUN/tokenizer/spiece.model" ]; then
    "$BIN" tokenizer train --input data/demo/build/tokenizer_corpus.txt --out "$RUN/tokenizer" \
        --vocab-size 8000 --character-coverage 1.0
fi

# 3. The path to the current model (RUNS.md has every run, including the abandoned
#    copy-first lineage probe-10m → model-9* → model-10/11/12, which copied random strings
#    but stopped reading the question).
#    mimalloc keeps freed memory (about 15 % faster steps measured). A run's final
#    model.safetensors marks it done; until then --resume continues it.
export MIMALLOC_PURGE_DELAY=-1
# run DIR ARGS...: trains DIR unless it is done, resuming it when it was started.
run() {
    local dir="$1"; shift
    [ -f "$dir/model.safetensors" ] && return 0
    if [ -f "$dir/train_log.jsonl" ]; then "$BIN" train --resume "$dir"; else "$BIN" train "$@" --out "$dir"; fi
}
# run_until STEP DIR ARGS...: as run, but stops once DIR/checkpoint-STEP is written (runs
# that were stopped by hand part-way through a one-cycle schedule).
run_until() {
    local step="$1" dir="$2"; shift 2
    [ -d "$dir/checkpoint-$step" ] && return 0
    run "$dir" "$@" &
    local pid=$!
    while [ ! -d "$dir/checkpoint-$step" ] && kill -0 "$pid" 2>/dev/null; do sleep 10; done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ -d "$dir/checkpoint-$step" ]
}
# 3a. Pre-training and the main instruction mix (curriculum.toml: 100 + 1000 steps), then
#     continue.toml, stopped at step 2800: reply forms chosen from the question, values
#     from the prior (RUNS.md, 2026-11-29).
run "$RUN/model" --config data/demo/train/curriculum.toml --tokenizer "$RUN/tokenizer"
run_until 2800 "$RUN/model-2" --config data/demo/train/continue.toml --model "$RUN/model"
# 3b. A previous-character head (head 0, offset -1) and a next-character head (head 1,
#     offset +1) seeded in the encoder's position table (seed_position_heads.py; the
#     fixtures venv has numpy and safetensors, fixtures/README.md).
if [ ! -f "$RUN/start-13/model.safetensors" ]; then
    mkdir -p "$RUN/start-13-in"
    cp "$RUN/model-2/checkpoint-2800/"{config.json,model.safetensors} "$RUN/start-13-in/"
    cp "$RUN/model-2/"{spiece.model,tokenizer_config.json,special_tokens_map.json} "$RUN/start-13-in/"
    "${FIXTURES_PYTHON:-fixtures/.venv/bin/python}" data/demo/train/seed_position_heads.py "$RUN/start-13-in" "$RUN/start-13"
fi
# 3c. Persona and memory on invented values, with the copy warm-up (200 steps).
#     (This machine's pm13 was started for 2000 steps and stopped after 200; model-16
#     started from its checkpoint-200, so pm13 is not resumed once model-16 exists.)
[ -f "$RUN/model-16/train_log.jsonl" ] || \
    run "$RUN/pm13" --config data/demo/train/persona-memory.toml --model "$RUN/start-13"
# 3d. Quoting replies about invented entities with the rest of the fresh mix.
run "$RUN/model-16" --config data/demo/train/continue-fresh-quote.toml --model "$RUN/pm13"

# 4. Evaluate (any checkpoint too: data/demo/train/eval_checkpoint.sh DIR), then ship:
#    models/chatplug-demo/ (f16 weights, tokenizer, config).
#    chatplug eval --model "$RUN/model-16" --data data/demo/eval/heldout.jsonl
#    chatplug eval --model "$RUN/model-16" --data data/demo/eval/heldout.jsonl --no-knowledge
mkdir -p models/chatplug-demo
cp "$RUN/model-16/"{config.json,model.safetensors,spiece.model,tokenizer_config.json,special_tokens_map.json} models/chatplug-demo/
