"""A folder of images whose file names carry their labels: `123_Hello.jpg`, `Hello.png`.

The rule: the label is the file name without its extension, less an optional
`<digits>_` prefix and an optional `_<digits>` suffix (the regex
`(?:\\d+_)?(?P<label>.+?)(?:_\\d+)?`, matched against the whole stem). So `123_Hello.jpg`,
`Hello.png`, `Hello_7.png` and MJSynth's `1_Paintbrushes_55044.jpg` are all labelled as
the word alone. `--label_regex` replaces the rule: the label is its group named `label`,
else its first group, else the whole match; a name it does not match is bad input.

Subfolders are read too. Files count as images by their extension (`IMAGE_EXTENSIONS`);
other files are ignored. Names are taken in sorted order, folder by folder, so the
same folder always gives the same samples in the same order.

For the converter, the names found are written to a listing file (one relative path a
line) while the folder is read; offsets point into that listing, so a folder is re-read
exactly like an annotation file.
"""

import os
import re
from typing import Dict, Iterable, Iterator, Optional, Tuple

from tf_crnn.data.formats import BadLine, Sample
from tf_crnn.data.formats.lines import LineReader, open_records
from tf_crnn.data.images import IMAGE_EXTENSIONS
from tf_crnn.errors import DataError

DEFAULT_LABEL_REGEX = r"(?:\d+_)?(?P<label>.+?)(?:_\d+)?"


def compile_label_regex(regex: Optional[str]) -> "re.Pattern":
    """The compiled rule, or a DataError naming what is wrong with a user's regex."""
    try:
        return re.compile(regex or DEFAULT_LABEL_REGEX)
    except re.error as err:
        raise DataError(f"--label_regex {regex!r} is not a valid regular expression: {err}") from None


def label_from_stem(pattern: "re.Pattern", stem: str) -> str:
    match = pattern.fullmatch(stem)
    if match is None:
        raise BadLine("no label", f"file name does not match the label rule {pattern.pattern!r}")
    if "label" in pattern.groupindex:
        label = match.group("label")
    else:
        label = match.group(1) if pattern.groups else match.group(0)
    if not label:
        raise BadLine("no label", f"the label rule {pattern.pattern!r} gives an empty label")
    return label


def image_names(folder: str) -> Iterator[str]:
    """Paths of the image files under `folder`, relative to it, sorted folder by folder."""
    if not os.path.isdir(folder):
        raise DataError(f"image folder not found: {folder}")

    def fail(err: OSError):
        raise DataError(f"cannot list {err.filename}: {err.strerror}")

    for root, folders, files in os.walk(folder, onerror=fail):
        folders.sort()
        relative_root = os.path.relpath(root, folder)
        for name in sorted(files):
            if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                yield name if relative_root == "." else os.path.join(relative_root, name)


class FolderReader(LineReader):
    """Reads a folder; with `listing_path`, also writes the listing its offsets point into."""

    format_name = "folder"

    def __init__(self, folder: str, listing_path: Optional[str] = None, label_regex: Optional[str] = None):
        super().__init__(folder, image_root=os.path.abspath(folder))
        self.listing_path = listing_path
        self.label_regex = label_regex or DEFAULT_LABEL_REGEX
        self.pattern = compile_label_regex(self.label_regex)

    def settings(self) -> dict:
        return {"format": self.format_name, "folder": os.path.abspath(self.path), "label_regex": self.label_regex}

    @property
    def records_path(self) -> str:
        return self.listing_path

    def parse_line(self, text: str) -> Tuple[str, str]:
        return text, label_from_stem(self.pattern, os.path.splitext(os.path.basename(text))[0])

    def locate(self, number: Optional[int], text: str) -> Tuple[str, Optional[int]]:
        return os.path.join(self.path, text), None

    def samples(self, digest=None) -> Iterator[Sample]:
        listing = open(self.listing_path + ".tmp", "wb") if self.listing_path else None
        try:
            offset = 0
            for name in image_names(self.path):
                raw = name.encode("utf-8", "surrogateescape") + b"\n"
                if "\n" in name or "\r" in name:
                    yield self._unusable(name, "file name contains a line break", offset)
                    continue
                try:
                    name.encode("utf-8")
                except UnicodeEncodeError:
                    yield self._unusable(name, "file name is not UTF-8", offset)
                    continue
                if listing is not None:
                    listing.write(raw)
                if digest is not None:
                    digest.update(raw)
                yield self._sample(raw, offset, None)
                offset += len(raw)
            if listing is not None:
                listing.close()
                os.replace(self.listing_path + ".tmp", self.listing_path)
        finally:
            if listing is not None and not listing.closed:
                listing.close()

    def where_at(self, offsets: Iterable[int]) -> Dict[int, str]:
        with open_records(self.records_path) as handle:
            return {offset: self.sample_at(handle, offset).where for offset in set(offsets)}

    def _unusable(self, name: str, message: str, offset: int) -> Sample:
        shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\n", "\\n")
        return Sample(None, None, os.path.join(self.path, shown), None, message, "bad file name", offset)


def read_image_folder(folder: str, label_regex: Optional[str] = None) -> Iterator[Sample]:
    """Yields one Sample per image file under `folder`."""
    return FolderReader(folder, label_regex=label_regex).samples()
