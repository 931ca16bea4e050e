"""tf_crnn: train CRNN text recognizers on your own data and export them for serving.

The data flow, one subpackage a step:
converters (tf_crnn.data.convert, tf_crnn.synth) -> TFRecords (tf_crnn.data.schema,
tf_crnn.data.writer) -> input_fn (tf_crnn.data.input) -> model_fn (tf_crnn.model) ->
export (tf_crnn.export) -> models that read images (tf_crnn.inference) -> scores
(tf_crnn.evaluation); docs/layout.md has the whole tree.
"""

import logging
import os

# TensorFlow's C++ start-up chatter (CPU feature notes, plugin registration) buries the
# messages users need; set TF_CPP_MIN_LOG_LEVEL yourself to see it again.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class _DropDeprecationNotices(logging.Filter):
    """tf.estimator is deprecated as a whole in TensorFlow 2.15 (the reason for the pin), and
    TensorFlow logs a multi-line notice for each of its APIs we call: drop those notices."""

    def filter(self, record):
        message = record.getMessage()
        return "is deprecated and will be removed" not in message and "Instructions for updating" not in message


logging.getLogger("tensorflow").addFilter(_DropDeprecationNotices())

__version__ = "0.1.0"
