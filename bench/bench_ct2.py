#!/usr/bin/env python3
"""Single-passage comparison with CTranslate2 (issue 11): chatplug, CTranslate2 and HF
transformers on the same random T5 weights, the same input, the same threads.

One passage of 380 tokens, 30 new tokens (end of sequence forbidden until then, so every
engine makes exactly 30 steps), greedy and beam 3; seconds per response (encoder +
decoding), median of --repeats after one warm-up run. CTranslate2 runs float32 and int8
(its `int8_float32`: int8 weights, float32 activations elsewhere), chatplug f32 and int8.
The last column of each table is the engine's time / chatplug's time in the same
precision family (> 1: chatplug is faster).

CTranslate2's converter reads a tokenizer to name the vocabulary; the random model has
none, so a word-level tokenizer with one made-up piece per id (`<pad>`, `</s>`, `<unk>`,
then `t3`, `t4`, …) is written beside a copy of its config. The request's ids are passed
to CTranslate2 as those pieces, so all engines see the same ids.

Usage (from the repository root, with the fixtures venv and `pip install ctranslate2`):
    cargo build --release -p chatplug-cli
    fixtures/.venv/bin/python bench/bench_ct2.py [--size small|base|tiny] [--repeats 5]

Random weights: the numbers say nothing about reply quality, only about speed.
"""
import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fid import SIZES, make_model, make_request  # noqa: E402
from common import add_engine_arguments, median_ms, prepare_run, run_json  # noqa: E402


def ct2_source(model_dir: Path, out: Path) -> Path:
    """The model's config and weights with a word-level tokenizer over made-up pieces."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit

    src = out / f"{model_dir.name}-ct2-source"
    if (src / "tokenizer.json").exists():
        return src
    src.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        target = src / name
        if not target.exists():
            os.symlink((model_dir / name).resolve(), target)
    vocab_size = json.loads((model_dir / "config.json").read_text())["vocab_size"]
    vocab = {piece(i): i for i in range(vocab_size)}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = WhitespaceSplit()
    tokenizer.save(str(src / "tokenizer.json"))
    (src / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>",
    }))
    return src


def piece(i: int) -> str:
    return {0: "<pad>", 1: "</s>", 2: "<unk>"}.get(i, f"t{i}")


def convert(src: Path, out: Path, quantization: str) -> Path:
    import ctranslate2

    dst = out / f"{src.name.removesuffix('-ct2-source')}-ct2-{quantization}"
    if not (dst / "model.bin").exists():
        if dst.exists():
            shutil.rmtree(dst)
        ctranslate2.converters.TransformersConverter(str(src)).convert(str(dst), quantization=quantization)
    return dst


def ct2_worker(model_dir: str, request_path: str, repeats: int, beams: list):
    """Runs inside a child process: times CTranslate2 and prints JSON."""
    import ctranslate2

    threads = os.cpu_count()
    started = time.perf_counter()
    translator = ctranslate2.Translator(model_dir, device="cpu", inter_threads=1, intra_threads=threads)
    load_s = time.perf_counter() - started
    request = json.loads(Path(request_path).read_text())
    (ids,) = request["input_ids"]
    tokens = [piece(i) for i in ids]
    new_tokens = request["new_tokens"]
    totals = {}
    for num_beams in [1] + beams:
        def run():
            result = translator.translate_batch([tokens], beam_size=num_beams, max_decoding_length=new_tokens,
                                                min_decoding_length=new_tokens, num_hypotheses=1)
            produced = len(result[0].hypotheses[0])
            if produced != new_tokens:
                sys.exit(f"CTranslate2 produced {produced} tokens, not {new_tokens}")
        run()  # warm-up
        name = "greedy" if num_beams == 1 else f"beam{num_beams}"
        totals[name] = median_ms(repeats, run)
    print(json.dumps({"engine": "ctranslate2", "load_s": load_s, "total_ms": totals}))


def chatplug_totals(result: dict) -> dict:
    return {name: d["total_ms"] for name, d in result["decode"].items()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=SIZES, default="small")
    p.add_argument("--passage-len", type=int, default=380)
    p.add_argument("--new-tokens", type=int, default=30)
    add_engine_arguments(p, repeats=5)
    p.add_argument("--no-hf", action="store_true", help="skip HF transformers")
    p.add_argument("--ct2-worker", nargs=2, metavar=("MODEL_DIR", "REQUEST"), help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.ct2_worker:
        ct2_worker(*args.ct2_worker, args.repeats, args.beams)
        return
    prepare_run(args)
    model_dir = make_model(args.out, args.size)
    request = make_request(args.out, SIZES[args.size]["vocab_size"], 1, args.passage_len, args.new_tokens)
    beams = [str(b) for b in args.beams]
    src = ct2_source(model_dir, args.out)
    runs = {}
    for quantization in ("float32", "int8_float32"):
        ct2_dir = convert(src, args.out, quantization)
        runs[f"ctranslate2 {quantization}"] = run_json(
            [sys.executable, __file__, "--repeats", str(args.repeats), "--beams", *beams,
             "--ct2-worker", str(ct2_dir), str(request)])["total_ms"]
    for precision in ("f32", "int8"):
        # `bench` reports the median of its repeats, as the workers do.
        runs[f"chatplug {precision}"] = chatplug_totals(run_json(
            [str(args.binary), "bench", "--model", str(model_dir), "--request", str(request),
             "--repeats", str(args.repeats), "--precision", precision, *sum((["--beams", b] for b in beams), [])]))
    if not args.no_hf:
        hf = run_json([sys.executable, str(Path(__file__).with_name("bench_fid.py")), "--repeats", str(args.repeats),
                       "--beams", *beams, "--hf-worker", str(model_dir), str(request)])
        runs["HF transformers f32"] = chatplug_totals(hf)

    names = ["greedy"] + [f"beam{b}" for b in args.beams]
    print(f"T5 {args.size} (random weights), 1 passage x {args.passage_len} tokens, {args.new_tokens} new tokens, "
          f"{os.cpu_count()} CPU threads, seconds per response, median of {args.repeats}")
    header = f"{'engine':<26}" + "".join(f"{n + ' (s)':>12}{'/ ours':>8}" for n in names)
    print(header)
    for engine, totals in runs.items():
        ours = runs["chatplug int8"] if "int8" in engine else runs["chatplug f32"]
        cells = "".join(f"{totals[n] / 1e3:>12.3f}{totals[n] / ours[n]:>8.2f}" for n in names)
        print(f"{engine:<26}{cells}")
    print(json.dumps({"size": args.size, "seconds_per_response": {e: {n: t[n] / 1e3 for n in names} for e, t in runs.items()}}))


if __name__ == "__main__":
    main()
