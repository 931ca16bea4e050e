"""Measures the converter's speed and memory on an MJSynth-like set it makes itself.

    python scripts/bench_convert.py [--sizes 10000,100000] [--workers N] [--out benchmarks/results/convert.json]

For each size: that many real JPEG crops (about 100x32, random words) in an MJSynth-like
tree (`./<dir>/<dir>/<i>_<Word>_<lexicon index>.jpg`) with its annotation file, made in a
temporary folder; then `python -m tf_crnn.data.convert` on it, as a subprocess, with
`--format auto`. Figures per size:

- images/s end to end (process start to exit: start-up, TensorFlow import in the
  workers, planning, writing, final move) and the converter's own figure (writing phase);
- peak RSS (VmHWM, polled from /proc) of the converter process and of each worker, and
  the peak of the whole process tree from wait4's rusage as a cross-check.

Making 100k input files must not take longer than converting them, so a few hundred
crops are rendered and JPEG-encoded once and written under many names, each name
carrying the word its crop shows. The files are then in the page cache: the figures are
for warm-cache input.
"""

import argparse
import io
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from common import write_result  # the scripts folder is sys.path[0]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DISTINCT_CROPS = 300
FILES_PER_FOLDER = 1000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated image counts")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--output", "--out", dest="out", default=os.path.join(REPO, "benchmarks/results/convert.json"))
    parser.add_argument("--note", default="", help="written with the figures (e.g. what else ran on the machine)")
    args = parser.parse_args()
    args.sizes = [int(size) for size in args.sizes.split(",")]
    return args


def random_word(rng: random.Random) -> str:
    word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 10)))
    return rng.choice([word, word.upper(), word.capitalize()])


def encoded_crop(word: str, rng: random.Random) -> bytes:
    """A JPEG of `word` about 100x32: coloured text on a noisy background, like MJSynth's."""
    font = ImageFont.load_default(size=rng.randint(20, 26))
    left, top, right, bottom = font.getbbox(word)
    background = tuple(rng.randint(120, 255) for _ in range(3))
    ink = tuple(rng.randint(0, 100) for _ in range(3))
    image = Image.new("RGB", (right - left + 8, 32), background)
    ImageDraw.Draw(image).text((4 - left, 16), word, font=font, fill=ink, anchor="lm")
    pixels = np.asarray(image, dtype=np.int16) + np.random.default_rng(rng.getrandbits(32)).integers(
        -20, 21, (32, image.width, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).resize((rng.randint(80, 120), 32))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def make_mjsynth_like(root: str, count: int, seed: int = 0) -> str:
    """`count` JPEG crops under `root` and `root/annotation.txt`; returns the annotation path."""
    rng = random.Random(seed)
    crops = [(word, encoded_crop(word, rng)) for word in (random_word(rng) for _ in range(DISTINCT_CROPS))]
    lines = []
    for index in range(count):
        word, data = crops[rng.randrange(DISTINCT_CROPS)]
        lexicon_index = rng.randrange(90000)
        relative = f"{index // FILES_PER_FOLDER}/{index % 7 + 1}/{index}_{word}_{lexicon_index}.jpg"
        path = os.path.join(root, relative)
        if index % FILES_PER_FOLDER < 7:  # the first file of each subfolder
            os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
        lines.append(f"./{relative} {lexicon_index}\n")
    annotation = os.path.join(root, "annotation.txt")
    with open(annotation, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
    return annotation


def _children(pid: int):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:
        return []


def _peak_rss_kb(pid: int):
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def run_converter(annotation: str, output_dir: str, workers: int, log_path: str) -> dict:
    """Runs the converter, polling the peak RSS of its process tree until it exits."""
    command = [sys.executable, "-m", "tf_crnn.data.convert", annotation, "--output_dir", output_dir,
               "--prefix", "bench", "--workers", str(workers)]
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    peaks = {}
    with open(log_path, "w") as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        while True:
            tree, pending = [], [process.pid]
            while pending:
                pid = pending.pop()
                tree.append(pid)
                pending.extend(_children(pid))
            for pid in tree:
                peak = _peak_rss_kb(pid)
                if peak is not None:
                    peaks[pid] = max(peak, peaks.get(pid, 0))
            finished, status, usage = os.wait4(process.pid, os.WNOHANG)
            if finished:
                break
            time.sleep(0.1)
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        with open(log_path) as log:
            raise SystemExit(f"converter failed ({process.returncode}):\n{log.read()[-3000:]}")
    workers_peak = [kb for pid, kb in peaks.items() if pid != process.pid]
    return {
        "seconds": seconds,
        "parent_peak_rss_mb": peaks.get(process.pid, 0) / 1024,
        "worker_peak_rss_mb": max(workers_peak, default=0) / 1024,
        "workers_seen": len(workers_peak),
        "tree_peak_rss_mb_from_rusage": usage.ru_maxrss / 1024,
    }


def measure(count: int, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_convert_") as root:
        start = time.perf_counter()
        annotation = make_mjsynth_like(os.path.join(root, "mjsynth"), count)
        generate_seconds = time.perf_counter() - start
        print(f"{count}: input made in {generate_seconds:.1f}s, converting ...", file=sys.stderr)
        figures = run_converter(annotation, os.path.join(root, "shards"), workers, os.path.join(root, "log.txt"))
        with open(os.path.join(root, "shards", "bench-report.json"), encoding="utf-8") as handle:
            report = json.load(handle)
        shard_bytes = sum(os.path.getsize(os.path.join(root, "shards", name)) for name in report["shards"])
    return {
        "images": count,
        "workers": workers,
        "written": report["written_total"],
        "images_per_second_end_to_end": count / figures["seconds"],
        "images_per_second_writing_phase": report["images_per_second"],
        "planning_seconds": report["planning_seconds"],
        "input_generation_seconds": generate_seconds,
        "shard_megabytes": shard_bytes / 2 ** 20,
        **figures,
    }



def main():
    args = parse_args()
    results = {
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "note": args.note,
        "input": "warm page cache (files just written)",
        "runs": [measure(count, args.workers) for count in args.sizes],
    }
    write_result(results, args.out)


if __name__ == "__main__":
    main()
