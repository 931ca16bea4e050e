"""Training runs timed by the wall clock, for the benchmarks that compare how fast models learn.

`train_for_minutes` starts `python -m tf_crnn.train CONFIG` in a fresh model dir and
stops it after a number of minutes counted from its first training step (start-up is not
counted; evaluations are, as a user waits for them) or once an evaluation reaches a bar.
It returns the evaluations as (step, minutes, word accuracy) and the mean throughput.
Used by bench_time_to_accuracy.py (backbones) and bench_fine_tune.py (warm start).
"""

import os
import shutil
import subprocess
import sys
import time
from typing import Optional

from plot_training import read_scalars  # the scripts folder is sys.path[0]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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
