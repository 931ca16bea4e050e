"""Minutes of training until rendered-validation word accuracy reaches 80% and 90%, per backbone.

    python scripts/bench_time_to_accuracy.py [--candidates vgg,vgg_slim,mobilenet_v3_0.5] [--minutes 25]

Throughput alone does not choose a network: a faster one that learns less per image can
be slower to a given accuracy. So this trains each candidate as the recipe would (the
fields of scripts/recipe_params.json, with the candidate's network fields) on the same
rendered words, evaluates it on the same rendered validation words every
`--eval_every` steps, and reports the wall-clock minutes from its first training step to
the first evaluation at or above each bar, evaluations included (what a user waits).
A candidate stops at the first evaluation at or above the highest bar, or after
`--minutes`; a bar not reached by then is reported as not reached, with the best accuracy
seen. The benchmark sets are never used: this is for choosing the recipe's network.

The words are rendered once, with the recipe's renderer settings and a seed of their own
(benchmarks/results/time_to_accuracy_data/, kept for the next run). Figures are for the
CPU the script runs on, which it names. ONEDNN_MAX_CPU_ISA=AVX2 on an AVX-512 machine
("emulated AVX2") keeps oneDNN on, capped at AVX2, so it is not the kernels an AVX2-only
CPU runs; TF_ENABLE_ONEDNN_OPTS=0 is (its speed still that of the CPU it runs on). Under
either, `precision: auto` trains in float32, as on an AVX2-only CPU. Writes
benchmarks/results/time_to_accuracy.json.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from common import cpu_features, cpu_name, describe_cpu, write_result  # the scripts folder is sys.path[0]
from common import train_for_minutes

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE_PARAMS = os.path.join(REPO, "scripts", "recipe_params.json")
RESULTS = os.path.join(REPO, "benchmarks", "results")
DATA = os.path.join(RESULTS, "time_to_accuracy_data")
BARS = (0.80, 0.90)
# The network fields each candidate sets on top of the recipe's config.
CANDIDATES = {
    "vgg": {},  # the recipe's network: conv 64-256, LSTMs of 256
    "vgg_slim": {"conv_channels": [32, 64, 128, 128, 160, 160, 160], "lstm_units": [160, 160]},
    "mobilenet_v3_0.5": {"backbone": "mobilenet_v3", "width_multiplier": 0.5},
    "mobilenet_v3_1.0": {"backbone": "mobilenet_v3", "width_multiplier": 1.0},
}


def render(train_count: int, val_count: int) -> None:
    """The recipe's renderer settings (lower-case labels, up to 18 characters), seed 31."""
    subprocess.run([sys.executable, "-m", "tf_crnn.synth.generate", "--output_dir", DATA, "--prefix", "tta",
                    "--count", str(train_count), "--val_count", str(val_count), "--seed", "31",
                    "--case", "lower", "--max_length", "18"], cwd=REPO, check=True)


def candidate_config(name: str, model_dir: str, eval_every: int) -> str:
    with open(RECIPE_PARAMS, encoding="utf-8") as handle:
        fields = json.load(handle)
    fields.update(CANDIDATES[name])
    fields.update(train_files=[os.path.join(DATA, "tta-train-*.tfrecord")],
                  eval_files=[os.path.join(DATA, "tta-val-*.tfrecord")],
                  alphabet_file=os.path.join(REPO, "data", "alphabets", "lower_alnum.txt"),
                  model_dir=model_dir, save_checkpoints_steps=eval_every, keep_checkpoint_max=1)
    path = model_dir + ".json"
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(fields, handle, indent=2)
    return path


def train_until(name: str, minutes: float, eval_every: int, batch_size: int) -> dict:
    model_dir = os.path.join(RESULTS, "time_to_accuracy_runs", name)
    print(f"\n=== {name}: training for at most {minutes:g} minutes", flush=True)
    os.makedirs(os.path.dirname(model_dir), exist_ok=True)
    config = candidate_config(name, model_dir, eval_every)
    run = train_for_minutes(config, model_dir, minutes, batch_size, stop_at=max(BARS),
                            extra_args=[f"--batch_size={batch_size}"])
    points = run["evaluations"]
    result = {"candidate": name, "network": CANDIDATES[name], "evaluations": points,
              "images_per_second": run["images_per_second"],
              "best_word_accuracy": max((v for _, _, v in points), default=None)}
    for bar in BARS:
        reached = next(((step, mins) for step, mins, value in points if value >= bar), None)
        result[f"minutes_to_{bar:.0%}"] = reached[1] if reached else None
        result[f"steps_to_{bar:.0%}"] = reached[0] if reached else None
    for step, mins, value in points:
        print(f"  step {step:6d}  {mins:6.1f} min  word accuracy {value:.1%}", flush=True)
    return result


def table(rows: list, minutes: float) -> str:
    lines = ["| candidate | images/s | " + " | ".join(f"minutes to {b:.0%}" for b in BARS) + " | best accuracy |",
             "|---|---|" + "---|" * len(BARS) + "---|"]
    for row in rows:
        reached = [f"{row[f'minutes_to_{b:.0%}']:.1f}" if row[f"minutes_to_{b:.0%}"] is not None
                   else f"not in {minutes:g}" for b in BARS]
        best = f"{row['best_word_accuracy']:.1%}" if row["best_word_accuracy"] is not None else "–"
        lines.append(f"| {row['candidate']} | {row['images_per_second']} | " + " | ".join(reached) + f" | {best} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", default="vgg,vgg_slim,mobilenet_v3_0.5",
                        help=f"comma-separated, of: {', '.join(CANDIDATES)}")
    parser.add_argument("--minutes", type=float, default=25, help="the most each candidate trains")
    parser.add_argument("--eval_every", type=int, default=300, help="steps between evaluations")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--train_images", type=int, default=80000)
    parser.add_argument("--val_images", type=int, default=1000)
    parser.add_argument("--output", default=os.path.join(RESULTS, "time_to_accuracy.json"))
    args = parser.parse_args()
    names = [n for n in args.candidates.split(",") if n]
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidate(s) {', '.join(unknown)}; known: {', '.join(CANDIDATES)}")
    features = cpu_features()
    print(describe_cpu(features), flush=True)
    render(args.train_images, args.val_images)
    rows = [train_until(name, args.minutes, args.eval_every, args.batch_size) for name in names]
    print("\n" + table(rows, args.minutes))
    write_result({"benchmark": "time_to_accuracy", "cpu": cpu_name(), "cpu_features": features,
                  "bars": list(BARS), "max_minutes": args.minutes, "eval_every_steps": args.eval_every,
                  "batch_size": args.batch_size, "train_images": args.train_images, "val_images": args.val_images,
                  "measured": time.strftime("%Y-%m-%d"), "candidates": rows}, args.output)


if __name__ == "__main__":
    main()
