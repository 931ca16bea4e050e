"""A serving SavedModel as a reader: image bytes in, decoded inside the SavedModel exactly as
TF Serving would receive them.

`log_probs` runs the export's `logits` signature, for any decoder of
tf_crnn/decoding/decoders.py (with TensorFlow's CTC decoders, as the export's own graph);
`graph_outputs` runs `serving_default`, whose words, confidences and units come from the
export's own decoder in one call: the fast path for reading with that decoder.
"""

from functools import cached_property
from typing import List, Optional

from tf_crnn.inference.reader import Reader
from tf_crnn.model_files import read_metadata, resolve_saved_model
from tf_crnn.precision import warn_if_emulated_bfloat16


def unit_rows(outputs: dict, index: int) -> Optional[list]:
    """The `chars` of image `index` of a serving_default output: [{"char", "confidence",
    "x_range"}], or None for exports made before these outputs existed."""
    if "chars" not in outputs:
        return None
    return [{"char": unit.decode("utf-8"), "confidence": float(confidence), "x_range": [int(x) for x in x_range]}
            for unit, confidence, x_range in zip(outputs["chars"][index], outputs["char_confidences"][index],
                                                 outputs["char_x_ranges"][index]) if x_range[0] >= 0]


class SavedModelReader(Reader):
    """A SavedModel folder or model base path (its newest version), loaded."""

    engine = "tensorflow"

    def __init__(self, path: str, beam_width: int = None):
        import tensorflow as tf

        path = resolve_saved_model(path)
        warn_if_emulated_bfloat16(path)
        super().__init__("SavedModel", path, "TensorFlow", beam_width)
        self._tf = tf
        self._model = tf.saved_model.load(path)

    @cached_property
    def metadata(self) -> dict:
        # Read when first needed: reading with the export's own graph works without it.
        return read_metadata(self.path)

    def log_probs(self, encoded: List[bytes]):
        outputs = self._model.signatures["logits"](images=self._tf.constant(encoded, dtype=self._tf.string))
        return outputs["log_probs"].numpy(), outputs["frame_lengths"].numpy()

    def graph_outputs(self, encoded: List[bytes]) -> dict:
        """`serving_default` on a batch of encoded images: its numpy outputs (words,
        confidences, top_words, chars, ...)."""
        outputs = self._model.signatures["serving_default"](images=self._tf.constant(encoded, dtype=self._tf.string))
        return {key: value.numpy() for key, value in outputs.items()}
