"""What every benchmark script does with its figures: print them and write them as JSON."""

import json
import os
import sys


CPU_FEATURES = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")


def cpu_features() -> dict:
    """Which of the features that set TensorFlow's speed this CPU has, and the oneDNN cap.

    Figures differ 3-4x between CPUs with AVX-512 and native bfloat16 and CPUs with AVX2
    only, so every result says which it came from; ONEDNN_MAX_CPU_ISA (e.g. AVX2) makes
    TensorFlow's oneDNN kernels act as the slower kind, and such figures are emulated.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = set(next((line for line in handle if line.startswith("flags")), "").split())
    except OSError:
        flags = set()
    features = {name: name in flags for name in CPU_FEATURES}
    features["onednn_max_cpu_isa"] = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return features


def describe_cpu(features: dict) -> str:
    """One line: the features present, and the oneDNN cap when one is set."""
    present = " ".join(name for name in CPU_FEATURES if features.get(name)) or "none of " + " ".join(CPU_FEATURES)
    cap = features.get("onednn_max_cpu_isa")
    return f"CPU features: {present}" + (f"; ONEDNN_MAX_CPU_ISA={cap} (emulated)" if cap else "")


def latency_percentiles(latencies) -> tuple:
    """(p50, p99) of per-call latencies: the median and the 99th percentile by rank."""
    ordered = sorted(latencies)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo ('unknown' where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            return next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown"


def write_result(result: dict, path: str) -> None:
    """Prints `result` and writes it to `path` (folders made as needed)."""
    print(json.dumps(result, indent=2))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
        handle.write("\n")
    print(f"wrote {path}", file=sys.stderr)
