"""Which of TensorFlow's two sets of CPU kernels a process runs, and the one training picks.

TensorFlow 2.15 chooses when it starts: oneDNN's kernels on CPUs with AVX-512 VNNI,
bfloat16 or AMX, its own (Eigen) kernels on every other CPU (AMD CPUs without AVX-512,
older Intel ones). `TF_ENABLE_ONEDNN_OPTS` (0 or 1) overrides the choice, and nothing can
change it once TensorFlow has run an op. The two accept different ops (TensorFlow's own
take depthwise convolutions with equal strides only) and round differently, so the test
suite checks the network on both (tests/test_kernel_paths.py).

On a 2-core AVX2-only AMD EPYC, oneDNN trained the shipped model's network 1.37 times as
fast as TensorFlow's own kernels, while serving it about as fast (0.88 times at batch 1,
1.05 at batch 64; scripts/bench_kernel_paths.py, docs/BENCHMARKS.md "Kernel paths"). So
training turns oneDNN on where the user has not chosen; the commands that serve leave
TensorFlow's choice. Exports hold standard ops and run on either path.
"""

import os

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"


def use_onednn_for_training() -> None:
    """Turns oneDNN's kernels on for this process unless TF_ENABLE_ONEDNN_OPTS is set;
    call it before TensorFlow runs anything."""
    os.environ.setdefault(ONEDNN_VARIABLE, "1")


def describe_kernels() -> str:
    """One line: the kernels this process runs (TensorFlow must be importable)."""
    from tensorflow.python.util import _pywrap_util_port  # TensorFlow's own switch, read once

    chosen = os.environ.get(ONEDNN_VARIABLE)
    how = f"{ONEDNN_VARIABLE}={chosen}" if chosen is not None else "TensorFlow's choice for this CPU"
    kind = "oneDNN's" if _pywrap_util_port.IsMklEnabled() else "TensorFlow's own"
    return f"CPU kernels: {kind} ({how}; {ONEDNN_VARIABLE}=0 or 1 chooses)"
