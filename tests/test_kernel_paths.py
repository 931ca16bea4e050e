"""tests/network_checks.py (shapes, frames, masks, batch independence, a training step; for
each backbone) on both of TensorFlow's CPU kernel paths, each in a fresh process: the path
is fixed when TensorFlow starts, so one process cannot test both. Whatever kind of CPU runs
the suite, a break on the other kind's path fails here."""

import os
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.slow
@pytest.mark.parametrize("onednn", ["0", "1"], ids=["tensorflow_kernels", "onednn_kernels"])
def test_the_network_checks_pass_on_this_kernel_path(onednn):
    env = dict(os.environ, PYTHONPATH=REPO, TF_ENABLE_ONEDNN_OPTS=onednn)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         os.path.join(REPO, "tests", "network_checks.py")],
        capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert result.returncode == 0, f"TF_ENABLE_ONEDNN_OPTS={onednn}:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    assert " passed" in result.stdout and "failed" not in result.stdout, result.stdout[-2000:]


@pytest.mark.parametrize("chosen, expected", [(None, "True"), ("0", "False"), ("1", "True")])
def test_training_turns_onednn_on_unless_the_user_chose(chosen, expected):
    """What tf_crnn.train does before TensorFlow starts: oneDNN's kernels, the faster path
    for training on CPUs where TensorFlow leaves them off; a value the user set wins."""
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop("TF_ENABLE_ONEDNN_OPTS", None)
    if chosen is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = chosen
    probe = ("from tf_crnn.kernels import describe_kernels, use_onednn_for_training\n"
             "use_onednn_for_training()\n"
             "import tensorflow\n"
             "from tensorflow.python.util import _pywrap_util_port\n"
             "print(describe_kernels())\n"
             "print(_pywrap_util_port.IsMklEnabled())")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == expected, (result.stdout, result.stderr[-2000:])
    assert lines[-2].startswith("CPU kernels: oneDNN's" if expected == "True" else "CPU kernels: TensorFlow's own")
