#!/usr/bin/env python3
"""FiD-PLUG benchmark: chatplug (Rust) against ModelScope's own implementation (PyTorch) on
the same random ChatPLUG-240M-shaped model.

The model has ChatPLUG-240M's shape (BERT-base-chinese encoder: 12 layers, hidden 768,
12 heads, ff 3072, vocab 21128, 10 token types; PALM decoder: 12 layers, 8 heads, ff 3072),
random weights, saved as ModelScope ships the model. A request of 6 passages x 300 tokens
(ModelScope's default max_encoder_length) decodes 30 tokens with the reference's
`translate` (greedy and beam 3; `[SEP]` forbidden until the last step so both engines make
every step). Both run as child processes, one after the other. Figures are medians of
--repeats runs; the last column is reference time / chatplug time (> 1: chatplug faster).

Usage (from the repository root, with the fixtures venv plus requirements-plug.txt):
    cargo build --release -p chatplug-cli
    fixtures/.venv/bin/python bench/bench_plug.py [--size 240m|tiny] [--repeats 3]

Random weights: the numbers say nothing about reply quality, only about speed.
"""
import argparse
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_engine_arguments, median_ms, prepare_run, print_table, run_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZES = {
    "240m": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                 dec_layers=12, dec_hidden_size=768, dec_heads=8, dec_ff_size=3072),
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                 dec_layers=2, dec_hidden_size=64, dec_heads=4, dec_ff_size=128),
}


def make_model(out: Path, size: str) -> Path:
    import torch
    from modelscope.models.nlp.fid_plug.backbone import PlugForConditionalGeneration
    from modelscope.models.nlp.fid_plug.configuration import PlugConfig

    model_dir = out / f"plug-{size}-random"
    if (model_dir / "pytorch_model.bin").exists():
        return model_dir
    model_dir.mkdir(parents=True, exist_ok=True)
    config = dict(model_type="plug", encoder="zh_bert", encoder_pth=".", vocab_size=21128, hidden_act="gelu",
                  max_position_embeddings=512, type_vocab_size=10, layer_norm_eps=1e-12, pad_token_id=0,
                  hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, dec_dropout=0.0, max_pos=512,
                  share_emb=False, use_bert_emb=True, label_smoothing=0.1, block_trigram=False, **SIZES[size])
    (model_dir / "config.json").write_text(json.dumps(config, indent=2))
    (model_dir / "configuration.json").write_text(json.dumps({"framework": "pytorch", "task": "fid-dialogue",
                                                              "model": {"type": "fid-plug"}}))
    shutil.copy(ROOT / "fixtures/golden/plug_tokenizer/vocab.txt", model_dir / "vocab.txt")
    cwd = os.getcwd()
    os.chdir(model_dir)
    try:
        torch.manual_seed(0)
        plug = PlugForConditionalGeneration(PlugConfig.from_json_file("config.json")).plug
        state = {k: v for k, v in plug.state_dict().items() if not k.endswith(".mask")}
        torch.save(state, "pytorch_model.bin")
    finally:
        os.chdir(cwd)
    return model_dir


def make_request(out: Path, passages: int, length: int, new_tokens: int) -> Path:
    import random

    rng = random.Random(0)
    ids = [[101] + [rng.randrange(104, 21128) for _ in range(length - 2)] + [102] for _ in range(passages)]
    path = out / f"plug-request-{passages}x{length}-{new_tokens}.json"
    path.write_text(json.dumps({"input_ids": ids, "new_tokens": new_tokens}))
    return path


def reference_worker(model_dir: str, request_path: str, repeats: int, beams: list):
    """Runs inside a child process: times ModelScope's PlugV2FidChat and prints JSON."""
    import torch
    from modelscope.models.nlp.fid_plug.text_generation import PlugV2FidChat

    torch.set_num_threads(os.cpu_count())
    os.chdir(model_dir)
    started = time.perf_counter()
    model = PlugV2FidChat(model_dir).eval()
    load_s = time.perf_counter() - started
    request = json.loads(Path(request_path).read_text())
    ids = torch.tensor([request["input_ids"]])
    new_tokens = request["new_tokens"]
    n = ids.shape[1]
    flat = ids.view(1, -1)
    bert = model.backbone.plug.bert

    def encode():
        bert.set_n_passages(n)
        bert(flat, flat.ne(0).long())

    with torch.inference_mode():
        encoder_ms = median_ms(repeats, encode)
        decode = {}
        for num_beams in [1] + beams:
            # generate() encodes too: decoding = generate - encoder.
            def run():
                model.generate({"input_ids": ids}, num_beams=num_beams, max_length=new_tokens, min_length=new_tokens)
            total_ms = median_ms(repeats, run)
            name = "greedy" if num_beams == 1 else f"beam{num_beams}"
            decode[name] = {"total_ms": total_ms, "per_token_ms": (total_ms - encoder_ms) / new_tokens}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"engine": "modelscope", "load_s": load_s, "encoder_ms": encoder_ms, "decode": decode,
                      "peak_rss_mib": peak}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=SIZES, default="240m")
    p.add_argument("--passages", type=int, default=6)
    p.add_argument("--passage-len", type=int, default=300)
    p.add_argument("--new-tokens", type=int, default=30)
    add_engine_arguments(p, repeats=3)
    p.add_argument("--reference-worker", nargs=2, metavar=("MODEL_DIR", "REQUEST"), help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.reference_worker:
        reference_worker(*args.reference_worker, args.repeats, args.beams)
        return
    prepare_run(args)
    model_dir = make_model(args.out.resolve(), args.size)
    request = make_request(args.out.resolve(), args.passages, args.passage_len, args.new_tokens)
    beams = [str(b) for b in args.beams]
    ref = run_json([sys.executable, __file__, "--repeats", str(args.repeats), "--beams", *beams,
                    "--reference-worker", str(model_dir), str(request)])
    ours = run_json([str(args.binary), "bench", "--model", str(model_dir), "--request", str(request),
                     "--repeats", str(args.repeats), *sum((["--beams", b] for b in beams), [])])

    print(f"FiD-PLUG {args.size} (random weights), {args.passages} passages x {args.passage_len} tokens, "
          f"{args.new_tokens} new tokens, {os.cpu_count()} CPU threads, median of {args.repeats}")
    print_table("ModelScope", ref, ours)
    print(json.dumps({"modelscope": ref, "chatplug": ours}))


if __name__ == "__main__":
    main()
