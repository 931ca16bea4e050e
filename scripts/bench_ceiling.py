"""The CPU's ceiling as TensorFlow sees it, and the CRNN's cost per image.

Measures fp32 and bf16 GFLOP/s of a large matmul and of a 3x3 convolution shaped like
the CRNN's middle layers, and counts the forward FLOPs of one 32x100 image through the
configured network, with each backbone (`vgg`, `mobilenet_v3`; 2 FLOPs per multiply-add).
Training costs about 3x the forward pass, so `images/s x 3 x forward FLOPs` over the ceiling is the fraction of the machine a
training run uses. Prints the figures and writes benchmarks/results/ceiling.json.

    python scripts/bench_ceiling.py [--config model_params.json]
"""

import argparse
import os
import sys
import time

from common import write_result  # the scripts folder is sys.path[0]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tf_crnn.errors import exit_on_user_error  # noqa: E402


def _best_rate(fn, flops, repeats=10):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


def matmul_gflops(dtype, size=2048):
    import tensorflow as tf

    a = tf.random.normal([size, size], dtype=tf.float32)
    b = tf.random.normal([size, size], dtype=tf.float32)
    a, b = tf.cast(a, dtype), tf.cast(b, dtype)
    run = tf.function(lambda: tf.reduce_sum(tf.cast(tf.matmul(a, b), tf.float32)))
    return _best_rate(lambda: run().numpy(), 2.0 * size ** 3)


def conv_gflops(dtype, batch=64, height=8, width=25, channels=256):
    import tensorflow as tf

    x = tf.cast(tf.random.normal([batch, height, width, channels]), dtype)
    kernel = tf.cast(tf.random.normal([3, 3, channels, channels]), dtype)
    run = tf.function(lambda: tf.reduce_sum(tf.cast(tf.nn.conv2d(x, kernel, 1, "SAME"), tf.float32)))
    return _best_rate(lambda: run().numpy(), 2.0 * batch * height * width * channels * channels * 9)


def forward_flops(config, backbone: str, height=32, width=100) -> int:
    """Floating-point operations of one 32x100 image through `config`'s network with `backbone`.

    Counted by TensorFlow's profiler on the frozen graph with the LSTMs unrolled (a loop's
    body would be counted once), so every backbone is measured the same way.
    """
    import dataclasses

    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from tf_crnn.model.network import build_network

    network = build_network(dataclasses.replace(config, backbone=backbone), len(config.alphabet) + 1,
                            precision="float32", unroll=True)
    spec = tf.TensorSpec([1, height, width, config.channels], tf.float32)
    frozen = convert_variables_to_constants_v2(tf.function(lambda x: network(x, None)).get_concrete_function(spec))
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(frozen.graph, options=options).total_float_ops


@exit_on_user_error
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.path.join(REPO, "model_params.json"))
    parser.add_argument("--output", default=os.path.join(REPO, "benchmarks", "results", "ceiling.json"))
    args = parser.parse_args()

    import tensorflow as tf

    from tf_crnn.config import BACKBONES, load_config
    from tf_crnn.precision import bfloat16_capped_off

    config = load_config(args.config)
    flops = {backbone: forward_flops(config, backbone) for backbone in BACKBONES}
    forward = flops[config.backbone]
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA", "")
    # Such a cap keeps oneDNN on, with no bfloat16 matmul: the process aborts instead of
    # running it emulated as an AVX2-only CPU (TensorFlow's own kernels) does.
    bf16 = not bfloat16_capped_off()
    result = {
        "benchmark": "cpu_ceiling",
        "onednn_max_cpu_isa": cap or "not set",
        "matmul_fp32_gflops": round(matmul_gflops(tf.float32), 1),
        "matmul_bf16_gflops": round(matmul_gflops(tf.bfloat16), 1) if bf16 else f"skipped under {cap}",
        "conv3x3_fp32_gflops": round(conv_gflops(tf.float32), 1),
        "conv3x3_bf16_gflops": round(conv_gflops(tf.bfloat16), 1) if bf16 else f"skipped under {cap}",
        "crnn_forward_gflop_per_image": round(forward / 1e9, 3),
        "crnn_training_gflop_per_image": round(3 * forward / 1e9, 3),
        "forward_gflop_per_image_by_backbone": {name: round(value / 1e9, 3) for name, value in flops.items()},
        "width_multiplier": config.width_multiplier,
        "config": os.path.relpath(args.config, REPO),
    }
    write_result(result, args.output)


if __name__ == "__main__":
    main()
