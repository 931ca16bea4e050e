"""The portable core: images of one fixed width -> per-frame logits, for TFLite and ONNX.

The SavedModel reads images of any width and decodes inside TensorFlow; neither
survives a trip to the builtin-only runtimes. The core keeps what they can run:

- the CRNN of tf_crnn/model/network.py itself (the same class and call, weights restored
  from the model dir's Estimator checkpoint), with its LSTMs unrolled over a fixed
  number of frames, so no while loop or TensorList op is left to convert;
- inputs `images` [batch, image_height, width, channels] float in [0, 1] and `widths`
  [batch] int32, each image's true width before padding. The widths keep the padding
  out of the LSTMs exactly as in training, so an image no wider than `width` gets the
  SavedModel's logits on its frames;
- output `logits` [batch, width / FRAME_WIDTH, classes] (the CTC blank last); decoding is
  tf_crnn/decoding/numpy_ctc.py.

A core may also carry narrower widths (TFLite: one signature each, `width_64` beside the
widest's `serving_default`, sharing the weights): the work of the unrolled network grows
with its width, and most word crops are far narrower than the widest one a core must take
(IIIT5K: half are under 70 pixels at height 32). A reader runs each image on the narrowest
signature that holds it; the logits on its frames do not change.

Images are prepared as in training (tf_crnn/data/preprocess.py): scaled to the model's
height keeping the aspect ratio, then padded to `width`; one that would come out wider
is squeezed to `width`, which is where the core can read worse than the SavedModel.
"""

import os
from dataclasses import dataclass, field

from tf_crnn.config import FRAME_WIDTH
from tf_crnn.errors import ConfigError
from tf_crnn.export.checkpoints import find_checkpoint, restore
from tf_crnn.model_files import export_metadata

LOGITS = "logits"


def load_model_config(model_dir: str):
    """The config a model dir was trained with; a missing dir or config is a user error."""
    from tf_crnn.config import read_resolved

    if not os.path.isdir(model_dir):
        raise ConfigError(f"model dir not found: {model_dir}")
    return read_resolved(model_dir)


def check_width(config, width: int) -> None:
    """The fixed width must give whole frames and lie where preprocessing can produce images."""
    if width % FRAME_WIDTH:
        raise ConfigError(f"--width {width} is not a multiple of {FRAME_WIDTH} (the network emits one frame per "
                          f"{FRAME_WIDTH} pixels)")
    if not config.min_image_width <= width <= config.max_image_width:
        raise ConfigError(f"--width {width} is outside the model's image widths "
                          f"[{config.min_image_width}, {config.max_image_width}] (min/max_image_width)")


def check_widths(config, widths) -> tuple:
    """The core's widths, narrowest first, each checked; duplicates dropped."""
    widths = tuple(sorted(set(widths)))
    if not widths:
        raise ConfigError("--width: give at least one width")
    for width in widths:
        check_width(config, width)
    return widths


def signature_key(width: int, widest: int) -> str:
    """The widest width is the core's `serving_default` (what single-width readers run)."""
    return "serving_default" if width == widest else f"width_{width}"


def build_unrolled_network(config, num_classes: int):
    """build_network's CRNN in float32 with every recurrent layer unrolled (checked)."""
    import tensorflow as tf

    from tf_crnn.model.network import build_network

    network = build_network(config, num_classes, precision="float32", unroll=True)
    looping = [layer.name for layer in network.submodules
               if isinstance(layer, tf.keras.layers.RNN) and not layer.unroll]
    if looping:
        raise ConfigError(f"cannot unroll the network's recurrent layers {', '.join(looping)}")
    return network


@dataclass
class Core:
    """The restored core and what its users need to know about it."""

    model: object  # tf.keras.Model: {"images", "widths"} -> logits, for images `width` wide
    network: object  # the CRNN inside it, traced again for each narrower width
    config: object
    alphabet: object
    width: int  # the widest
    checkpoint: str
    narrower: tuple = ()  # further widths, each below `width`
    _functions: dict = field(default_factory=dict, init=False, repr=False)

    @property
    def widths(self) -> tuple:
        return tuple(self.narrower) + (self.width,)

    def input_signature(self, width: int = None):
        import tensorflow as tf

        return [tf.TensorSpec([None, self.config.image_height, width or self.width, self.config.channels],
                              tf.float32, name="images"),
                tf.TensorSpec([None], tf.int32, name="widths")]

    def function(self, width: int = None):
        """A tf.function with a fixed signature returning {'logits': ...}, for images `width`
        (default: the widest) pixels wide: what the converters take.

        Made once per width: tracing the unrolled network takes seconds.
        """
        import tensorflow as tf

        width = width or self.width
        if width not in self._functions:
            model, network = self.model, self.network

            @tf.function(input_signature=self.input_signature(width))
            def core(images, widths):
                if width == self.width:
                    return {LOGITS: model({"images": images, "widths": widths})}
                return {LOGITS: network(images, widths, training=False)}

            self._functions[width] = core
        return self._functions[width]

    def signature_keys(self) -> list:
        return [signature_key(width, self.width) for width in self.widths]

    def signatures(self) -> dict:
        """{signature key: concrete function} of every width."""
        return {key: self.function(width).get_concrete_function()
                for key, width in zip(self.signature_keys(), self.widths)}

    def metadata(self) -> dict:
        metadata = portable_metadata(self.config, self.width)
        if self.narrower:
            metadata["signatures"] = {str(width): signature_key(width, self.width) for width in self.widths}
        return metadata


def build_core(model_dir: str, width: int, checkpoint: str = None, narrower=()) -> Core:
    """The model dir's network as a Keras model with unrolled LSTMs for images of `width`
    pixels, and for each of the `narrower` widths."""
    config = load_model_config(model_dir)
    check_widths(config, (width,) + tuple(narrower))
    if narrower and max(narrower) >= width:
        raise ConfigError(f"the narrower widths {', '.join(map(str, narrower))} must lie below {width}")
    import tensorflow as tf  # only now: bad input is reported without the wait for TensorFlow

    from tf_crnn.alphabet import for_config

    checkpoint = find_checkpoint(model_dir, checkpoint)
    alphabet = for_config(config)
    network = build_unrolled_network(config, alphabet.num_classes)
    images = tf.keras.Input([config.image_height, width, config.channels], name="images")
    widths = tf.keras.Input([], dtype=tf.int32, name="widths")
    model = tf.keras.Model({"images": images, "widths": widths}, network(images, widths, training=False),
                           name="crnn_core")
    restore(network, checkpoint)
    return Core(model, network, config, alphabet, width, checkpoint, tuple(sorted(set(narrower))))


def portable_metadata(config, width: int) -> dict:
    """The export metadata (tf_crnn/model_files.py's, one definition) plus the core's fixed width."""
    metadata = export_metadata(config)
    # The core is always built in float32 (build_unrolled_network), whatever export_precision says.
    metadata.update(width=width, frames=width // FRAME_WIDTH, inputs=["images", "widths"], outputs=[LOGITS],
                    precision="float32")
    return metadata


class FixedWidthInputs:
    """Encoded images -> the core's inputs, with the training preprocessing (TensorFlow ops).

    Each image is decoded, scaled to the model height keeping its aspect ratio (its width
    clipped to [min_image_width, width], so a wider one is squeezed) and padded to `width`.
    """

    def __init__(self, metadata: dict):
        import tensorflow as tf

        from tf_crnn.data.graph_images import encoded_batch_to_images

        height, channels = metadata["image_height"], metadata["channels"]
        min_width, width = metadata["min_image_width"], metadata["width"]
        self._tf = tf

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def prepare(encoded):
            images, widths, source_widths = encoded_batch_to_images(encoded, height, channels, min_width, width,
                                                                    with_source_widths=True)
            images = tf.pad(images, [[0, 0], [0, 0], [0, width - tf.shape(images)[2]], [0, 0]])
            return images, widths, source_widths

        self._prepare = prepare

    def __call__(self, encoded, with_source_widths: bool = False):
        """(images float32 [batch, height, width, channels], widths int32 [batch]) as numpy,
        plus the decoded widths (for numpy_ctc.decode's x ranges) when asked.

        Raises tf.errors.InvalidArgumentError when an image does not decode.
        """
        images, widths, source_widths = self._prepare(self._tf.constant(list(encoded), dtype=self._tf.string))
        if with_source_widths:
            return images.numpy(), widths.numpy(), source_widths.numpy()
        return images.numpy(), widths.numpy()
