"""The reader protocol every runtime implements: image bytes in; per-frame log-probabilities
with their frame lengths, and the export's metadata, out.

A reader is what evaluation, prediction and the benchmarks hold, whatever runs the network
(tf_crnn/inference/saved_model.py: a SavedModel; portable.py: TFLite and ONNX cores, and the
bytes-in TFLite model). Words come from any decoder of tf_crnn/decoding/decoders.py by name,
through `read` and `readings`, so a decoder written once reads with every runtime. Models
whose own graph also decodes (the SavedModel's `serving_default`, the bytes-in TFLite
model) give that graph's outputs through `graph_outputs`.
"""

import os
from functools import cached_property
from typing import List, Tuple

from tf_crnn.decoding.decoders import DECODERS, decode_readings
from tf_crnn.model_files import alphabet_from_metadata


def folder_size(path: str) -> int:
    """Bytes on disk of a model file, or of every file of a model folder."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)


def tensorflow_decode_errors() -> tuple:
    """What TensorFlow raises when an image does not decode in its graph."""
    import tensorflow as tf

    return (tf.errors.InvalidArgumentError,)


class Reader:
    """A loaded model that reads image bytes: a label for the tables, its file, size and runtime.

    Subclasses set `metadata` (the export's tf_crnn.json) and implement `log_probs`.
    `engine` says whose CTC decoders run greedy and beam search on those log-probabilities:
    TensorFlow's for a SavedModel (evaluation then matches the export's own graph), numpy's
    for runtimes without TensorFlow.
    """

    engine = "numpy"
    metadata: dict

    def __init__(self, label: str, path: str, runtime: str, beam_width: int = None):
        self.label = label
        self.path = path
        self.size = folder_size(path)
        self.runtime = runtime
        self._beam_width = beam_width

    @cached_property
    def alphabet(self):
        return alphabet_from_metadata(self.metadata)

    @property
    def beam_width(self) -> int:
        """The beam search's width: the one asked for, else the export's."""
        return self._beam_width or self.metadata.get("beam_width", 10)

    @property
    def decoders(self) -> tuple:
        """The decoders it reads with, by name (tf_crnn/decoding/decoders.py)."""
        return tuple(DECODERS)

    def bad_image_errors(self) -> tuple:
        """What reading raises when an image does not decode (anything else is a real failure)."""
        return tensorflow_decode_errors()

    def log_probs(self, encoded: List[bytes]):
        """(log-probabilities [batch, frames, classes], frame lengths [batch]) as numpy arrays."""
        raise NotImplementedError

    def graph_outputs(self, encoded: List[bytes]) -> dict:
        """What the model's own graph decodes (`words`, and more where it has them), for models
        whose graph decodes."""
        raise NotImplementedError(f"{self.label} does not decode in its graph")

    def readings(self, encoded: List[bytes], decoder: str = "greedy", lexicon=None,
                 lm_decoder=None) -> List[Tuple[str, float]]:
        """(word, confidence) per image with the decoder `decoder`; the lexicon and lm
        decoders need their `LexiconDecoder` or `LanguageModelDecoder`."""
        log_probs, lengths = self.log_probs(encoded)
        return decode_readings(decoder, log_probs, lengths, self.alphabet, self.beam_width, lexicon, lm_decoder,
                               self.engine)

    def read(self, encoded: List[bytes], decoder: str = "greedy", lexicon=None, lm_decoder=None) -> List[str]:
        """The words of a batch of encoded images, as `readings` without the confidences."""
        return [word for word, _ in self.readings(encoded, decoder, lexicon, lm_decoder)]
