"""Every command README.md and docs/*.md show exists, and every flag it gives is one the
command takes; the front page's "read words now" commands run and read the example crops;
the front page stays a front page and its links lead somewhere."""

import glob
import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from conftest import REPO

PAGES = [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))
FRONT_PAGE_LINES = 250


def page_text(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def code_blocks(text: str):
    """The contents of the fenced code blocks of a Markdown text."""
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
    return blocks


def readme_commands():
    """`python ...` and `tf-crnn ...` commands of every page: the lines of its code blocks
    (continuation lines joined) and its inline code spans."""
    commands = []
    for path in PAGES:
        text = page_text(path)
        for block in code_blocks(text):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split(" #", 1)[0].strip()
                if line.startswith(("python ", "tf-crnn ")) and not line.startswith("python3.11 -m venv"):
                    commands.append(line)
        outside = re.sub(r"```.*?```", "", text, flags=re.S).replace("\n", " ")
        commands += [span.strip() for span in re.findall(r"`((?:python|tf-crnn) [^`]+)`", outside)]
    return commands


def _target(words):
    """(argv prefix to run the program, display name)."""
    if words[0] == "tf-crnn":  # the console script's own module, so no PATH is needed
        return [sys.executable, "-m", "tf_crnn.cli", words[1]], f"tf-crnn {words[1]}"
    if words[1] == "-m":
        return [sys.executable, "-m", words[2]], words[2]
    return [sys.executable, os.path.join(REPO, words[1])], words[1]


COMMANDS = readme_commands()


def test_readme_shows_the_main_commands():
    programs = {_target(shlex.split(c))[1] for c in COMMANDS}
    for expected in ("tf_crnn.train", "tf_crnn.data.convert", "export_model.py", "tf_crnn.predict",
                     "tf_crnn.evaluate", "tf_crnn.data.make_alphabet", "hlp/numbers_mnist_generator.py",
                     "hlp/csv_path_convertor.py", "tf_crnn.synth.generate", "tf-crnn train", "tf-crnn convert",
                     "tf-crnn export", "tf-crnn predict", "tf-crnn evaluate"):
        assert expected in programs, expected


def _flags_by_program():
    """{program: (argv prefix, the flags the pages give it)}, one entry per program."""
    programs = {}
    for command in COMMANDS:
        words = shlex.split(command)
        if words[1] == "-m" and words[2] == "pip" or words[0] == "tf-crnn" and words[1].isupper():
            continue  # pip; `tf-crnn COMMAND` written as a pattern
        argv, name = _target(words)
        flags = {word.strip("[]").split("=", 1)[0] for word in words[2:] if word.strip("[]").startswith("--")}
        programs.setdefault(name, (argv, set()))[1].update(flags)
    return programs


PROGRAMS = _flags_by_program()


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_command_exists_and_takes_its_flags(name):
    argv, flags = PROGRAMS[name]
    result = subprocess.run(argv + ["--help"], capture_output=True, text=True, cwd=REPO, timeout=120,
                            env=dict(os.environ, PYTHONPATH=REPO))
    assert result.returncode == 0, (name, result.stderr[-2000:])
    shown = result.stdout + result.stderr
    missing = sorted(flag for flag in flags if flag not in shown)
    assert not missing, f"{name} does not take {', '.join(missing)}"


def test_the_front_page_is_short_and_its_links_lead_somewhere():
    text = page_text(PAGES[0])
    assert len(text.splitlines()) <= FRONT_PAGE_LINES
    for path in PAGES:
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page_text(path)):
            if "://" not in target:
                assert os.path.exists(os.path.join(os.path.dirname(path), target)), (path, target)


def test_read_words_now_runs_as_written():
    """The front page's first commands: the shipped model reads the example crops."""
    text = page_text(PAGES[0])
    section = text[text.index("## Read words now"):text.index("\n## ", text.index("## Read words now") + 1)]
    lines = [line.split(" #", 1)[0].strip() for block in code_blocks(section) for line in block.splitlines()]
    commands = [line for line in lines if line.startswith("python ")]
    assert len(commands) == 2
    plain, as_json = (subprocess.run([sys.executable] + shlex.split(c)[1:], capture_output=True, text=True, cwd=REPO,
                                     timeout=300, env=dict(os.environ, PYTHONPATH=REPO)) for c in commands)
    assert plain.returncode == 0 and as_json.returncode == 0, plain.stderr + as_json.stderr
    labels = dict(line.split("\t") for line in page_text(os.path.join(REPO, "data", "examples", "labels.tsv"))
                  .splitlines() if "\t" in line)
    assert len(plain.stdout.strip().splitlines()) == len(labels) == 3
    rows = json.loads(as_json.stdout)
    assert all("".join(c["char"] for c in row["chars"]) == row["text"] for row in rows)


def test_the_configuration_page_quotes_the_quickstart_network_as_the_file_has_it():
    with open(os.path.join(REPO, "scripts", "quickstart_params.json"), encoding="utf-8") as handle:
        params = json.load(handle)
    text = page_text(os.path.join(REPO, "docs", "configuration.md"))
    quoted = re.search(r"quickstart_params\.json` \(`conv_channels`\s+`(\[[^]]*\])`, `lstm_units` `(\[[^]]*\])`", text)
    assert quoted, "docs/configuration.md no longer quotes scripts/quickstart_params.json's network"
    assert json.loads(quoted[1]) == params["conv_channels"] and json.loads(quoted[2]) == params["lstm_units"]
