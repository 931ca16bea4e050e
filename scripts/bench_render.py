"""Measures how fast synthetic words are made, and writes the figures to a JSON file.

    python scripts/bench_render.py [--count 2000] [--out benchmarks/results/render.json]

Three figures: the renderer alone in this process (words drawn, no encoding), and the
whole generator (render, JPEG-encode, write shards) with one worker and with all cores,
timed from the call to the last shard written, start-up of the worker processes included.
"""

import argparse
import os
import platform
import tempfile
import time

import numpy as np

from tf_crnn.synth.fonts import find_fonts
from tf_crnn.synth.generate import DEFAULT_CHARSET, generate
from tf_crnn.synth.render import render_word
from tf_crnn.synth.words import WordSampler

from common import write_result  # the scripts folder is sys.path[0]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="images per measurement")
    parser.add_argument("--output", "--out", dest="out", default="benchmarks/results/render.json")
    return parser.parse_args()


def renderer_rate(count: int) -> dict:
    """Images/s of `render_word` alone, after a short warm-up that fills the font cache."""
    fonts = find_fonts()
    rng = np.random.default_rng(0)
    words = WordSampler(DEFAULT_CHARSET, rng)
    for _ in range(100):
        render_word(words.sample(), rng, fonts)
    sizes = []
    start = time.perf_counter()
    for _ in range(count):
        sizes.append(render_word(words.display_form(words.sample()), rng, fonts).size)
    seconds = time.perf_counter() - start
    width, height = np.mean(sizes, axis=0)
    return {"images_per_second": count / seconds, "mean_width": float(width), "mean_height": float(height)}


def generator_rate(count: int, workers: int) -> dict:
    """Images/s of `generate` into a temporary directory with `workers` processes."""
    with tempfile.TemporaryDirectory() as output_dir, open(os.devnull, "w") as quiet:
        start = time.perf_counter()
        generate(output_dir, count=count, val_count=0, seed=1, workers=workers, examples_per_shard=250, log=quiet)
        seconds = time.perf_counter() - start
    return {"workers": workers, "images_per_second": count / seconds, "seconds": seconds}


def import_tensorflow_untimed():
    """Loads the TensorFlow-based writer before any timing starts. Done in `main`, not at
    the top of the script: worker processes import this script, and must not load it."""
    import tf_crnn.data.writer  # noqa: F401


def main():
    args = parse_args()
    import_tensorflow_untimed()
    cores = os.cpu_count() or 1
    results = {
        "count": args.count,
        "cpu_count": cores,
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "fonts": len(find_fonts()),
        "render_only_1_process": renderer_rate(args.count),
        "generate_1_worker": generator_rate(args.count, 1),
        f"generate_{cores}_workers": generator_rate(args.count, cores),
    }
    write_result(results, args.out)


if __name__ == "__main__":
    main()
