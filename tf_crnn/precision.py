"""Which arithmetic a model computes in, and whether this CPU does it natively.

Mixed bfloat16 trains about 1.7x faster on CPUs with native bfloat16 (AVX512-BF16 or
AMX), but a serving graph in bfloat16 runs slower than float32 where it is emulated
(AVX2-only CPUs), and an export cannot know the CPU that will serve it. So exports
compute in float32 unless asked (the config's `export_precision`), and
`warn_if_emulated_bfloat16` lets a command that runs an export say when one in
bfloat16 lands on a CPU that emulates it.
"""

import os
import sys

# What a graph computes in: the dtypes of these ops' `T` attr.
COMPUTE_OPS = ("Conv2D", "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")

# oneDNN's ISA caps (ONEDNN_MAX_CPU_ISA) that exclude its native bfloat16 kernels.
ISAS_WITHOUT_BFLOAT16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX512_CORE", "AVX512_CORE_VNNI")

_warned = False


def bfloat16_capped_off() -> bool:
    """True when `ONEDNN_MAX_CPU_ISA` caps oneDNN below its bfloat16 kernels: there a
    bfloat16 matmul finds no oneDNN primitive at all (it aborts, not emulates)."""
    return os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in ISAS_WITHOUT_BFLOAT16


def onednn_turned_off() -> bool:
    """True when `TF_ENABLE_ONEDNN_OPTS=0` keeps TensorFlow on its own CPU kernels, which
    have no native bfloat16 arithmetic on any CPU (tf_crnn/kernels.py)."""
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip().lower() in ("0", "false")


def cpu_has_bfloat16() -> bool:
    """True on CPUs with native bfloat16 arithmetic (AVX512-BF16 or AMX), where mixed
    bfloat16 trains about 1.7x faster; elsewhere it is emulated and slower than float32.

    `ONEDNN_MAX_CPU_ISA` capped below AVX512_CORE_BF16 keeps oneDNN off those
    instructions, and `TF_ENABLE_ONEDNN_OPTS=0` keeps oneDNN off altogether: either counts
    as no native bfloat16.
    """
    if bfloat16_capped_off() or onednn_turned_off():
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


# NVIDIA GPUs from compute capability 7.0 (Volta) on multiply float16 in tensor cores.
FLOAT16_TENSOR_CORES = (7, 0)


def gpu_compute_capabilities(gpu: str = "") -> list:
    """(major, minor) of each GPU training would see; [] without an NVIDIA device.

    TensorFlow is only imported where the machine has an NVIDIA device node, so a
    CPU-only machine resolves `auto` without loading it. `gpu` is the config's field
    (CUDA_VISIBLE_DEVICES for the run; "-1": none).
    """
    import glob

    if gpu.strip() == "-1" or os.environ.get("CUDA_VISIBLE_DEVICES", "").strip() == "-1":
        return []
    if not glob.glob("/dev/nvidia[0-9]*"):
        return []
    import tensorflow as tf

    capabilities = []
    for device in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(device).get("compute_capability")
        if capability:
            capabilities.append(tuple(capability))
    return capabilities


def resolve_precision(precision: str, gpu: str = "", capabilities=None) -> str:
    """`auto` -> mixed_float16 (with loss scaling) where every GPU training sees has float16
    tensor cores; on a CPU, mixed_bfloat16 where it computes bfloat16 natively; else float32.
    `capabilities` stands in for the GPUs' (tests)."""
    if precision != "auto":
        return precision
    capabilities = gpu_compute_capabilities(gpu) if capabilities is None else capabilities
    if capabilities and all(tuple(c) >= FLOAT16_TENSOR_CORES for c in capabilities):
        return "mixed_float16"
    if capabilities:
        return "float32"  # older GPUs: float16 without tensor cores is no faster
    return "mixed_bfloat16" if cpu_has_bfloat16() else "float32"


def bfloat16_compute_ops(saved_model_dir: str) -> list:
    """(op type, node name) of every Conv2D/MatMul/BatchMatMul computing in bfloat16 in a
    SavedModel's graphs, their function library included (the LSTMs' loops live there).

    Reads saved_model.pb only: nothing is loaded or run.
    """
    from tensorflow.core.framework import types_pb2
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as handle:
        saved_model.ParseFromString(handle.read())
    found = []
    for meta_graph in saved_model.meta_graphs:
        graph = meta_graph.graph_def
        nodes = list(graph.node) + [node for function in graph.library.function for node in function.node_def]
        found += [(node.op, node.name) for node in nodes
                  if node.op in COMPUTE_OPS and node.attr["T"].type == types_pb2.DT_BFLOAT16]
    return found


def saved_model_precision(saved_model_dir: str) -> str:
    """What an export computes in: its metadata's `precision`, or, for exports made before
    the metadata recorded it, what its graph's Conv2D/MatMul compute in."""
    from tf_crnn.model_files import read_metadata

    precision = read_metadata(saved_model_dir).get("precision")
    if precision is None:
        precision = "mixed_bfloat16" if bfloat16_compute_ops(saved_model_dir) else "float32"
    return precision


def warn_if_emulated_bfloat16(metadata_or_saved_model_dir) -> bool:
    """Prints one warning line to stderr, once per process, when an export whose metadata
    says it computes in bfloat16 runs on a CPU without native bfloat16; returns whether
    it warned.

    Takes an export's metadata (tf_crnn/model_files.py's read_metadata) or its folder.
    """
    global _warned
    if _warned:
        return False
    if isinstance(metadata_or_saved_model_dir, dict):
        precision = metadata_or_saved_model_dir.get("precision", "float32")
    else:
        precision = saved_model_precision(metadata_or_saved_model_dir)
    if "bfloat16" not in precision or cpu_has_bfloat16():
        return False
    _warned = True
    print("warning: this export computes in bfloat16, which this CPU emulates (no AVX512-BF16 or AMX): "
          "it runs slower than float32; re-export it (python export_model.py exports in float32 "
          "unless given --precision mixed_bfloat16)", file=sys.stderr)
    return True
