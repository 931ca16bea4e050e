"""The serving export: a model dir -> a SavedModel that TF Serving loads.

Signature `serving_default` takes a batch of encoded image bytes (tf.string, so the
REST API's `{"b64": ...}` works) and returns `words`, `confidences`, `top_words` and
`top_scores`, and what each word is made of: `chars` (each unit's text), `char_confidences`
(its probability) and `char_x_ranges` (first pixel and one past the last, in the pixels of
the image sent), padded with '', 0 and -1 to the batch's longest word.
Signature `images:serving_default` takes float images [batch, height, width, channels]
in [0, 1], their true `widths` and `source_widths` (their widths before the caller
resized them, for `char_x_ranges`; the same as `widths` gives positions in the images
fed), for callers that decode images themselves. Signatures `logits` and `images:logits`
return the per-frame `log_probs` and `frame_lengths`, for tools that decode on their own.
`assets.extra/tf_crnn.json` carries the alphabet and input settings (tf_crnn/model_files.py).

The graph computes in float32 whatever precision the model was trained in (bfloat16 is
slow on CPUs that emulate it; see tf_crnn/precision.py), unless the config's
`export_precision` or `--precision mixed_bfloat16` asks for bfloat16.

    python export_model.py runs/crnn --output_dir exports/crnn [--checkpoint PATH] [--decoder beam]
"""

import tempfile

from tf_crnn.config import EXPORT_PRECISIONS
from tf_crnn.errors import ConfigError
from tf_crnn.export.checkpoints import check_checkpoint_fits, find_checkpoint
from tf_crnn.model_files import write_metadata

IMAGE_SIGNATURE = "images"


def serving_input_receiver_fn(config):
    """Receiver for encoded image bytes, with an alternative receiver for decoded images."""
    import tensorflow as tf

    from tf_crnn.data.graph_images import encoded_batch_to_images

    def receiver_fn():
        encoded = tf.compat.v1.placeholder(tf.string, [None], name="image_bytes")
        images, widths, source_widths = encoded_batch_to_images(
            encoded, config.image_height, config.channels, config.min_image_width, config.max_image_width,
            with_source_widths=True,
        )
        images = tf.identity(images, name="images")
        widths = tf.identity(widths, name="widths")
        # The decoded widths put the characters' x ranges in the caller's pixels.
        source_widths = tf.identity(source_widths, name="source_widths")
        features = {"images": images, "widths": widths, "source_widths": source_widths}
        # Feeding these intermediate tensors skips the decode: that is the `images` signature.
        alternatives = {IMAGE_SIGNATURE: dict(features)}
        return tf.estimator.export.ServingInputReceiver(
            features, {"images": encoded}, receiver_tensors_alternatives=alternatives
        )

    return receiver_fn


def export_saved_model(model_dir: str, output_dir: str, checkpoint: str = None, decoder: str = None,
                       beam_width: int = None, top_paths: int = None, precision: str = None) -> str:
    """Exports the latest (or the given) checkpoint of `model_dir`; returns the SavedModel path.

    The SavedModel goes to a numbered version folder under `output_dir`, the layout TF
    Serving's model base path expects. `precision` (float32 or mixed_bfloat16) is what
    its graph computes in; default: the config's `export_precision` (float32 unless set).
    """

    from tf_crnn.config import read_resolved
    from tf_crnn.model.estimator import make_estimator

    config = read_resolved(model_dir)
    config.model_dir = model_dir
    for name, value in (("decoder", decoder), ("beam_width", beam_width), ("top_paths", top_paths),
                        ("export_precision", precision)):
        if value is not None:
            setattr(config, name, value)
    if not 0 <= config.top_paths <= config.beam_width:
        raise ConfigError(f"--top_paths must be in [0, --beam_width={config.beam_width}] (0: no alternative readings)")
    if config.export_precision not in EXPORT_PRECISIONS:
        raise ConfigError(f"--precision must be one of {', '.join(EXPORT_PRECISIONS)}, got {config.export_precision!r}")
    checkpoint = find_checkpoint(model_dir, checkpoint)
    check_checkpoint_fits(config, checkpoint)
    estimator = make_estimator(config)
    with tempfile.TemporaryDirectory() as scratch:
        assets = write_metadata(config, scratch)
        path = estimator.export_saved_model(output_dir, serving_input_receiver_fn(config), assets_extra=assets,
                                            checkpoint_path=checkpoint)
    return path.decode() if isinstance(path, bytes) else path
