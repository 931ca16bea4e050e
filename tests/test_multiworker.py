"""Multi-worker training: a chief, a worker and a parameter server on 127.0.0.1, each with
its own TF_CONFIG, started by scripts/launch_local_cluster.py."""

import os
import re
import signal
import subprocess
import sys
import time

import tensorflow as tf

from conftest import REPO, assert_clean_error, tiny_model_fields, training_images, write_config

LAUNCHER = os.path.join(REPO, "scripts", "launch_local_cluster.py")
TRAIN_STEPS = 300  # more than trained_tiny's TINY_STEPS: two workers' updates arrive stale
LOG_EVERY = 25
STEP_LINE = re.compile(r"loss = [0-9.e+-]+, step = (\d+)")


def _as_in_a_terminal():
    """Ctrl-C as a user at a terminal has it. When the tests run as a shell's background job
    (`make test &`, some CI runners), SIGINT arrives ignored and exec keeps it ignored, so the
    launcher would never see the Ctrl-C the test sends."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cluster(config, model_dir, log_path, *extra):
    """The launcher in its own session, so the test can stop it and everything it started."""
    log = open(log_path, "w")
    process = subprocess.Popen([sys.executable, LAUNCHER, config, "--model_dir", str(model_dir), *extra],
                               stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True,
                               env=dict(os.environ, PYTHONPATH=REPO), preexec_fn=_as_in_a_terminal)
    log.close()
    return process


def task_pids(log_path):
    with open(log_path, encoding="utf-8") as handle:
        return [int(pid) for pid in re.findall(r"\[cluster\] started \w+ \(pid (\d+)\)", handle.read())]


def alive(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has ended; only its exit status is left
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def stop_everything(process, log_path):
    """Ends the launcher and any task still running, whatever state the test left them in."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    for pid in task_pids(log_path):
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def steps_logged(log_file):
    with open(log_file, encoding="utf-8") as handle:
        return [int(step) for step in STEP_LINE.findall(handle.read())]


def test_chief_and_worker_train_one_model_and_export_it(tiny_shards, tmp_path):
    fields = tiny_model_fields(tiny_shards, model_dir=str(tmp_path / "model"), train_steps=TRAIN_STEPS,
                               save_checkpoints_steps=TRAIN_STEPS // 2, log_step_count_steps=LOG_EVERY,
                               learning_rate_schedule="cosine", decay_steps=TRAIN_STEPS, decay_rate=0.05)
    config = write_config(tmp_path / "params.json", **fields)
    model_dir = tmp_path / "model"
    log_path = tmp_path / "launcher.log"
    # TensorFlow's INFO log (the global step of its loss lines, the server start) is what
    # shows the tasks sharing one model: ask every task for it.
    process = start_cluster(config, model_dir, log_path, "--workers", "1", "--ps", "1", "--verbosity=0")
    try:
        status = process.wait(240)
        launcher_log = log_path.read_text()
        assert status == 0, launcher_log[-4000:]
        pids = task_pids(log_path)
        assert len(pids) == 3, launcher_log[:2000]
        assert not [pid for pid in pids if alive(pid)]  # the ps, which never ends by itself, was stopped too
    finally:
        stop_everything(process, log_path)

    logs = model_dir / "cluster_logs"
    # The output of every task is prefixed in the launcher's output and kept in its own log.
    assert re.search(r"^\[chief\] .*step = ", launcher_log, re.M) and re.search(r"^\[worker0\] .*step = ", launcher_log, re.M)
    chief_steps, worker_steps = steps_logged(logs / "chief.log"), steps_logged(logs / "worker0.log")
    # Each trainer logs every LOG_EVERY of its own steps, numbered by the one global step on the
    # parameter server. Both took steps of their own; and one of them saw the other's steps on
    # that counter: it started above 0 (it joined a model the other had trained), or the counter
    # moved faster than its own steps (the other trained beside it). On a loaded machine the
    # worker may start only when the chief is halfway, so overlap is not asked of both.
    assert len(chief_steps) >= 2 and len(worker_steps) >= 2, (chief_steps, worker_steps)
    saw_the_other = [steps for steps in (chief_steps, worker_steps)
                     if steps[0] > 0 or steps[-1] - steps[0] > LOG_EVERY * (len(steps) - 1)]
    assert saw_the_other, (chief_steps, worker_steps)
    assert "Start Tensorflow server" in (logs / "ps0.log").read_text()

    checkpoint = tf.train.latest_checkpoint(str(model_dir))
    reader = tf.train.load_checkpoint(checkpoint)
    assert reader.get_tensor("global_step") >= TRAIN_STEPS
    assert any("lstm" in name for name in reader.get_variable_to_shape_map())

    from tf_crnn.model_files import read_metadata
    from tf_crnn.inference.recognizer import Recognizer

    latest = model_dir / "export" / "latest"
    version = max((d for d in os.listdir(latest) if d.isdigit()), key=int)
    assert read_metadata(str(latest / version))["image_height"] == 32
    samples = training_images(tiny_shards)
    rows = list(Recognizer(str(latest)).recognize_files([path for path, _ in samples]))
    truth = dict(samples)
    correct = sum(word == truth[path] for path, word, _, error in rows if not error)
    assert correct / len(samples) >= 0.8, rows[:10]


def test_ctrl_c_stops_every_task(tiny_shards, tmp_path):
    fields = tiny_model_fields(tiny_shards, model_dir=str(tmp_path / "model"), train_steps=100000,
                               log_step_count_steps=10)
    config = write_config(tmp_path / "params.json", **fields)
    log_path = tmp_path / "launcher.log"
    # TensorFlow's INFO log: its step lines show the worker training (quiet training hides them).
    process = start_cluster(config, tmp_path / "model", log_path, "--workers", "1", "--verbosity=0")
    try:
        deadline = time.time() + 180
        while time.time() < deadline and not re.search(r"^\[worker0\] .*step = ", log_path.read_text(), re.M):
            assert process.poll() is None, log_path.read_text()[-3000:]
            time.sleep(1)
        assert re.search(r"^\[worker0\] .*step = ", log_path.read_text(), re.M), log_path.read_text()[-3000:]
        assert len(task_pids(log_path)) == 3
        os.kill(process.pid, signal.SIGINT)
        assert process.wait(60) == 130
        assert "interrupted; stopping all tasks" in log_path.read_text()
        assert not [pid for pid in task_pids(log_path) if alive(pid)]
    finally:
        stop_everything(process, log_path)


def test_launcher_input_errors_are_clean(tmp_path):
    def launch(*args):
        return subprocess.run([sys.executable, LAUNCHER, *map(str, args)], capture_output=True, text=True,
                              cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO), timeout=120)

    assert_clean_error(launch(tmp_path / "missing.json", "--model_dir", tmp_path / "m"), "missing.json")
    config = write_config(tmp_path / "params.json", **tiny_model_fields(tmp_path))
    assert_clean_error(launch(config, "--model_dir", tmp_path / "m", "--ps", "0"), "--ps")
    assert_clean_error(launch(config, "--model_dir", tmp_path / "m", "--train_steps", "5"), "--name=value")
    assert not (tmp_path / "m").exists()  # nothing started, nothing written
