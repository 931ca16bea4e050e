"""Training and serving on TensorFlow's two CPU kernel paths, taking turns in one run.

TensorFlow 2.15 picks its CPU kernels when it starts: oneDNN's where the CPU has AVX-512
VNNI, bfloat16 or AMX, its own (Eigen) everywhere else, and `TF_ENABLE_ONEDNN_OPTS` (0 or
1) overrides the choice. A process cannot switch, so this script runs the two benchmarks
in child processes, one per path, alternating over `--rounds`:

- training: `scripts/bench_train.py --skip_baseline` (the Estimator's images/s on
  `--config`, default the shipped model's recipe network, float32);
- serving: `scripts/bench_vs_rapidocr.py --no_tflite` without a peer (the shipped
  export's `serving_default`, words/s at batch 1 and 64 on the first IIIT5K crops).

It prints each path's figures per round and their medians, with the ratio oneDNN/own, and
writes benchmarks/results/kernel_paths.json. tf_crnn's commands turn oneDNN on where the
user has not chosen (tf_crnn/kernels.py) because of what this measures.

    python scripts/bench_kernel_paths.py [--rounds 2] [--train_steps 20] [--images 300]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from common import cpu_features, cpu_name, describe_cpu, write_result  # the scripts folder is sys.path[0]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(REPO, "scripts")
PATHS = {"tensorflow": "0", "onednn": "1"}  # path name -> TF_ENABLE_ONEDNN_OPTS


def run_child(script, args, onednn, output):
    """Runs one benchmark script on one kernel path; returns its JSON result."""
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=onednn, PYTHONPATH=REPO)
    env.pop("ONEDNN_MAX_CPU_ISA", None)  # not a kernel path: it keeps oneDNN on (docs/BENCHMARKS.md)
    command = [sys.executable, os.path.join(SCRIPTS, script), *args, "--output", output]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    if result.returncode != 0:
        raise SystemExit(f"error: {script} failed with TF_ENABLE_ONEDNN_OPTS={onednn}:\n{result.stderr[-3000:]}")
    with open(output, encoding="utf-8") as handle:
        return json.load(handle)


def serving_rates(report):
    return {row["system"]: row["words_per_second"] for row in report["rows"] if "words_per_second" in row}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--config", default=os.path.join(REPO, "scripts", "recipe_params.json"))
    parser.add_argument("--train_steps", type=int, default=20)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--skip_training", action="store_true")
    parser.add_argument("--skip_serving", action="store_true")
    parser.add_argument("--output", default=os.path.join(REPO, "benchmarks", "results", "kernel_paths.json"))
    args = parser.parse_args(argv)
    print(describe_cpu(cpu_features()), flush=True)
    figures = {path: {} for path in PATHS}
    with tempfile.TemporaryDirectory() as work:
        for round_index in range(args.rounds):
            for path, onednn in PATHS.items():
                if not args.skip_training:
                    train = run_child("bench_train.py", ["--config", args.config, "--precision", "float32",
                                                         "--skip_baseline", "--steps", str(args.train_steps),
                                                         "--warmup", "5"], onednn, os.path.join(work, "t.json"))
                    figures[path].setdefault("training images/s", []).append(train["images_per_second"])
                if not args.skip_serving:
                    serve = run_child("bench_vs_rapidocr.py", ["--no_tflite", "--repeats", "2", "--images",
                                                               str(args.images), "--peer_env", os.path.join(work, "none"),
                                                               "--peer3_env", os.path.join(work, "none")],
                                      onednn, os.path.join(work, "s.json"))
                    for system, rate in serving_rates(serve).items():
                        figures[path].setdefault(f"{system} words/s", []).append(rate)
                print(f"round {round_index + 1}, {path} kernels: "
                      + ", ".join(f"{name} {values[-1]}" for name, values in figures[path].items()), flush=True)
    medians = {path: {name: statistics.median(values) for name, values in rows.items()}
               for path, rows in figures.items()}
    ratios = {name: round(medians["onednn"][name] / medians["tensorflow"][name], 2) for name in medians["onednn"]}
    result = {"benchmark": "kernel_paths", "config": os.path.relpath(args.config, REPO), "rounds": args.rounds,
              "by_round": figures, "medians": medians, "onednn_over_tensorflow": ratios,
              "cpu": f"{cpu_name()}, {os.cpu_count()} cores", "cpu_features": cpu_features()}
    write_result(result, args.output)


if __name__ == "__main__":
    main()
