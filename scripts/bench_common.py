"""What every benchmark script does with its figures: print them and write them as JSON."""

import json
import os
import sys


CPU_FEATURES = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")


def cpu_features() -> dict:
    """Which of the features that set TensorFlow's speed this CPU has, and the kernel settings.

    Figures differ 3-4x between CPUs with AVX-512 and native bfloat16 and CPUs with AVX2
    only, so every result says which it came from. ONEDNN_MAX_CPU_ISA (e.g. AVX2) only caps
    the instructions of TensorFlow's oneDNN kernels and keeps them on: figures under it
    ("emulated AVX2") are not the path of an AVX2-only CPU, where TensorFlow 2.15 runs its
    own kernels. TF_ENABLE_ONEDNN_OPTS=0 runs those own kernels on any CPU (1 forces oneDNN
    on), so it is recorded too.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = set(next((line for line in handle if line.startswith("flags")), "").split())
    except OSError:
        flags = set()
    features = {name: name in flags for name in CPU_FEATURES}
    features["onednn_max_cpu_isa"] = os.environ.get("ONEDNN_MAX_CPU_ISA")
    features["tf_enable_onednn_opts"] = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    return features


def describe_cpu(features: dict) -> str:
    """One line: the features present, then TF_ENABLE_ONEDNN_OPTS and the oneDNN cap when set."""
    present = " ".join(name for name in CPU_FEATURES if features.get(name)) or "none of " + " ".join(CPU_FEATURES)
    opts = features.get("tf_enable_onednn_opts")
    cap = features.get("onednn_max_cpu_isa")
    return (f"CPU features: {present}" + (f"; TF_ENABLE_ONEDNN_OPTS={opts}" if opts else "")
            + (f"; oneDNN kept on, capped (not the kernels of an AVX2-only CPU): ONEDNN_MAX_CPU_ISA={cap} (emulated)"
               if cap else ""))


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
