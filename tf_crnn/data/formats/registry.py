"""Builds the reader of one annotation input from a format name and the converter's options.

The one place that knows which module reads which format, so the converter and
`--format` choices never list the formats a second time.
"""

from dataclasses import dataclass
from typing import Optional

from tf_crnn.data.formats.csv_file import DEFAULT_DELIMITER, CsvReader
from tf_crnn.data.formats.detect import detect_format
from tf_crnn.data.formats.folder import FolderReader
from tf_crnn.data.formats.icdar import IcdarReader
from tf_crnn.data.formats.lines import LineReader
from tf_crnn.data.formats.list_file import ListReader
from tf_crnn.data.formats.mjsynth import MjsynthReader

FORMAT_NAMES = ("csv", "folder", "icdar", "list", "mjsynth")


@dataclass(frozen=True)
class ReaderOptions:
    """Format options from the command line; each reader takes the ones it has."""

    image_root: Optional[str] = None  # line-based formats
    header: bool = False  # line-based formats
    delimiter: str = DEFAULT_DELIMITER  # csv
    lexicon: Optional[str] = None  # mjsynth
    label_regex: Optional[str] = None  # folder


def resolve_format(format_name: str, path: str) -> str:
    """`format_name`, or the detected one for `auto`."""
    return detect_format(path) if format_name == "auto" else format_name


def make_reader(format_name: str, path: str, options: ReaderOptions,
                listing_path: Optional[str] = None) -> LineReader:
    """The reader of `path`; a folder writes its listing to `listing_path` (see formats/folder.py)."""
    if format_name == "folder":
        return FolderReader(path, listing_path, options.label_regex)
    common = dict(image_root=options.image_root, header=options.header)
    if format_name == "csv":
        return CsvReader(path, delimiter=options.delimiter, **common)
    if format_name == "mjsynth":
        return MjsynthReader(path, lexicon=options.lexicon, **common)
    if format_name == "icdar":
        return IcdarReader(path, **common)
    if format_name == "list":
        return ListReader(path, **common)
    raise ValueError(f"unknown format {format_name!r}")
