"""Inference speed of an exported serving SavedModel: words/s and latency at batch 1 and 64.

Feeds encoded PNG bytes to `serving_default`, as TF Serving would. Without
`--saved_model`, it trains `--config`'s network (default: the paper's CRNN from
model_params.json) for one step on generated 32x100 images and exports it: speed does
not depend on the weights. Prints the figures and writes benchmarks/results/serving.json,
with what the export computes in (its metadata's `precision`) and `ONEDNN_MAX_CPU_ISA`
when set (ONEDNN_MAX_CPU_ISA=AVX2 on an AVX-512 CPU keeps oneDNN on, capped at AVX2: not
the kernels an AVX2-only CPU runs, which `TF_ENABLE_ONEDNN_OPTS=0` gives); an export in
bfloat16 on a CPU that emulates it gets the warning of tf_crnn/precision.py.

    python scripts/bench_serving.py [--saved_model DIR] [--config model_params.json] [--repeats 30] [--format jpeg]
"""

import argparse
import os
import sys
import tempfile
import time

from common import latency_percentiles, make_shards, write_result  # the scripts folder is sys.path[0]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tf_crnn.errors import exit_on_user_error  # noqa: E402


def export_untrained(config_path, work):
    """One training step of the configured network, exported as a serving SavedModel."""

    from tf_crnn.config import load_config, write_resolved
    from tf_crnn.data.input import make_input_fn
    from tf_crnn.export.saved_model import export_saved_model
    from tf_crnn.model.estimator import make_estimator

    files = make_shards(os.path.join(work, "shards"), count=256)
    config = load_config(config_path, {"model_dir": os.path.join(work, "model"), "batch_size": 8})
    write_resolved(config, config.model_dir)
    make_estimator(config).train(make_input_fn(config, files, training=True), steps=1)
    return export_saved_model(config.model_dir, os.path.join(work, "export")), files


def sample_images(files, count, image_format="png"):
    """`count` encoded images of the shards (PNG), re-encoded as JPEG if asked: the serving
    graph reads each format's header its own way (tf_crnn/data/graph_images.py)."""
    import io

    from PIL import Image

    from tf_crnn.data.schema import read_examples

    images = []
    for path in files:
        images.extend(image for image, _, _ in read_examples(path))
        if len(images) >= count:
            break
    if image_format == "jpeg":
        for index, data in enumerate(images):
            out = io.BytesIO()
            Image.open(io.BytesIO(data)).save(out, format="JPEG", quality=90)
            images[index] = out.getvalue()
    return images[:count]


def time_batches(serve, images, batch_size, repeats):
    import tensorflow as tf

    batch = tf.constant(images[:batch_size])
    serve(images=batch)  # warm-up: first call builds the function
    latencies = []
    for _ in range(repeats):
        start = time.perf_counter()
        serve(images=batch)["words"].numpy()
        latencies.append(time.perf_counter() - start)
    p50, p99 = latency_percentiles(latencies)
    return {"batch_size": batch_size, "words_per_second": round(batch_size / (sum(latencies) / len(latencies)), 1),
            "latency_p50_ms": round(p50 * 1000, 2), "latency_p99_ms": round(p99 * 1000, 2),
            "per_image_ms_p50": round(p50 * 1000 / batch_size, 2)}


@exit_on_user_error
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saved_model", default=None)
    parser.add_argument("--config", default=os.path.join(REPO, "model_params.json"))
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--format", choices=("png", "jpeg"), default="png", help="the bytes sent (default: png)")
    parser.add_argument("--output", default=os.path.join(REPO, "benchmarks", "results", "serving.json"))
    args = parser.parse_args()

    import tensorflow as tf


    from tf_crnn.precision import saved_model_precision, warn_if_emulated_bfloat16
    from tf_crnn.model_files import resolve_saved_model

    with tempfile.TemporaryDirectory() as work:
        if args.saved_model:
            saved_model = resolve_saved_model(args.saved_model)
            files = make_shards(os.path.join(work, "shards"), count=128)
        else:
            saved_model, files = export_untrained(args.config, work)
        precision = saved_model_precision(saved_model)
        warn_if_emulated_bfloat16(saved_model)
        serve = tf.saved_model.load(saved_model).signatures["serving_default"]
        images = sample_images(files, 64, args.format)
        results = [time_batches(serve, images, size, args.repeats) for size in (1, 64)]
    report = {"benchmark": "serving", "saved_model": args.saved_model or f"untrained {os.path.relpath(args.config, REPO)}",
              "input": f"32x100 grayscale {args.format.upper()} bytes", "precision": precision,
              "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "not set"), "results": results}
    write_result(report, args.output)


if __name__ == "__main__":
    main()
