"""Fine-tuning the shipped model against training from scratch on a user's own small data set.

    python scripts/bench_fine_tune.py [--minutes 10] [--count 3000]

The walk-through "Fine-tune on your own data" of docs/training.md, timed: numbers made of MNIST
digits (`hlp/numbers_mnist_generator.py`, handwriting the shipped model never saw) stand
for a user's folder of labelled crops; they are converted with `tf_crnn.data.convert`
(10% held out for validation), then trained twice for the same wall-clock minutes:

- fine-tuned: `init_from: crnn_words`, the config naming only data, steps and learning
  rate (the network and the alphabet come from the shipped model);
- from scratch: the same network and alphabet, written out, without `init_from`.

Both are evaluated on the held-out numbers every `--eval_every` steps; the table gives the
exact word accuracy reached by each minute mark, and benchmarks/results/fine_tune.png
draws both curves. Figures are for the CPU the script runs on, which it names
(ONEDNN_MAX_CPU_ISA=AVX2 on an AVX-512 machine keeps oneDNN on, capped at AVX2: not the
kernels an AVX2-only CPU runs, which TF_ENABLE_ONEDNN_OPTS=0 gives on any CPU).
Writes benchmarks/results/fine_tune.json.
"""

import argparse
import json
import os
import subprocess
import sys
import time

from common import cpu_features, cpu_name, describe_cpu, write_result  # the scripts folder is sys.path[0]
from common import REPO, train_for_minutes

sys.path.insert(0, REPO)

from tf_crnn.config import ARCHITECTURE_FIELDS  # noqa: E402
from tf_crnn.model_files import read_metadata, resolve_saved_model  # noqa: E402

RESULTS = os.path.join(REPO, "benchmarks", "results")
RUN = os.path.join(RESULTS, "fine_tune_runs")
# The network's fields (the alphabet comes from its own file here); an export records its backbone's.
ARCHITECTURE = tuple(field for field in ARCHITECTURE_FIELDS if field != "alphabet")


def make_data(count: int) -> str:
    """The user's crops as a folder of PNGs with labels.tsv, converted to shards."""
    crops, shards = os.path.join(RUN, "my_crops"), os.path.join(RUN, "my_shards")
    subprocess.run([sys.executable, "hlp/numbers_mnist_generator.py", "--output_dir", crops, "--count", str(count),
                    "--val_ratio", "0", "--seed", "5", "--overwrite"], cwd=REPO, check=True)
    subprocess.run([sys.executable, "-m", "tf_crnn.data.convert", os.path.join(crops, "labels.tsv"), "--output_dir",
                    shards, "--prefix", "mine", "--val_ratio", "0.1", "--seed", "5"], cwd=REPO, check=True)
    return shards


def write_config(name: str, shards: str, fields: dict) -> tuple:
    model_dir = os.path.join(RUN, name)
    config = dict(train_files=[os.path.join(shards, "mine-train-*.tfrecord")],
                  eval_files=[os.path.join(shards, "mine-val-*.tfrecord")], model_dir=model_dir, **fields)
    path = model_dir + ".json"
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)
    return path, model_dir


def accuracy_by(points: list, minutes: float) -> float:
    """The best word accuracy of the evaluations made within `minutes` (0 before the first)."""
    return max((value for _, mins, value in points if mins <= minutes), default=0.0)


def plot(runs: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for name, run in runs.items():
        points = run["evaluations"]
        axis.plot([m for _, m, _ in points], [v for _, _, v in points], marker="o", label=name)
    axis.set_xlabel("wall-clock minutes of training")
    axis.set_ylabel("held-out word accuracy")
    axis.set_ylim(0, 1)
    axis.grid(alpha=0.3)
    axis.legend()
    axis.set_title("MNIST-digit numbers: fine-tuned crnn_words vs from scratch")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10, help="wall-clock minutes each run trains")
    parser.add_argument("--count", type=int, default=3000, help="the user's labelled crops (10%% held out)")
    parser.add_argument("--eval_every", type=int, default=100, help="steps between evaluations")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--output", default=os.path.join(RESULTS, "fine_tune.json"))
    args = parser.parse_args()
    features = cpu_features()
    print(describe_cpu(features), flush=True)
    shards = make_data(args.count)
    shipped = read_metadata(resolve_saved_model("crnn_words"))
    common = dict(batch_size=args.batch_size, train_steps=100000, save_checkpoints_steps=args.eval_every,
                  keep_checkpoint_max=1, eval_steps=0, learning_rate_schedule="constant", warmup_steps=50,
                  bucket_boundaries=[], shuffle_buffer=3000, augmentation={"enabled": True})
    runs = {}
    plans = {
        "fine-tuned from crnn_words": dict(common, init_from="crnn_words", learning_rate=3e-4),
        "from scratch": dict(common, learning_rate=1e-3, alphabet_file=os.path.join(REPO, "data", "alphabets",
                                                                                    "lower_alnum.txt"),
                             lowercase_labels=shipped["lowercase_labels"],
                             **{field: shipped[field] for field in ARCHITECTURE if field in shipped}),
    }
    for name, fields in plans.items():
        config, model_dir = write_config(name.split()[0].replace("-", "_"), shards, fields)
        print(f"\n=== {name}: {args.minutes:g} minutes", flush=True)
        runs[name] = train_for_minutes(config, model_dir, args.minutes, args.batch_size)
        for step, mins, value in runs[name]["evaluations"]:
            print(f"  step {step:6d}  {mins:6.1f} min  word accuracy {value:.1%}", flush=True)
    marks = sorted({max(1.0, round(args.minutes * share)) for share in (0.1, 0.25, 0.5, 1.0)})
    lines = ["| run | images/s | " + " | ".join(f"after {m:g} min" for m in marks) + " |",
             "|---|---|" + "---|" * len(marks)]
    for name, run in runs.items():
        lines.append(f"| {name} | {run['images_per_second']} | "
                     + " | ".join(f"{accuracy_by(run['evaluations'], m):.1%}" for m in marks) + " |")
    print("\n" + "\n".join(lines))
    plot(runs, os.path.join(RESULTS, "fine_tune.png"))
    write_result({"benchmark": "fine_tune", "cpu": cpu_name(), "cpu_features": features, "minutes": args.minutes,
                  "crops": args.count, "batch_size": args.batch_size, "eval_every_steps": args.eval_every,
                  "measured": time.strftime("%Y-%m-%d"), "runs": runs, "table": lines}, args.output)


if __name__ == "__main__":
    main()
