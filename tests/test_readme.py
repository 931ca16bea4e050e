"""Every command the README shows exists, and every flag it gives is one the command takes."""

import os
import shlex
import subprocess
import sys

import pytest

from conftest import REPO


def readme_commands():
    """`python ...` lines of the README's code blocks, with continuation lines joined."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    blocks, current = [], None
    for line in text.splitlines():
        if line.startswith("```"):
            if current is None:
                current = []
            else:
                blocks.append("\n".join(current))
                current = None
        elif current is not None:
            current.append(line)
    commands = []
    for block in blocks:
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith("python ") and not line.startswith("python3.11 -m venv"):
                commands.append(line)
    return commands


def _target(words):
    """(argv prefix to run the program, display name)."""
    if words[1] == "-m":
        return [sys.executable, "-m", words[2]], words[2]
    return [sys.executable, os.path.join(REPO, words[1])], words[1]


COMMANDS = readme_commands()


def test_readme_shows_the_main_commands():
    programs = {_target(shlex.split(c))[1] for c in COMMANDS}
    for expected in ("tf_crnn.train", "tf_crnn.data.convert", "export_model.py", "tf_crnn.predict",
                     "tf_crnn.evaluate", "tf_crnn.alphabet", "hlp/numbers_mnist_generator.py",
                     "hlp/csv_path_convertor.py", "tf_crnn.synth.generate"):
        assert expected in programs, expected


@pytest.mark.parametrize("command", COMMANDS)
def test_command_exists_and_takes_its_flags(command):
    words = shlex.split(command)
    if words[1] == "-m" and words[2] == "pip":
        return
    argv, name = _target(words)
    help_flag = "--helpfull" if name == "tf_crnn.train" else "--help"
    result = subprocess.run(argv + [help_flag], capture_output=True, text=True, cwd=REPO, timeout=120,
                            env=dict(os.environ, PYTHONPATH=REPO))
    # absl's --helpfull (tf_crnn.train) exits with status 1 after printing the flags.
    assert result.returncode in ((0, 1) if name == "tf_crnn.train" else (0,)), (command, result.stderr[-2000:])
    shown = result.stdout + result.stderr
    for word in words[2:]:
        word = word.strip("[]")
        if word.startswith("--"):
            flag = word.split("=", 1)[0]
            assert flag in shown, f"{name} does not take {flag}"
