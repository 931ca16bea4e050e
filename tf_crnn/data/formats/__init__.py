"""Readers of annotation formats. Each turns one foreign format into `Sample`s.

A reader never opens images: it only says which image has which label, and reports
malformed lines as samples with an `error` (and a short `kind` for the report), so the
converter decides whether to skip them or stop.

Every sample also carries the byte `offset` of its record in the file the reader reads.
The converter keeps only these offsets, not the samples, so its memory does not grow
with the data set; a worker re-reads a sample from its offset with `sample_at`.

One module per format: `list_file` (`path label`), `csv_file`, `icdar`, `mjsynth`,
`folder` (labels in the file names); `lines` holds what the line-based ones share,
`detect` guesses a file's format and `registry` builds a reader from a format name.
"""

from dataclasses import dataclass
from typing import Optional


class BadLine(Exception):
    """A record that cannot be used: `kind` groups it in the report, the message explains it."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class Sample:
    """One annotation: an image path and its label, or the reason the record is unusable."""

    image_path: Optional[str]
    label: Optional[str]
    source: str  # annotation file the sample came from (for a folder of images: the image)
    line: Optional[int]  # 1-based line number in that file; None when the source is the image itself
    error: Optional[str] = None
    kind: Optional[str] = None  # short reason of the error, for counting in the report
    offset: int = -1  # byte offset of the record in the file the reader reads

    @property
    def where(self) -> str:
        return self.source if self.line is None else f"{self.source}:{self.line}"
