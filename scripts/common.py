"""What the scripts share: the CPU a figure came from, writing figures, shards for the speed
benchmarks, running a recipe's stages, reading a run's TensorBoard scalars, and training
for a number of minutes.

Only the runnable recipes and benchmarks of this folder import it (the folder is their
sys.path[0]); nothing in tf_crnn/ does.
"""

import glob
import json
import os
import random
import shutil
import subprocess
import sys
import time
from typing import Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def make_shards(folder, count=1024, width=100, height=32, seed=0):
    """Four shards of `count` random lowercase words drawn at 32x100 with Pillow's built-in
    font: data for the speed benchmarks, where what the words look like does not matter."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    from tf_crnn.data.schema import make_example
    from tf_crnn.data.writer import shard_paths, write_shard

    os.makedirs(folder, exist_ok=True)
    rng = random.Random(seed)
    font = ImageFont.load_default(size=22)
    records = []
    for index in range(count):
        word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
        image = Image.new("L", (width, height), 255)
        ImageDraw.Draw(image).text((4, height // 2), word, font=font, fill=0, anchor="lm")
        data = io.BytesIO()
        image.save(data, format="PNG")
        records.append(make_example(data.getvalue(), word, f"bench:{index}"))
    paths = shard_paths(folder, "bench", 4)
    for shard, path in enumerate(paths):
        write_shard(path, records[shard::4])
    return paths


def step(title):
    print(f"\n=== {title}", flush=True)


def run(command):
    """Runs one stage in its own process. A stage that fails has already printed why, so
    this adds one line naming it (not a second traceback) and exits with its status; the
    files of finished stages are kept, so running the script again resumes."""
    print("$ " + " ".join(command), flush=True)
    status = subprocess.run(command, cwd=REPO).returncode
    if status != 0:
        how = f"exit status {status}" if status > 0 else f"killed by signal {-status}"
        print(f"error: stage `{' '.join(command)}` failed ({how}); its output above says why. "
              f"Run {os.path.basename(sys.argv[0])} again to resume (finished stages are kept).",
              file=sys.stderr)
        sys.exit(status if status > 0 else 1)


def read_scalars(folder: str) -> dict:
    """{tag: sorted [(step, wall_time, value)]} from every event file directly in `folder`."""
    import tensorflow as tf

    series = {}
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        try:
            for event in tf.compat.v1.train.summary_iterator(path):
                for value in event.summary.value:
                    if value.HasField("simple_value"):
                        series.setdefault(value.tag, {})[event.step] = (event.wall_time, value.simple_value)
        except tf.errors.DataLossError:
            continue  # the tail of a file cut by a killed run; what came before is kept
    return {tag: sorted((step, t, v) for step, (t, v) in points.items()) for tag, points in series.items()}


# Training runs timed by the wall clock, for the benchmarks that compare how fast models
# learn (bench_time_to_accuracy.py: backbones; bench_fine_tune.py: warm start).
POLL_SECONDS = 10
START_TIMEOUT_SECONDS = 600


def evaluations(model_dir: str, start: float) -> list:
    """[(step, minutes since the first training step, word accuracy)] of the run so far."""
    return [(step, round((wall - start) / 60, 2), round(value, 4))
            for step, wall, value in read_scalars(os.path.join(model_dir, "eval")).get("word_accuracy", [])]


def train_for_minutes(config: str, model_dir: str, minutes: float, batch_size: int,
                      stop_at: Optional[float] = None, extra_args=()) -> dict:
    """Trains `config` (whose model_dir is `model_dir`, emptied first: a time measurement
    never resumes) for `minutes`; returns {"evaluations", "images_per_second"}."""
    shutil.rmtree(model_dir, ignore_errors=True)
    os.makedirs(os.path.dirname(model_dir) or ".", exist_ok=True)
    log_path = model_dir + ".log"
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen([sys.executable, "-m", "tf_crnn.train", config, *extra_args], cwd=REPO,
                                   stdout=log, stderr=subprocess.STDOUT)
        launched, start = time.time(), None
        while process.poll() is None:
            time.sleep(POLL_SECONDS)
            if start is None:
                loss = read_scalars(model_dir).get("loss", [])
                start = loss[0][1] if loss else None
            if start is None:
                if time.time() - launched > START_TIMEOUT_SECONDS:
                    break
                continue
            points = evaluations(model_dir, start)
            if stop_at is not None and points and points[-1][2] >= stop_at:
                break
            if (time.time() - start) / 60 > minutes:
                break
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    if start is None:
        raise SystemExit(f"error: {config} never logged a training step; see {log_path}")
    steps_per_second = [v for _, _, v in read_scalars(model_dir).get("global_step/sec", [])]
    return {"evaluations": evaluations(model_dir, start),
            "images_per_second": round(batch_size * sum(steps_per_second) / len(steps_per_second), 1)
            if steps_per_second else None}
