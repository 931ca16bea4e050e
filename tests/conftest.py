"""Shared fixtures: tiny data sets made here, with Pillow's built-in scalable font.

`make test` runs the suite in two pytest-xdist workers. The costly session fixtures (the
tiny shards, the tiny trained model) are made once per run in a folder both workers
share, under a lock: the first worker makes them, the other waits and reuses them.

Tests that train a model or run a whole chain of commands are marked `slow` here (by the
fixtures they use, or by their file), so `pytest -m "not slow" tests` is a quick loop;
`make test` runs them all.
"""

import contextlib
import fcntl
import json
import os
import random
import subprocess
import sys

import pytest
from PIL import Image, ImageDraw, ImageFont

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# `make test` runs two workers, each starting TensorFlow processes one after another. Each
# process would otherwise size its thread pool for every core of the machine, and two such
# pools on two cores preempt each other. With one share of the cores per worker the suite
# took 634 s against 678 s (one run each, oneDNN capped at AVX2 on an AVX-512 CPU;
# docs/BENCHMARKS.md). Subprocesses inherit the variable.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT") and "TF_NUM_INTRAOP_THREADS" not in os.environ:
    _share = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(_share)
LOWER_ALNUM = "0123456789abcdefghijklmnopqrstuvwxyz"
# What makes a test slow: a trained model (made once per run, but minutes the first time)
# or a file whose tests train, resume, or run the recipe's and the walk-through's commands.
SLOW_FIXTURES = {"trained_tiny", "tiny_shards"}
SLOW_FILES = {"test_end_to_end.py", "test_mobilenet_end_to_end.py", "test_multiworker.py", "test_resume.py",
              "test_determinism.py", "test_stn.py", "test_warm_start.py", "test_cyrillic_and_greek_end_to_end.py",
              "test_fine_tune_walkthrough.py", "test_recipe.py", "test_export_precision.py",
              "test_distribute.py"}
# Steps of the tiny model that trained_tiny trains (and the end-to-end tests train alike):
# with the batch norms' momentum at 0.9 it reads all of its training words after 300 (200:
# 81%); at Keras' 0.99 it needed 700, its moving statistics lagging behind its weights.
# With one LSTM layer of 64 it read all of its held-out words at 150 steps, with the vgg or
# the mobilenet_v3 backbone, alone or mirrored over two CPU devices, on both CPU kernel
# paths (2026-12-07, AVX2-only AMD EPYC): 200 leaves a margin.
TINY_STEPS = 200
TINY_WORDS = ["cat", "dog", "sun", "tree", "42", "bird", "fish", "moon", "7up", "zoo"]
# The files that take longest, longest first. `make test` hands whole files to its two
# workers in collection order (--dist loadfile --no-loadscope-reorder), so starting these
# first leaves the short files to fill the gaps at the end instead of one long file running
# alone while the other worker idles. (xdist's own reordering puts the files with most tests
# first: the long single-test files then came last.) The order is that of the files' times
# in a full run (docs/BENCHMARKS.md, "The test suite's time").
LONGEST_FILES = ["test_warm_start.py", "test_distribute.py", "test_cyrillic_and_greek_end_to_end.py",
                 "test_mobilenet_end_to_end.py", "test_determinism.py", "test_multiworker.py",
                 "test_fine_tune_walkthrough.py", "test_stn.py", "test_sources.py", "test_kernel_paths.py",
                 "test_benchmarks.py", "test_bad_input.py", "test_recipe.py", "test_resume.py", "test_evaluate.py",
                 "test_tflite.py", "test_end_to_end.py", "test_export_precision.py", "test_onnx.py",
                 "test_convert_formats.py", "test_synth.py", "test_readme.py", "test_bench_vs_rapidocr.py"]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: trains a model or runs a chain of commands (-m 'not slow' skips it)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SLOW_FILES or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    rank = {name: index for index, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


def render_text(text: str, size: int = 22, pad: int = 4) -> Image.Image:
    """Black text on white, tightly cropped: clean enough to learn in seconds."""
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (right - left + 2 * pad, 32), 255)
    ImageDraw.Draw(image).text((pad - left, 16), text, font=font, fill=0, anchor="lm")
    return image


def training_images(root):
    """(image path, label) of a set written by `write_list_dataset` (its list.txt) under `root/images`."""
    with open(root / "images" / "list.txt", encoding="utf-8") as handle:
        return [(str(root / "images" / line.split(" ", 1)[0]), line.split(" ", 1)[1].strip()) for line in handle]


def write_list_dataset(folder, words, count, seed=0, name="list.txt", fmt="png"):
    """Renders `count` images of random `words` into `folder` with a `path label` list file."""
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(seed)
    lines = []
    for index in range(count):
        word = words[index % len(words)] if index < len(words) else rng.choice(words)
        file_name = f"img{index:05d}.{fmt}"
        render_text(word).save(os.path.join(folder, file_name))
        lines.append(f"{file_name} {word}\n")
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
    return path


def run_module(module, *args, timeout=600, check=False, env=None):
    """Runs `python -m module args` in a fresh process; returns the CompletedProcess."""
    full_env = dict(os.environ, PYTHONPATH=REPO, **(env or {}))
    result = subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                            timeout=timeout, env=full_env, cwd=REPO)
    if check and result.returncode != 0:
        raise AssertionError(f"{module} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def kill_9_once_saved(command, checkpoint_index, log_path, settle_seconds=0.0):
    """Starts `command` (a training), waits up to 300 s for `checkpoint_index` to appear,
    then kills it with SIGKILL, as a crash would; its output goes to `log_path`."""
    import signal
    import time

    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                                   env=dict(os.environ, PYTHONPATH=REPO))
        deadline = time.time() + 300
        while time.time() < deadline and not os.path.exists(checkpoint_index):
            assert process.poll() is None, open(log_path, encoding="utf-8").read()
            time.sleep(0.5)
        time.sleep(settle_seconds)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def assert_clean_error(result, *fragments):
    """A user error: exit status 2, one `error:` message, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert "error:" in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def write_text_atomically(path, text: str) -> None:
    """Another worker may be reading the same file: it sees the old or the new text, never half."""
    staged = f"{path}.{os.getpid()}.tmp"
    with open(staged, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(staged, path)


def write_config(path, **fields):
    write_text_atomically(path, json.dumps(fields))
    return str(path)


def run_wide_folder(tmp_path_factory, name):
    """`name` in the folder this test run's workers share (the basetemp itself without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name


@contextlib.contextmanager
def made_once(folder):
    """Yields True to the one process that must make `folder`, False to those after it.

    Holds an exclusive lock on `folder`.lock meanwhile, so a second worker waits for the
    first to finish; `folder`.made marks success (after a failure the next one tries again).
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    marker = folder.with_name(folder.name + ".made")
    with open(folder.with_name(folder.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            yield False
            return
        yield True
        marker.touch()


def tiny_model_fields(tmp_path, **overrides):
    """A config for a small, fast CRNN on shards under tmp_path/shards."""
    alphabet = tmp_path / "alphabet.txt"
    text = "".join(c + "\n" for c in LOWER_ALNUM)
    if not alphabet.exists() or alphabet.read_text(encoding="utf-8") != text:
        write_text_atomically(alphabet, text)
    fields = dict(
        train_files=[str(tmp_path / "shards" / "tiny-train-*.tfrecord")],
        eval_files=[str(tmp_path / "shards" / "tiny-val-*.tfrecord")],
        model_dir=str(tmp_path / "model"),
        alphabet_file=str(alphabet),
        conv_channels=[16, 32, 48, 48, 64, 64, 64],
        lstm_units=[64],  # one layer: each command builds a quarter less graph than with [48, 48]
        batch_size=16,
        train_steps=400,
        save_checkpoints_steps=200,
        log_step_count_steps=50,
        bucket_boundaries=[],
        learning_rate=0.003,
        shuffle_buffer=500,
        augmentation={"enabled": False},
        deterministic=True,  # a test's verdict must not hang on how busy the machine is
        batch_norm_momentum=0.9,  # short runs: see TINY_STEPS
    )
    fields.update(overrides)
    return fields


@pytest.fixture(scope="session", autouse=True)
def run_wide_cache(tmp_path_factory):
    """Fitted language models go to a cache folder of this test run, not the user's own
    (tf_crnn/cache.py), and so do the font probes; the commands the tests start inherit it."""
    if "TF_CRNN_CACHE" not in os.environ:
        os.environ["TF_CRNN_CACHE"] = str(run_wide_folder(tmp_path_factory, "cache"))


@pytest.fixture(scope="session")
def tiny_shards(tmp_path_factory):
    """Train/val shards of TINY_WORDS rendered 240 times (made once per run)."""
    from tf_crnn.cli import convert as convert_cli
    from tf_crnn.data import convert

    root = run_wide_folder(tmp_path_factory, "tiny")
    with made_once(root) as must_make:
        if must_make:
            list_file = write_list_dataset(str(root / "images"), TINY_WORDS, 240)
            args = convert_cli.parse_args([list_file, "--output_dir", str(root / "shards"), "--prefix", "tiny",
                                       "--examples_per_shard", "64", "--val_ratio", "0.2", "--workers", "1"])
            convert.convert(args)
    return root


@pytest.fixture(scope="session")
def trained_tiny(tiny_shards):
    """A small CRNN trained on the tiny set until it reads it (once per run); returns (root, config path)."""
    fields = tiny_model_fields(tiny_shards, train_steps=TINY_STEPS, save_checkpoints_steps=TINY_STEPS // 2,
                               learning_rate_schedule="cosine", decay_steps=TINY_STEPS, decay_rate=0.05)
    config = tiny_shards / "params.json"
    with made_once(tiny_shards / "model") as must_make:
        if must_make:
            write_config(config, **fields)
            run_module("tf_crnn.train", config, check=True, timeout=900)
    return tiny_shards, str(config)
