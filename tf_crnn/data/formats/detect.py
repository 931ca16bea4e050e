"""Guesses the format of an annotation input, for `--format auto`.

In order: a folder is `folder`; a `.csv` file is `csv`; otherwise the first
`_SAMPLED_LINES` non-blank lines decide: if most of them look like ICDAR ground truth
(`IMAGE, "LABEL"`) it is `icdar`, if most look like MJSynth (`NUMBER_WORD_NUMBER.jpg`
with an optional lexicon index) it is `mjsynth`, else it is a plain `list`. The guess is
printed by the converter, and `--format` overrides it.
"""

import os
import re

_SAMPLED_LINES = 20
_SAMPLED_BYTES = 1 << 16
_ICDAR_LINE = re.compile(r'[^,"\s][^,]*,\s*".*"\s*')
_MJSYNTH_LINE = re.compile(r"(?:\S*/)?\d+_[^/\s]+_\d+\.(?:jpe?g|png)(?:\s+\d+)?\s*", re.I)


def detect_format(path: str) -> str:
    """`folder`, `csv`, `icdar`, `mjsynth` or `list`."""
    if os.path.isdir(path):
        return "folder"
    if path.lower().endswith(".csv"):
        return "csv"
    lines = _first_lines(path)
    if not lines:
        return "list"
    for name, pattern in (("icdar", _ICDAR_LINE), ("mjsynth", _MJSYNTH_LINE)):
        if 2 * sum(1 for line in lines if pattern.fullmatch(line)) > len(lines):
            return name
    return "list"


def _first_lines(path: str):
    """Up to `_SAMPLED_LINES` non-blank lines from the start; none if the file cannot be read
    (the reader then reports the problem)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SAMPLED_BYTES)
    except OSError:
        return []
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    lines = text.split("\n")
    if len(head) == _SAMPLED_BYTES:
        lines = lines[:-1]  # possibly cut
    return [line.rstrip("\r") for line in lines if line.strip()][:_SAMPLED_LINES]
