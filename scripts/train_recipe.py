"""The model-quality recipe: a word recognizer trained from scratch in under 2 hours on a 2-core CPU.

    python scripts/train_recipe.py [--params scripts/recipe_params.json] [--benchmarks ../shared/benchmarks] [--ship]

1. render 250,000 training and 2,000 validation words with the project's renderer
   (separate seed streams; nothing is downloaded);
2. train the CRNN of scripts/recipe_params.json (a slimmer conv stack than the paper's,
   the paper's LSTMs, bf16 where the CPU has it) for 14,000 steps of 64; the Estimator
   keeps the checkpoint with the best validation accuracy (rendered words, never the
   benchmarks) as the "best" export;
3. draw the training curve (recipe_run/training_curve.png);
4. if the benchmark sets are there, evaluate the best export on IIIT5K, SVT and IC13 with
   `tf_crnn.evaluate`: lexicon-free (greedy, beam, and beam with the built-in character
   language model) and lexicon-based (the project's English word list plus each set's
   label vocabulary), and print the table next to Tesseract's and the CRNN paper's figures.

Everything goes to recipe_run/; every stage resumes if the run is interrupted (shards
that exist are kept, training restarts from its last checkpoint). `--ship` copies the
best export to tf_crnn/pretrained/crnn_words/1, the model `python -m tf_crnn.predict`
uses when given none.

`--params scripts/recipe_params_small.json` trains a network with about half the channels
and LSTMs of 128 instead (12,000 steps) on the same rendered words: the recipe for CPUs
without AVX-512 and bfloat16, where the shipped model's network needs about eight hours. Its
model, curve, evaluation and summary go to the folder above its `model_dir`
(recipe_run/small/), so the two recipes share the rendered words and nothing else.
"""

import argparse
import json
import os
import sys
import time

from common import run, step  # the scripts folder is sys.path[0]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tf_crnn.config import load_config  # noqa: E402
from tf_crnn.errors import exit_on_user_error  # noqa: E402
from tf_crnn.model_files import install_export  # noqa: E402
from tf_crnn.model_files import resolve_saved_model  # noqa: E402

RUN_DIR = os.path.join(REPO, "recipe_run")
PARAMS = os.path.join(REPO, "scripts", "recipe_params.json")
SHIPPED = os.path.join(REPO, "tf_crnn", "pretrained", "crnn_words")
TRAIN_IMAGES = 250000
VAL_IMAGES = 2000
MAX_WORD_LENGTH = 18
BUDGET_MINUTES = 120
BENCHMARK_SETS = ("IIIT5K/labels.tsv", "SVT/labels.tsv", "IC13/labels.tsv", "IC13/labels_857.tsv")
DECODER_NAMES = {"greedy": "greedy", "beam": "beam (width 10)",
                 "lm": "beam + character language model",
                 "lexicon": "lexicon-based (English words + set labels)"}
# Published reference figures (../shared/benchmarks/README.md): lexicon-free, case-insensitive.
REFERENCES = {
    "Tesseract 5.3 (--psm 8, eng)": {"IIIT5K": 0.739, "SVT": 0.686, "IC13": 0.755},
    "CRNN paper (8M MJSynth, GPU)": {"IIIT5K": 0.782, "SVT": 0.808, "IC13": 0.867},
}


def render():
    run([sys.executable, "-m", "tf_crnn.synth.generate", "--output_dir", os.path.join(RUN_DIR, "data"),
         "--prefix", "recipe", "--count", str(TRAIN_IMAGES), "--val_count", str(VAL_IMAGES), "--seed", "11",
         "--case", "lower", "--max_length", str(MAX_WORD_LENGTH)])


def benchmark_table(results, references=REFERENCES) -> str:
    """Markdown: one row per decoder of ours plus the reference systems, alnum word accuracy.

    The reference rows are lexicon-free; only our lexicon row uses a lexicon (the language
    model row does not: it weighs readings, any string can come out)."""
    sets = ["IIIT5K", "SVT", "IC13", "IC13/labels_857"]
    header = "| system | IIIT5K | SVT | IC13 (1015) | IC13 (857) |\n|---|---|---|---|---|\n"
    rows = []
    for decoder in sorted({r["decoder"] for r in results}, key=lambda d: list(DECODER_NAMES).index(d)):
        by_set = {r["name"]: r["alnum_word_accuracy"] for r in results if r["decoder"] == decoder}
        rows.append(f"| this recipe, {DECODER_NAMES[decoder]} | " + " | ".join(
            f"{by_set[s]:.1%}" if s in by_set else "–" for s in sets) + " |")
    for name, figures in references.items():
        rows.append(f"| {name} | {figures['IIIT5K']:.1%} | {figures['SVT']:.1%} | {figures['IC13']:.1%} | – |")
    return header + "\n".join(rows) + "\n"


@exit_on_user_error
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", default=os.path.join(os.path.dirname(REPO), "shared", "benchmarks"),
                        help="folder with IIIT5K/, SVT/ and IC13/ label files (skipped if absent)")
    parser.add_argument("--params", default=PARAMS,
                        help="the training config (default scripts/recipe_params.json; "
                             "scripts/recipe_params_small.json: the small network)")
    parser.add_argument("--ship", action="store_true", help=f"copy the best export to {os.path.relpath(SHIPPED, REPO)}/1")
    args = parser.parse_args()
    if not os.path.isfile(args.params):  # before the minutes of rendering, not after
        parser.error(f"--params {args.params}: no such file")

    started = time.time()
    timings = {}

    step(f"1/4 render {TRAIN_IMAGES:,} training and {VAL_IMAGES:,} validation words")
    render()
    timings["render_min"] = (time.time() - started) / 60

    config = load_config(args.params)  # after rendering: it checks that the shards are there
    out_dir = os.path.dirname(config.model_dir)  # recipe_run/, or recipe_run/small/
    step(f"2/4 train ({config.train_steps:,} steps of {config.batch_size}; "
         "checkpoints chosen on the rendered validation words)")
    mark = time.time()
    run([sys.executable, "-m", "tf_crnn.train", args.params])
    timings["train_min"] = (time.time() - mark) / 60
    export = resolve_saved_model(os.path.join(config.model_dir, "export", "best"))
    print(f"best export: {export}")

    step("3/4 training curve")
    run([sys.executable, os.path.join("scripts", "plot_training.py"), config.model_dir,
         "--output", os.path.join(out_dir, "training_curve.png"), "--title", "tf_crnn recipe"])
    timings["total_min_to_model"] = (time.time() - started) / 60

    summary = {"best_export": export, **{k: round(v, 1) for k, v in timings.items()}}
    step("4/4 benchmarks (case-insensitive alphanumeric word accuracy)")
    files = [os.path.join(args.benchmarks, name) for name in BENCHMARK_SETS]
    if all(os.path.isfile(path) for path in files):
        run([sys.executable, "-m", "tf_crnn.evaluate", export, *files, "--output_dir",
             os.path.join(out_dir, "evaluation"), "--errors_csv", "--lexicon", "english", "--lexicon_labels",
             "--language_model", "english"])
        with open(os.path.join(out_dir, "evaluation", "evaluation.json"), encoding="utf-8") as handle:
            results = json.load(handle)["results"]
        table = benchmark_table(results)
        print("\n" + table)
        summary["benchmarks"] = {f"{r['name']}/{r['decoder']}": r["alnum_word_accuracy"] for r in results}
    else:
        print(f"benchmark sets not found under {args.benchmarks}; skipped (pass --benchmarks FOLDER)")

    if args.ship:
        target = install_export(export, os.path.join(SHIPPED, "1"))
        print(f"shipped: {os.path.relpath(target, REPO)}")

    summary["total_min"] = round((time.time() - started) / 60, 1)
    summary_path = os.path.join(out_dir, "summary.json")
    with open(summary_path, "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    over = summary["total_min_to_model"] > BUDGET_MINUTES
    print(f"\nrecipe done: model in {summary['total_min_to_model']:.1f} min (budget {BUDGET_MINUTES})"
          f"{' - OVER BUDGET' if over else ''}, {summary['total_min']:.1f} min with evaluation; "
          f"summary in {os.path.relpath(summary_path, REPO)}")


if __name__ == "__main__":
    main()
