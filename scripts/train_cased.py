"""A case-sensitive recognizer with punctuation, fine-tuned from the shipped model, next to
the same network trained from scratch for as many steps.

    python scripts/train_cased.py [--steps 6000] [--words 200000] [--phrases 40000] [--ship]

1. render mixed-case words (printable ASCII, `data/alphabets/printable.txt`: letters of both
   cases, digits, punctuation, space) and two-word phrases (the most common word pairs of
   `wordsegment`'s bigram counts, drawn in mixed case) with the project's renderer, plus
   2,000 separately rendered validation words;
2. fine-tune `crnn_words` to that alphabet (`init_from`: its 36 lower-case units carry
   their weights over, the upper case and punctuation start fresh), and train the same
   network from scratch with the same steps; checkpoints are chosen on the rendered
   validation words, never on the benchmarks;
3. evaluate both on the case-sensitive labels of IIIT5K and SVT
   (`labels_cs_jyouhou.tsv`: exact word accuracy, case and punctuation counted) and on
   the usual case-insensitive sets, and print the table with the minutes of each run;
4. with `--ship`, export the fine-tuned run's best checkpoint (`top_paths` 0) to
   tf_crnn/pretrained/crnn_words_cased/1 if it reads the case-sensitive sets better than
   the one trained from scratch.

Everything goes to cased_run/; an interrupted run resumes (shards are kept, training
continues from its model dir). Figures are for the CPU it runs on
(ONEDNN_MAX_CPU_ISA=AVX2 on an AVX-512 machine keeps oneDNN on, capped at AVX2: not the
kernels an AVX2-only CPU runs, which TF_ENABLE_ONEDNN_OPTS=0 gives on any CPU).
"""

import argparse
import json
import os
import shutil
import sys
import time

from common import run, step  # the scripts folder is sys.path[0]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tf_crnn.config import ARCHITECTURE_FIELDS  # noqa: E402
from tf_crnn.errors import exit_on_user_error  # noqa: E402
from tf_crnn.model_files import install_export, read_metadata, resolve_saved_model  # noqa: E402

RUN_DIR = os.path.join(REPO, "cased_run")
DATA = os.path.join(RUN_DIR, "data")
ALPHABET = os.path.join(REPO, "data", "alphabets", "printable.txt")
SHIPPED_CASED = os.path.join(REPO, "tf_crnn", "pretrained", "crnn_words_cased")
MAX_LENGTH = 24
CASE_SENSITIVE_SETS = ("IIIT5K/labels_cs_jyouhou.tsv", "SVT/labels_cs_jyouhou.tsv")
USUAL_SETS = ("IIIT5K/labels.tsv", "SVT/labels.tsv", "IC13/labels.tsv")
# The network's fields and its input widths (the alphabet comes from its own file here).
ARCHITECTURE = tuple(field for field in ARCHITECTURE_FIELDS if field != "alphabet") + ("min_image_width",
                                                                                       "max_image_width")


def write_phrases(path: str, count: int = 50000) -> None:
    """The `count` most common pairs of alphabetic words in wordsegment's bigram counts."""
    from wordsegment import Segmenter

    pairs = []
    with open(Segmenter.BIGRAMS_FILENAME, encoding="utf-8") as handle:
        for line in handle:
            text, _, number = line.rstrip("\n").rpartition("\t")
            words = text.split(" ")
            if len(words) == 2 and all(word.isalpha() and word.isascii() for word in words):
                pairs.append((int(number), text))
    pairs.sort(reverse=True)
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.writelines(f"{text}\n" for _, text in pairs[:count])
    os.replace(path + ".tmp", path)


def render(words: int, phrases: int) -> None:
    os.makedirs(DATA, exist_ok=True)
    common = ["--output_dir", DATA, "--charset", ALPHABET, "--case", "mixed", "--max_length", str(MAX_LENGTH)]
    run([sys.executable, "-m", "tf_crnn.synth.generate", *common, "--prefix", "cased_words", "--count", str(words),
         "--val_count", "2000", "--seed", "41"])
    phrase_list = os.path.join(RUN_DIR, "phrases.txt")
    write_phrases(phrase_list)
    run([sys.executable, "-m", "tf_crnn.synth.generate", *common, "--prefix", "cased_phrases", "--count",
         str(phrases), "--val_count", "0", "--seed", "43", "--words", phrase_list])


def write_config(name: str, steps: int, fields: dict) -> str:
    config = dict(
        train_files=[os.path.join(DATA, "cased_words-train-*.tfrecord"),
                     os.path.join(DATA, "cased_phrases-train-*.tfrecord")],
        eval_files=[os.path.join(DATA, "cased_words-val-*.tfrecord")],
        model_dir=os.path.join(RUN_DIR, name), alphabet_file=ALPHABET, lowercase_labels=False,
        batch_size=64, train_steps=steps, decay_steps=steps, learning_rate_schedule="cosine", decay_rate=0.02,
        warmup_steps=200, save_checkpoints_steps=max(steps // 6, 1), keep_checkpoint_max=2, eval_steps=0,
        shuffle_buffer=20000, bucket_boundaries=[64, 96, 128, 192], gradient_clip_norm=5.0, optimizer="adam",
        augmentation={"enabled": True}, decoder="greedy", log_step_count_steps=200, **fields)
    path = os.path.join(RUN_DIR, f"{name}.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
    return path


def evaluate(export: str, benchmarks: str, name: str) -> dict:
    files = [os.path.join(benchmarks, s) for s in CASE_SENSITIVE_SETS + USUAL_SETS]
    out = os.path.join(RUN_DIR, "evaluation", name)
    run([sys.executable, "-m", "tf_crnn.evaluate", export, *files, "--output_dir", out, "--decoders", "greedy"])
    with open(os.path.join(out, "evaluation.json"), encoding="utf-8") as handle:
        results = json.load(handle)["results"]
    figures = {}
    for result in results:
        key = "exact" if result["name"].endswith("labels_cs_jyouhou") else "alnum"
        figures[f"{result['name']} ({key})"] = result["word_accuracy" if key == "exact" else "alnum_word_accuracy"]
    return figures


def ship() -> str:
    """Exports the fine-tuned run's best checkpoint again with `top_paths` 0 into
    tf_crnn/pretrained/crnn_words_cased/1: a greedy model then runs no beam search for
    alternative readings (as crnn_words); the weights are those the benchmarks read."""
    with open(os.path.join(RUN_DIR, "fine_tuned", "export", "best", "best.json"), encoding="utf-8") as handle:
        checkpoint = json.load(handle)["checkpoint"]
    staging = os.path.join(RUN_DIR, "ship")
    shutil.rmtree(staging, ignore_errors=True)
    run([sys.executable, "-m", "tf_crnn.export", os.path.join(RUN_DIR, "fine_tuned"), "--checkpoint", checkpoint,
         "--top_paths", "0", "--output_dir", staging])
    return install_export(resolve_saved_model(staging), os.path.join(SHIPPED_CASED, "1"))


@exit_on_user_error
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000, help="training steps of 64 for each run")
    parser.add_argument("--words", type=int, default=200000, help="rendered mixed-case training words")
    parser.add_argument("--phrases", type=int, default=40000, help="rendered two-word training phrases")
    parser.add_argument("--benchmarks", default=os.path.join(os.path.dirname(REPO), "shared", "benchmarks"))
    parser.add_argument("--ship", action="store_true", help=f"export the fine-tuned best checkpoint to "
                        f"{os.path.relpath(SHIPPED_CASED, REPO)}/1 if it reads cased text better than scratch")
    args = parser.parse_args()
    started = time.time()
    step(f"1/3 render {args.words:,} mixed-case words and {args.phrases:,} phrases")
    render(args.words, args.phrases)
    shipped = read_metadata(resolve_saved_model("crnn_words"))
    plans = {"fine_tuned": {"init_from": "crnn_words", "learning_rate": 5e-4},
             "from_scratch": {"learning_rate": 1e-3, **{key: shipped[key] for key in ARCHITECTURE if key in shipped}}}
    summary = {"steps": args.steps, "render_min": round((time.time() - started) / 60, 1), "runs": {}}
    for number, (name, fields) in enumerate(plans.items(), start=2):
        step(f"{number}/3 train {name.replace('_', ' ')} ({args.steps:,} steps of 64)")
        mark = time.time()
        run([sys.executable, "-m", "tf_crnn.train", write_config(name, args.steps, fields)])
        export = resolve_saved_model(os.path.join(RUN_DIR, name, "export", "best"))
        summary["runs"][name] = {"export": export, "train_min": round((time.time() - mark) / 60, 1)}
    if all(os.path.isfile(os.path.join(args.benchmarks, s)) for s in CASE_SENSITIVE_SETS + USUAL_SETS):
        for name, run_summary in summary["runs"].items():
            run_summary["benchmarks"] = evaluate(run_summary["export"], args.benchmarks, name)
        sets = list(summary["runs"]["fine_tuned"]["benchmarks"])
        print("\n| run | minutes | " + " | ".join(sets) + " |\n|---|---|" + "---|" * len(sets))
        for name, run_summary in summary["runs"].items():
            print(f"| {name} | {run_summary['train_min']} | "
                  + " | ".join(f"{run_summary['benchmarks'][s]:.1%}" for s in sets) + " |")
        cased = [s for s in sets if "(exact)" in s]
        better = all(summary["runs"]["fine_tuned"]["benchmarks"][s] > summary["runs"]["from_scratch"]["benchmarks"][s]
                     for s in cased)
        summary["fine_tuned_reads_cased_text_better"] = better
        if args.ship and better:
            print(f"shipped: {os.path.relpath(ship(), REPO)}")
        elif args.ship:
            print("not shipped: the fine-tuned model does not read the case-sensitive sets better than scratch")
    else:
        print(f"benchmark sets not found under {args.benchmarks}; skipped (pass --benchmarks FOLDER)")
    with open(os.path.join(RUN_DIR, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    print(f"summary in {os.path.relpath(os.path.join(RUN_DIR, 'summary.json'), REPO)}")


if __name__ == "__main__":
    main()
