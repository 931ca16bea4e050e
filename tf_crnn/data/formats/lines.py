"""What every line-based annotation format shares: lines read with their byte offsets.

The converter plans a run from offsets alone and a worker re-reads one line from its
offset, so reading a whole file (`samples`), re-reading one record (`sample_at`) and
turning an offset back into `file:line` for a message (`where_at`) are one piece of code
that agrees on what a line is: the bytes up to and including b"\\n", decoded as every
text file is (tf_crnn/text_files.py: UTF-8, no line end, no leading byte-order mark; a
UTF-16 file is refused whole, a line with a NUL byte by itself). A format only says how one
line splits into an image path and a label (`parse_line`).
"""

import os
from typing import Dict, Iterable, Iterator, Optional, Tuple

from tf_crnn.data.formats import BadLine, Sample
from tf_crnn.text_files import BadText, decode_line, open_text_file, refuse_wide_encoding

_COUNT_CHUNK = 1 << 20


def open_records(path: str):
    """Opens an annotation file for binary reading, or says in one line why it cannot."""
    return open_text_file(path, "annotation file", " (a folder of images needs --format folder)")


class LineReader:
    """An annotation file with one record a line; subclasses implement `parse_line`.

    Blank lines are ignored. `header` skips the first line. Relative image paths start
    at `image_root` (default: the annotation file's folder). `check_exists` reports
    missing images as bad lines; the converter leaves it off and lets the worker that
    opens the image report it, so planning does not stat millions of files.
    """

    format_name = "lines"

    def __init__(self, path: str, image_root: Optional[str] = None, header: bool = False,
                 check_exists: bool = False):
        self.path = path
        self.image_root = image_root or os.path.dirname(os.path.abspath(path))
        self.header = header
        self.check_exists = check_exists

    # -- what a format supplies ----------------------------------------------------------
    def parse_line(self, text: str) -> Tuple[str, str]:
        """(image path as written, label) of one non-blank line, or raises BadLine."""
        raise NotImplementedError

    def is_ignored(self, text: str) -> bool:
        return not text.strip()

    def settings(self) -> dict:
        """Everything that changes the samples read, for the converter's plan fingerprint."""
        return {"format": self.format_name, "path": os.path.abspath(self.path),
                "image_root": os.path.abspath(self.image_root), "header": self.header}

    # -- reading -------------------------------------------------------------------------
    @property
    def records_path(self) -> str:
        """The file the offsets point into."""
        return self.path

    def samples(self, digest=None) -> Iterator[Sample]:
        """Every record in file order, usable or not; `digest.update` sees every byte read."""
        with open_records(self.records_path) as handle:
            offset = 0
            for number, raw in enumerate(handle, start=1):
                start, offset = offset, offset + len(raw)
                if digest is not None:
                    digest.update(raw)
                if number == 1:
                    refuse_wide_encoding(self.path, raw)
                if number == 1 and self.header:
                    continue
                sample = self._sample(raw, start, number)
                if sample is not None:
                    yield sample

    def sample_at(self, handle, offset: int) -> Sample:
        """The record starting at `offset` of the open (binary) `records_path`; its line is unknown."""
        handle.seek(offset)
        sample = self._sample(handle.readline(), offset, None)
        if sample is None:
            return Sample(None, None, self.path, None, "no record at this offset", "annotation changed", offset)
        return sample

    def where_at(self, offsets: Iterable[int]) -> Dict[int, str]:
        """`file:line` of the records at `offsets`, counting line ends in one pass."""
        result = {}
        with open_records(self.records_path) as handle:
            line, position = 1, 0
            for target in sorted(set(offsets)):
                while position < target:
                    chunk = handle.read(min(_COUNT_CHUNK, target - position))
                    if not chunk:
                        break
                    line += chunk.count(b"\n")
                    position += len(chunk)
                result[target] = f"{self.path}:{line}"
        return result

    def image_path(self, image: str) -> str:
        return image if os.path.isabs(image) else os.path.normpath(os.path.join(self.image_root, image))

    def locate(self, number: Optional[int], text: str) -> Tuple[str, Optional[int]]:
        """(source, line) a sample names in messages."""
        return self.path, number

    def _sample(self, raw: bytes, offset: int, number: Optional[int]) -> Optional[Sample]:
        try:
            text = decode_line(raw, first=offset == 0)
        except BadText as bad:
            return Sample(None, None, self.path, number, str(bad), "not text", offset)
        if self.is_ignored(text):
            return None
        source, line = self.locate(number, text)
        try:
            image, label = self.parse_line(text)
        except BadLine as bad:
            return Sample(None, None, source, line, str(bad), bad.kind, offset)
        full = self.image_path(image)
        if self.check_exists and not os.path.isfile(full):
            return Sample(full, label, source, line, f"image not found: {full}", "image not found", offset)
        return Sample(full, label, source, line, None, None, offset)
