"""Input pipeline throughput with no model: shards -> decoded, resized, augmented batches.

Uses the training input_fn of `--config` (augmentation on) over generated 32x100 shards
and counts images/s over `--seconds`. To keep the model fed it should run at least 10x
faster than training. Prints the figures and writes benchmarks/results/input.json.

    python scripts/bench_input.py [--config model_params.json] [--batch_size 64] [--seconds 15]
"""

import argparse
import os
import sys
import tempfile
import time

from common import make_shards, write_result  # the scripts folder is sys.path[0]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tf_crnn.errors import exit_on_user_error  # noqa: E402


@exit_on_user_error
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.path.join(REPO, "model_params.json"))
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--output", default=os.path.join(REPO, "benchmarks", "results", "input.json"))
    args = parser.parse_args()


    from tf_crnn.config import load_config
    from tf_crnn.data.input import make_dataset

    with tempfile.TemporaryDirectory() as work:
        files = make_shards(work, count=2048)
        config = load_config(args.config, {"model_dir": os.path.join(work, "model"), "batch_size": args.batch_size})
        batches = iter(make_dataset(config, files, training=True))
        for _ in range(5):  # warm-up: fill the shuffle buffer
            next(batches)
        images, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            features, _ = next(batches)
            images += int(features["widths"].shape[0])
        rate = images / (time.perf_counter() - start)
    result = {"benchmark": "input_pipeline", "config": os.path.relpath(args.config, REPO),
              "batch_size": args.batch_size, "augmentation": config.augmentation.enabled,
              "images_per_second": round(rate, 1)}
    write_result(result, args.output)


if __name__ == "__main__":
    main()
