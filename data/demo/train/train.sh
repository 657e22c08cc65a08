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

# 3. Copying first. Trained on the instruction mix from the start (the first curriculum,
#    curriculum.toml then continue.toml: ~/chatplug-runs/demo/model, model-2) the model learnt
#    every reply's *form* and never copied a value from the passages (RUNS.md). So the
#    demo architecture first learns to copy from the right passage on short inputs with
#    long copied replies (the speaker probe: copy_probe_dialogue.py), then on harder copy
#    questions (continue-widen*.toml), and only then the skills (continue-mix.toml).
#    mimalloc keeps freed memory (about 15 % faster steps measured). A run's final
#    model.safetensors marks it done; until then --resume continues it.
export MIMALLOC_PURGE_DELAY=-1
python3 data/demo/train/copy_probe_dialogue.py speaker data/demo/build/probe-speaker --demo-size > /dev/null
# run STAGE DIR ARGS...: trains DIR unless it is done, resuming it when it was started.
run() {
    local dir="$1"; shift
    [ -f "$dir/model.safetensors" ] && return 0
    if [ -f "$dir/train_log.jsonl" ]; then "$BIN" train --resume "$dir"; else "$BIN" train "$@" --out "$dir"; fi
}
# 3a. The speaker probe from scratch: 500 steps of 32 examples, lr 7e-4 constant
#     (probe-10m; it was started with --steps 3000 and stopped at step 500, which a
#     constant schedule makes the same run).
run "$RUN/probe-10m" --init-config data/demo/train/model_config.json --tokenizer "$RUN/tokenizer" \
    --train data/demo/build/probe-speaker/train.jsonl --format dialogue \
    --valid data/demo/build/probe-speaker/valid.jsonl --valid-format dialogue \
    --steps 500 --batch-size 32 --lr 7e-4 --schedule constant --warmup-steps 20 --dropout 0 \
    --eval-every 100 --save-every 500 --max-encoder-length 192 --threads 2
# 3b. Widening: 600 + 300 steps of the warm-up copy questions with the probe's data; then
#     800 with the relative position bias learning 30x faster (model-9c). The model chose
#     the right passage's characters but not their order: no encoder head looked at the
#     previous character. Seeding one (head 0, offset -1) and a next-character head (head
#     1, offset +1) with a bias of 8 taught it the order in 500 steps (model-9d; RUNS.md).
run "$RUN/model-9" --config data/demo/train/continue-widen.toml --model "$RUN/probe-10m"
run "$RUN/model-9b" --config data/demo/train/continue-widen-2.toml --model "$RUN/model-9"
run "$RUN/model-9c" --config data/demo/train/continue-widen-3.toml --model "$RUN/model-9b"
# (numpy and safetensors: the fixtures venv, fixtures/README.md)
[ -f "$RUN/start-9d/model.safetensors" ] || \
    "${FIXTURES_PYTHON:-fixtures/.venv/bin/python}" data/demo/train/seed_position_heads.py "$RUN/model-9c" "$RUN/start-9d"
run "$RUN/model-9d" --config data/demo/train/continue-widen-4.toml --model "$RUN/start-9d"
# 3c. The skills: the instruction mix with the copy questions kept in.
run "$RUN/model-10" --config data/demo/train/continue-mix.toml --model "$RUN/model-9d"
# model-11 was stopped at step 800 (continue-mix-2.toml now says 800 steps; constant rate,
# so the same run); once start-12 exists it is not needed again.
[ -f "$RUN/start-12/model.safetensors" ] || \
    run "$RUN/model-11" --config data/demo/train/continue-mix-2.toml --model "$RUN/model-10"
# 3d. The skills on invented values (sft_fresh_train.jsonl), from model-11's step 800
#     (model-11 itself was stopped there: on the fixed-value mix it recalled, not copied).
if [ ! -f "$RUN/start-12/model.safetensors" ]; then
    mkdir -p "$RUN/start-12"
    cp "$RUN/model-11/checkpoint-800/"{config.json,model.safetensors} "$RUN/start-12/"
    cp "$RUN/model-11/"{spiece.model,tokenizer_config.json,special_tokens_map.json} "$RUN/start-12/"
fi
run "$RUN/model-12" --config data/demo/train/continue-fresh.toml --model "$RUN/start-12"

# 4. Evaluate (any checkpoint too: data/demo/train/eval_checkpoint.sh DIR), then ship:
#    models/chatplug-demo/ (f16 weights, tokenizer, config).
#    chatplug eval --model "$RUN/model-12" --data data/demo/eval/heldout.jsonl
#    chatplug eval --model "$RUN/model-12" --data data/demo/eval/heldout.jsonl --no-knowledge
mkdir -p models/chatplug-demo
cp "$RUN/model-12/"{config.json,model.safetensors,spiece.model,tokenizer_config.json,special_tokens_map.json} models/chatplug-demo/
