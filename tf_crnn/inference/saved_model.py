"""A loaded serving SavedModel: image bytes in, words (`Recognizer`) or per-frame
log-probabilities (`LogitsModel`) out.

Images are checked and read as bytes, then decoded inside the SavedModel, exactly as TF
Serving would receive them. `LanguageModelRecognizer` and `LogitsModel` decode the export's
`logits` signature themselves, with any decoder of tf_crnn/decoding/decoders.py.
"""

from typing import List, NamedTuple, Optional

from tf_crnn.data.images import BadImage, read_checked_image
from tf_crnn.decoding.decoders import decode_words
from tf_crnn.inference.files import read_in_batches
from tf_crnn.model_files import alphabet_from_metadata, read_metadata, resolve_saved_model
from tf_crnn.precision import warn_if_emulated_bfloat16


class Reading(NamedTuple):
    """What `Recognizer.read_files` gives for one image: its text and confidence, the error
    that kept it from being read, and its units (`chars`, None when the export has none)."""

    path: str
    text: Optional[str]
    confidence: Optional[float]
    error: Optional[str]
    chars: Optional[list]


def unit_rows(outputs: dict, index: int) -> Optional[list]:
    """The `chars` of image `index` of a serving_default output: [{"char", "confidence",
    "x_range"}], or None for exports made before these outputs existed."""
    if "chars" not in outputs:
        return None
    return [{"char": unit.decode("utf-8"), "confidence": float(confidence), "x_range": [int(x) for x in x_range]}
            for unit, confidence, x_range in zip(outputs["chars"][index], outputs["char_confidences"][index],
                                                 outputs["char_x_ranges"][index]) if x_range[0] >= 0]


class Recognizer:
    """A loaded serving SavedModel: bytes in, words and confidences out."""

    def __init__(self, saved_model_dir: str):
        import tensorflow as tf

        saved_model_dir = resolve_saved_model(saved_model_dir)
        self.path = saved_model_dir
        warn_if_emulated_bfloat16(saved_model_dir)
        self._tf = tf
        self._model = tf.saved_model.load(saved_model_dir)
        self._serve = self._model.signatures["serving_default"]

    def recognize_bytes(self, encoded: List[bytes]) -> dict:
        """Runs `serving_default` on a batch of encoded images; returns numpy outputs."""
        outputs = self._serve(images=self._tf.constant(encoded, dtype=self._tf.string))
        return {key: value.numpy() for key, value in outputs.items()}

    def recognize_files(self, paths: List[str], batch_size: int = 32):
        """Yields (path, word, confidence, error) per file; see `read_files`."""
        for reading in self.read_files(paths, batch_size):
            yield reading.path, reading.text, reading.confidence, reading.error

    def read_files(self, paths: List[str], batch_size: int = 32):
        """Yields a `Reading` per file; an unreadable image gets an error.

        Each file is checked (fully decoded) by the converter's own check first, and formats
        the serving graph does not decode (TIFF, WebP, ...) are handed to it as PNG, so
        every command takes the same files.
        """

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
            rows = read_in_batches(read, readable, batch_size, (self._tf.errors.InvalidArgumentError,))
            for path, data in checked:
                if isinstance(data, BadImage):
                    yield Reading(path, None, None, str(data), None)
                    continue
                row, error = next(rows)  # in the order of `readable`
                if error is None:
                    yield Reading(path, row[0], row[1], None, row[2])
                else:
                    yield Reading(path, None, None, "image does not decode", None)


class LanguageModelRecognizer(Recognizer):
    """A Recognizer whose words come from the language-model beam search over the export's
    per-frame log-probabilities, instead of the export's own decoder."""

    def __init__(self, saved_model_dir: str, language_model: str):
        from tf_crnn.decoding.char_lm import load_language_model
        from tf_crnn.decoding.lm_beam import LanguageModelDecoder, decode_batch

        super().__init__(saved_model_dir)
        self.alphabet = alphabet_from_metadata(read_metadata(self.path))
        self._decoder = LanguageModelDecoder(load_language_model(language_model, self.alphabet))
        self._decode_batch = decode_batch
        self._logits = self._model.signatures["logits"]

    def recognize_bytes(self, encoded: List[bytes]) -> dict:
        outputs = self._logits(images=self._tf.constant(encoded, dtype=self._tf.string))
        readings = self._decode_batch(self._decoder, outputs["log_probs"].numpy(), outputs["frame_lengths"].numpy())
        return {"words": [self.alphabet.decode(ids).encode("utf-8") for ids, _ in readings],
                "confidences": [confidence for _, confidence in readings]}


class LogitsModel:
    """An export's `logits` signature plus its alphabet: image bytes -> (log_probs, lengths)."""

    def __init__(self, saved_model_dir: str):
        import tensorflow as tf

        self.path = resolve_saved_model(saved_model_dir)
        self.metadata = read_metadata(self.path)
        warn_if_emulated_bfloat16(self.path)
        self.alphabet = alphabet_from_metadata(self.metadata)
        self._tf = tf
        self._signature = tf.saved_model.load(self.path).signatures["logits"]

    def logits(self, encoded: List[bytes]):
        out = self._signature(images=self._tf.constant(encoded, dtype=self._tf.string))
        return out["log_probs"], out["frame_lengths"]

    def decode(self, log_probs, lengths, decoder: str, beam_width: int, lexicon=None, lm_decoder=None) -> List[str]:
        """Words of a batch with any decoder of tf_crnn/decoding/decoders.py (TensorFlow's CTC
        decoders, as the export's own graph)."""
        return decode_words(decoder, log_probs, lengths, self.alphabet, beam_width, lexicon, lm_decoder)
