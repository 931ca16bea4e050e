"""Plain list files: one `path label` per line.

The path ends at the first tab if the line has one (so paths may contain spaces),
otherwise at the first space. The label is the rest of the line and may contain
spaces. Blank lines and lines starting with `#` are ignored.
"""

from typing import Iterator, Optional, Tuple

from tf_crnn.data.formats import BadLine, Sample
from tf_crnn.data.formats.lines import LineReader


def split_line(line: str) -> Tuple[str, Optional[str]]:
    """Splits a list line into (path, label); label is None when the line has none."""
    separator = "\t" if "\t" in line else " "
    path, found, label = line.partition(separator)
    if not found or label == "":
        return path, None
    return path, label


class ListReader(LineReader):
    format_name = "list"

    def is_ignored(self, text: str) -> bool:
        return not text.strip() or text.startswith("#")

    def parse_line(self, text: str) -> Tuple[str, str]:
        path, label = split_line(text)
        if label is None:
            raise BadLine("no label", "no label after the image path")
        return path, label


def read_list_file(path: str, image_root: str, check_exists: bool = True) -> Iterator[Sample]:
    """Yields one Sample per non-blank line; relative image paths are taken from `image_root`."""
    return ListReader(path, image_root, check_exists=check_exists).samples()
