"""tests/network_checks.py (shapes, frames, masks, batch independence, a training step; for
each backbone) on both of TensorFlow's CPU kernel paths, each in a fresh process: the path
is fixed when TensorFlow starts, so one process cannot test both. Whatever kind of CPU runs
the suite, a break on the other kind's path fails here."""

import os
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.parametrize("onednn", ["0", "1"], ids=["tensorflow_kernels", "onednn_kernels"])
def test_the_network_checks_pass_on_this_kernel_path(onednn):
    env = dict(os.environ, PYTHONPATH=REPO, TF_ENABLE_ONEDNN_OPTS=onednn)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         os.path.join(REPO, "tests", "network_checks.py")],
        capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert result.returncode == 0, f"TF_ENABLE_ONEDNN_OPTS={onednn}:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    assert " passed" in result.stdout and "failed" not in result.stdout, result.stdout[-2000:]
