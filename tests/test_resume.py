"""Crash and resume: kill -9 during training, run the same command, continue from the checkpoint."""

import os
import re
import subprocess
import sys

import tensorflow as tf

from conftest import REPO, kill_9_once_saved, tiny_model_fields, write_config
from tf_crnn.training import evaluated_steps


def test_kill_9_then_same_command_resumes_from_last_checkpoint(tiny_shards, tmp_path):
    fields = tiny_model_fields(tiny_shards, model_dir=str(tmp_path / "model"), train_steps=100000,
                               save_checkpoints_steps=40, eval_steps=1)
    config = write_config(tmp_path / "params.json", **fields)
    # --verbosity debug: TensorFlow's own log says which checkpoint it restored, at which step.
    command = [sys.executable, "-m", "tf_crnn.train", config, "--verbosity", "debug"]
    env = dict(os.environ, PYTHONPATH=REPO)
    kill_9_once_saved(command, tmp_path / "model" / "model.ckpt-40.index", tmp_path / "first.log", settle_seconds=1.0)
    killed_at = tf.train.latest_checkpoint(str(tmp_path / "model"))
    killed_step = int(killed_at.rsplit("-", 1)[1])
    assert killed_step >= 40

    # Killed a second after the checkpoint: its evaluation (and the export after it) had not ended.
    assert killed_step not in evaluated_steps(str(tmp_path / "model"))

    fields["train_steps"] = killed_step + 40
    write_config(tmp_path / "params.json", **fields)
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resumed from step {killed_step:,}" in result.stdout, result.stdout
    # The checkpoint the kill left unevaluated is evaluated first, and picked up by the exporters.
    assert f"evaluation at step {killed_step:,}:" in result.stdout, result.stdout
    assert os.listdir(tmp_path / "model" / "export" / "best")
    log = result.stderr
    assert f"Restoring parameters from {killed_at}" in log
    first_step = int(re.search(r"loss = [0-9.e+-]+, step = (\d+)", log).group(1))
    assert first_step == killed_step
    final = tf.train.latest_checkpoint(str(tmp_path / "model"))
    assert final.endswith(f"model.ckpt-{killed_step + 40}")
