"""Plain list files: one `path label` per line.

The path ends at the first tab if the line has one (so paths may contain spaces),
otherwise at the first space. The label is the rest of the line and may contain
spaces. Blank lines and lines starting with `#` are ignored.
"""

import os
from typing import Iterator

from tf_crnn.data.formats import Sample
from tf_crnn.errors import DataError


def split_line(line: str):
    """Splits a list line into (path, label); label is None when the line has none."""
    separator = "\t" if "\t" in line else " "
    path, found, label = line.partition(separator)
    if not found or label == "":
        return path, None
    return path, label


def read_list_file(path: str, image_root: str, check_exists: bool = True) -> Iterator[Sample]:
    """Yields one Sample per non-blank line; relative image paths are taken from `image_root`."""
    try:
        handle = open(path, encoding="utf-8", newline="")
    except FileNotFoundError:
        raise DataError(f"annotation file not found: {path}") from None
    except OSError as err:
        raise DataError(f"annotation file cannot be read: {path}: {err.strerror}") from None
    with handle:
        number = 0
        try:
            for number, raw in enumerate(handle, start=1):
                line = raw.rstrip("\r\n")
                if not line.strip() or line.startswith("#"):
                    continue
                image, label = split_line(line)
                full = image if os.path.isabs(image) else os.path.join(image_root, image)
                if label is None:
                    yield Sample(full, None, path, number, "no label after the image path")
                elif check_exists and not os.path.isfile(full):
                    yield Sample(full, label, path, number, f"image not found: {full}")
                else:
                    yield Sample(full, label, path, number)
        except UnicodeDecodeError as err:
            raise DataError(f"{path}:{number + 1}: not UTF-8 text ({err.reason})") from None
