"""Readers of annotation formats. Each turns one foreign format into `Sample`s.

A reader never opens images: it only says which image has which label, and reports
malformed lines as samples with an `error`, so the converter decides whether to skip
them or stop.
"""

from dataclasses import dataclass
from typing import Optional


@dataclass
class Sample:
    """One annotation: an image path and its label, or the reason the line is unusable."""

    image_path: str
    label: Optional[str]
    source: str  # annotation file the sample came from
    line: int  # 1-based line number in that file
    error: Optional[str] = None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"
