"""One front door: `tf-crnn COMMAND` runs every command, each with its own `--help`, and the
names of earlier releases run the same commands."""

import os
import subprocess
import sys

import pytest

from conftest import REPO
from tf_crnn.cli import COMMANDS, main


def test_without_a_command_it_lists_them_all(capsys):
    assert main([]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith("usage: tf-crnn COMMAND")
    for name, command in COMMANDS.items():
        assert f"  {name}" in listed and command.summary in listed


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_its_own_help_and_one_line_usage_errors(name, capsys):
    environment = dict(os.environ)  # asking for help changes nothing (train's kernel choice included)
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    assert f"usage: tf-crnn {name}" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main([name, "--no_such_flag"])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and error.startswith("error:") and len(error.strip().splitlines()) == 1, error
    assert dict(os.environ) == environment


def test_an_unknown_command_is_one_line_and_the_list(capsys):
    assert main(["trian", "model_params.json"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: tf-crnn has no command 'trian'") and "  train  " in error


def test_the_console_script_and_an_old_name_make_the_same_alphabet(tmp_path):
    """`tf-crnn make-alphabet` (installed by setup.py) and `python -m tf_crnn.data.make_alphabet`
    read the same labels into the same file."""
    labels = tmp_path / "labels.tsv"
    labels.write_text("a.png\tZebra\nb.png\tzoo 9\n", encoding="utf-8")
    script = os.path.join(os.path.dirname(sys.executable), "tf-crnn")
    env = dict(os.environ, PYTHONPATH=REPO)
    runs = {"console": [script, "make-alphabet", str(tmp_path / "console.txt"), str(labels)],
            "old": [sys.executable, "-m", "tf_crnn.data.make_alphabet", str(tmp_path / "old.txt"), str(labels)]}
    for how, command in runs.items():
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
        assert result.returncode == 0, (how, result.stderr)
        assert "wrote 9 units" in result.stdout  # Z e b r a z o, the space, 9
    assert (tmp_path / "console.txt").read_text(encoding="utf-8") == (tmp_path / "old.txt").read_text(encoding="utf-8")
