"""Runs every benchmark, one after the other, and collects the figures.

Each benchmark is its own script (so it can also be run alone) and writes its JSON to
benchmarks/results/; this script runs them in turn, merges their results into
benchmarks/results/results.json and writes docs/BENCHMARKS.md with the machine and the
commands. Run it on an otherwise idle machine: the figures are wall-clock rates.
Everything in docs/BENCHMARKS.md below the line `<!-- kept across runs -->` (the
written history of the training-speed work, before and after) is kept when the file is
rewritten.

    python scripts/run_benchmarks.py [--quick]
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
RESULTS = os.path.join(REPO, "benchmarks", "results")
KEPT_MARKER = "<!-- kept across runs -->"


def benchmarks(quick: bool, native_bfloat16: bool):
    """(name, command) of each benchmark; the bfloat16 training run only where the CPU has
    native bfloat16 (elsewhere it is emulated, slower than float32, and says nothing)."""
    steps = ["--steps", "10", "--warmup", "3"] if quick else ["--steps", "40", "--warmup", "10"]
    bf16 = [("train_bf16", ["scripts/bench_train.py", "--precision", "mixed_bfloat16", "--output",
                            os.path.join(RESULTS, "train_bf16.json"), *steps])] if native_bfloat16 else []
    return [
        ("ceiling", ["scripts/bench_ceiling.py"]),
        ("train_fp32", ["scripts/bench_train.py", "--precision", "float32", "--output",
                        os.path.join(RESULTS, "train_fp32.json"), *steps]),
        *bf16,
        ("input", ["scripts/bench_input.py", "--seconds", "5" if quick else "20"]),
        ("serving", ["scripts/bench_serving.py", "--repeats", "10" if quick else "50"]),
        ("render", ["scripts/bench_render.py"] + (["--count", "300"] if quick else [])),
        ("convert", ["scripts/bench_convert.py"] + (["--sizes", "2000"] if quick else [])),
    ]


def machine() -> str:
    from common import cpu_features, cpu_name, describe_cpu

    cpu = cpu_name()
    if cpu == "unknown":
        cpu = platform.processor() or platform.machine()
    memory = ""
    try:
        with open("/proc/meminfo") as handle:
            memory = f", {int(handle.readline().split()[1]) / 2 ** 20:.0f} GiB"
    except OSError:
        pass
    import tensorflow as tf

    return (f"{cpu}, {os.cpu_count()} cores{memory}; {describe_cpu(cpu_features())}; Python "
            f"{platform.python_version()}, TensorFlow {tf.__version__}")


def derived(results: dict) -> dict:
    """Ratios that compare figures of this one run."""
    out = {}
    ceiling, fp32, bf16 = results.get("ceiling"), results.get("train_fp32"), results.get("train_bf16")
    for name, run in (("fp32", fp32), ("bf16", bf16)):
        if ceiling and run:
            achieved = run["images_per_second"] * ceiling["crnn_training_gflop_per_image"]
            out[f"training_{name}_gflops"] = round(achieved, 1)
            out[f"training_{name}_fraction_of_fp32_matmul_ceiling"] = round(achieved / ceiling["matmul_fp32_gflops"], 3)
            out[f"training_{name}_fraction_of_bf16_matmul_ceiling"] = round(achieved / ceiling["matmul_bf16_gflops"], 3)
            out[f"training_{name}_speedup_over_keras_fit_fp32"] = run["speedup_over_keras_fit_fp32"]
    if ceiling and bf16 and bf16.get("keras_fit_fp32_images_per_second"):
        # What 2x the fp32 model.fit baseline would demand of the bf16 hardware.
        needed = 2 * bf16["keras_fit_fp32_images_per_second"] * ceiling["crnn_training_gflop_per_image"]
        out["bf16_matmul_ceiling_fraction_needed_for_2x_keras_fit"] = round(needed / ceiling["matmul_bf16_gflops"], 3)
    if results.get("input") and fp32:
        best = max(r["images_per_second"] for r in (fp32, bf16) if r)
        out["input_over_training_rate"] = round(results["input"]["images_per_second"] / best, 1)
    return out


def kept_section(path: str) -> str:
    """The hand-written tail of an existing BENCHMARKS.md, from the marker on ('' if none)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return ""
    index = text.find(KEPT_MARKER)
    return text[index:] if index >= 0 else ""


def table_rows(result, prefix: str = ""):
    """(figure, value) rows of a benchmark's JSON: nested keys joined with ' / ', short
    lists of numbers inline, lists of records as one row per record."""
    for key, value in result.items():
        if key == "benchmark":
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from table_rows(value, f"{name} / ")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for index, record in enumerate(value):
                yield from table_rows(record, f"{name} [{index}] / ")
        elif isinstance(value, list):
            yield name, ", ".join(_shown(v) for v in value)
        else:
            yield name, _shown(value)


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.1f}"
    return str(value).replace("|", "\\|")


def markdown(results: dict, ratios: dict, commands: dict, machine_line: str, measured: str) -> str:
    lines = ["# Benchmarks", "", f"Machine: {machine_line}.", f"Run: {measured}, "
             "`python scripts/run_benchmarks.py` (each benchmark below is also a script of its own; the raw "
             "figures are in benchmarks/results/).", ""]
    for name, result in list(results.items()) + [("ratios (this run)", ratios)]:
        lines += [f"## {name}", ""]
        if name in commands:
            lines += [f"`python {' '.join(commands[name])}`", ""]
        lines += ["| figure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in table_rows(result)] + [""]
    return "\n".join(lines)


def write_markdown(path: str, results: dict, ratios: dict, commands: dict, machine_line: str, measured: str) -> None:
    """Rewrites `path` from the figures, keeping its hand-written part (from KEPT_MARKER on)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    kept = kept_section(path)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(markdown(results, ratios, commands, machine_line, measured) + ("\n" + kept if kept else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and images, for a smoke run")
    parser.add_argument("--only", default=None, help="comma-separated benchmark names")
    parser.add_argument("--markdown", default=os.path.join(REPO, "docs", "BENCHMARKS.md"))
    parser.add_argument("--markdown_only", action="store_true",
                        help="run nothing: write the markdown again from benchmarks/results/results.json")
    args = parser.parse_args()
    if args.markdown_only:
        with open(os.path.join(RESULTS, "results.json"), encoding="utf-8") as handle:
            saved = json.load(handle)
        write_markdown(args.markdown, saved["results"], saved["ratios"], saved["commands"], saved["machine"],
                       saved.get("measured", "see benchmarks/results/results.json"))
        return
    from common import cpu_features, describe_cpu

    from tf_crnn.precision import cpu_has_bfloat16

    print(describe_cpu(cpu_features()), flush=True)
    if not cpu_has_bfloat16():
        print("no native bfloat16 here: the bfloat16 training benchmark is left out", flush=True)
    results, commands = {}, {}
    selected = set(args.only.split(",")) if args.only else None
    for name, command in benchmarks(args.quick, cpu_has_bfloat16()):
        output = next((command[i + 1] for i, part in enumerate(command) if part == "--output"), None)
        output = output or os.path.join(RESULTS, f"{name}.json")
        if "--output" not in command:
            command = command + ["--output", output]
        if selected and name not in selected:
            if not os.path.isfile(output):
                continue  # a partial run keeps the figures of the last full one
        else:
            print(f"=== {name}: python {' '.join(command)}", flush=True)
            subprocess.run([sys.executable, *command], cwd=REPO, check=True)
        with open(output, encoding="utf-8") as handle:
            results[name] = json.load(handle)
        commands[name] = [os.path.relpath(part, REPO) if part.startswith(REPO) else part for part in command]
    ratios = derived(results)
    os.makedirs(RESULTS, exist_ok=True)
    machine_line = machine()
    with open(os.path.join(RESULTS, "results.json"), "w", encoding="utf-8") as handle:
        json.dump({"machine": machine_line, "measured": str(datetime.date.today()), "results": results,
                   "ratios": ratios, "commands": commands}, handle, indent=2)
    write_markdown(args.markdown, results, ratios, commands, machine_line, str(datetime.date.today()))
    print(json.dumps(ratios, indent=2))


if __name__ == "__main__":
    main()
