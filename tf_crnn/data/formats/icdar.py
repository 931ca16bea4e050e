"""ICDAR word-recognition ground truth (ICDAR 2013/2015 `gt.txt`): `word_1.png, "Tiredness"`.

The image path runs to the first comma; after it comes the label in double quotes.
Inside the quotes a backslash escapes a quote (`\\"`) or a backslash (`\\\\`); any other
backslash is kept as it is. A line without the quotes, with an unescaped quote inside the
label or with text after the closing quote is malformed and reported with its line.
"""

import re
from typing import Iterator, Optional, Tuple

from tf_crnn.data.formats import BadLine, Sample
from tf_crnn.data.formats.lines import LineReader

_QUOTED_LABEL = re.compile(r'\s*"((?:[^"\\]|\\.)*)"\s*', re.S)
_ESCAPE = re.compile(r'\\(["\\])')


def unescape(text: str) -> str:
    """`\\"` -> `"` and `\\\\` -> `\\`; other backslashes stay."""
    return _ESCAPE.sub(r"\1", text)


class IcdarReader(LineReader):
    format_name = "icdar"

    def parse_line(self, text: str) -> Tuple[str, str]:
        path, comma, rest = text.partition(",")
        path = path.strip()
        if not comma:
            raise BadLine("malformed line", 'expected IMAGE, "LABEL" (no comma)')
        if not path:
            raise BadLine("malformed line", "empty image path")
        match = _QUOTED_LABEL.fullmatch(rest)
        if match is None:
            raise BadLine("malformed line", _why_not_quoted(rest))
        label = unescape(match.group(1))
        if not label:
            raise BadLine("no label", "empty label")
        return path, label


def _why_not_quoted(rest: str) -> str:
    stripped = rest.strip()
    if not stripped.startswith('"'):
        return 'the label after the comma is not in double quotes'
    prefix = re.match(r'"((?:[^"\\]|\\.)*)("?)', stripped, re.S)
    if not prefix.group(2):
        return "the quoted label has no closing quote"
    return 'text after the closing quote (write a quote inside the label as \\")'


def read_icdar_file(path: str, image_root: Optional[str] = None, check_exists: bool = False) -> Iterator[Sample]:
    """Yields one Sample per non-blank line."""
    return IcdarReader(path, image_root, check_exists=check_exists).samples()
