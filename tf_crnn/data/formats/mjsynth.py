"""MJSynth (Synth90k) annotation files: `./2697/6/466_MONIKER_49537.jpg 49537`.

The label is in the image's file name, between its first and last underscore
(`MONIKER`, with the case it was rendered in). The number after the path is the 0-based
line of the word in MJSynth's `lexicon.txt`; it may be left out. With a lexicon file
(`--lexicon`), a line whose word differs from its lexicon entry (ignoring case) is bad
input, which catches an annotation file paired with the wrong images or lexicon.
"""

import os
from typing import Iterator, List, Optional, Tuple

from tf_crnn.data.formats import BadLine, Sample
from tf_crnn.data.formats.lines import LineReader
from tf_crnn.errors import DataError
from tf_crnn.text_files import read_lines


def label_from_name(image_path: str) -> str:
    """The word between the first and last underscore of the file name, or raises BadLine."""
    stem = os.path.splitext(os.path.basename(image_path))[0]
    first, last = stem.find("_"), stem.rfind("_")
    if first == last:
        raise BadLine("no label", f"file name {os.path.basename(image_path)!r} has no NUMBER_LABEL_NUMBER form")
    label = stem[first + 1:last]
    if not label:
        raise BadLine("no label", f"file name {os.path.basename(image_path)!r} has an empty label")
    return label


def read_lexicon(path: str) -> List[str]:
    """One word a line (tf_crnn/text_files.py), indexed from 0 like MJSynth's annotation numbers."""
    return read_lines(path, "lexicon file")


class MjsynthReader(LineReader):
    format_name = "mjsynth"

    def __init__(self, path: str, image_root: Optional[str] = None, header: bool = False,
                 check_exists: bool = False, lexicon: Optional[str] = None):
        super().__init__(path, image_root, header, check_exists)
        self.lexicon = lexicon
        self._words: Optional[List[str]] = None  # loaded on first use, never pickled

    def __getstate__(self):
        return dict(self.__dict__, _words=None)

    def settings(self) -> dict:
        return dict(super().settings(), lexicon=os.path.abspath(self.lexicon) if self.lexicon else None)

    def parse_line(self, text: str) -> Tuple[str, str]:
        fields = text.split()
        if len(fields) > 2 or (len(fields) == 2 and not fields[1].isdigit()):
            raise BadLine("malformed line", "expected IMAGE_PATH [LEXICON_INDEX]")
        label = label_from_name(fields[0])
        if self.lexicon and len(fields) == 2:
            self._check_lexicon(label, int(fields[1]))
        return fields[0], label

    def _check_lexicon(self, label: str, index: int) -> None:
        if self._words is None:
            self._words = read_lexicon(self.lexicon)
        if index >= len(self._words):
            raise BadLine("lexicon mismatch", f"lexicon index {index} is past the end of {self.lexicon} "
                                              f"({len(self._words)} words)")
        word = self._words[index]
        if word.lower() != label.lower():
            raise BadLine("lexicon mismatch", f"label {label!r} from the file name, but lexicon word {index} "
                                              f"is {word!r}")


def read_mjsynth_file(path: str, image_root: Optional[str] = None, lexicon: Optional[str] = None,
                      check_exists: bool = False) -> Iterator[Sample]:
    """Yields one Sample per non-blank line."""
    return MjsynthReader(path, image_root, check_exists=check_exists, lexicon=lexicon).samples()
