"""Image files read by a SavedModel reader: each file's text, confidence and units, or the
error that kept it from being read (the library of `python -m tf_crnn.predict`).

Each file is checked (fully decoded) by the converter's own check first, and formats the
serving graph does not decode (TIFF, WebP, ...) are handed to it as PNG, so every command
takes the same files. Words come from the export's own decoder (`serving_default`, with
each word's units), or, given a language model, from the `lm` decoder of
tf_crnn/decoding/decoders.py over the export's log-probabilities.
"""

from typing import List, NamedTuple, Optional

from tf_crnn.data.images import BadImage, read_checked_image
from tf_crnn.inference.files import read_in_batches
from tf_crnn.inference.saved_model import SavedModelReader, unit_rows


class Reading(NamedTuple):
    """What `Recognizer.read_files` gives for one image: its text and confidence, the error
    that kept it from being read, and its units (`chars`, None when the export has none)."""

    path: str
    text: Optional[str]
    confidence: Optional[float]
    error: Optional[str]
    chars: Optional[list]


class Recognizer:
    """A SavedModel's reader, reading encoded images or image files into words and confidences."""

    def __init__(self, saved_model_dir: str, language_model: Optional[str] = None):
        """`language_model`: `english` or a text file to fit the lm decoder's character
        language model on; None reads with the export's own decoder."""
        self.reader = SavedModelReader(saved_model_dir)
        self.path = self.reader.path
        self.lm_decoder = None
        if language_model:
            from tf_crnn.decoding.char_lm import load_language_model
            from tf_crnn.decoding.lm_beam import LanguageModelDecoder

            self.lm_decoder = LanguageModelDecoder(load_language_model(language_model, self.reader.alphabet))

    def recognize_bytes(self, encoded: List[bytes]) -> dict:
        """numpy outputs of a batch of encoded images: `words` (UTF-8 bytes) and `confidences`,
        and the rest of `serving_default` when the export's own decoder reads."""
        if self.lm_decoder is None:
            return self.reader.graph_outputs(encoded)
        readings = self.reader.readings(encoded, "lm", lm_decoder=self.lm_decoder)
        return {"words": [word.encode("utf-8") for word, _ in readings],
                "confidences": [confidence for _, confidence in readings]}

    def recognize_files(self, paths: List[str], batch_size: int = 32):
        """Yields (path, word, confidence, error) per file; see `read_files`."""
        for reading in self.read_files(paths, batch_size):
            yield reading.path, reading.text, reading.confidence, reading.error

    def read_files(self, paths: List[str], batch_size: int = 32):
        """Yields a `Reading` per file; an unreadable image gets an error."""

        def read(chunk):
            outputs = self.recognize_bytes([data for _, data in chunk])
            return [(word.decode("utf-8"), float(confidence), unit_rows(outputs, index))
                    for index, (word, confidence) in enumerate(zip(outputs["words"], outputs["confidences"]))]

        for start in range(0, len(paths), batch_size):  # a batch of bytes in memory at a time
            checked = []
            for path in paths[start:start + batch_size]:
                try:
                    checked.append((path, read_checked_image(path)))
                except BadImage as bad:
                    checked.append((path, bad))
            readable = [item for item in checked if not isinstance(item[1], BadImage)]
            rows = read_in_batches(read, readable, batch_size, self.reader.bad_image_errors())
            for path, data in checked:
                if isinstance(data, BadImage):
                    yield Reading(path, None, None, str(data), None)
                    continue
                row, error = next(rows)  # in the order of `readable`
                if error is None:
                    yield Reading(path, row[0], row[1], None, row[2])
                else:
                    yield Reading(path, None, None, "image does not decode", None)
