"""The conv stacks a CRNN can read its images with, one builder each; the config's `backbone`
picks one by name from tf_crnn/backbone_table.py, whose entry names the builder here and the
config fields passed to it.

Every backbone turns images [batch, H, W, C] into a feature map [batch, H/16 or less,
W/4, channels] and keeps one frame per `FRAME_WIDTH` (tf_crnn/config.py) pixels of width, so sequence
lengths, CTC and the decoders are the same whichever is used.

- `vgg`: the paper's seven 3x3 convolutions with batch norm and max-pooling (about 8.3M
  parameters with the LSTMs at the paper's sizes). Its layers live directly in the CRNN
  model, so the variable names of every checkpoint trained before backbones existed stay.
- `mobilenet_v3`: inverted-residual blocks (1x1 expansion, depthwise 3x3/5x5, squeeze-and-
  excitation, hard-swish, 1x1 projection) as in MobileNetV3, with the strides of a text
  recognizer: the height is halved four times, the width twice (a (2, 2) stem and one
  (2, 2) block), every other stride is (2, 1), as in PaddleOCR's MobileNetV3 CRNN. Far
  fewer FLOPs per image than `vgg`; `width_multiplier` scales its channels.

Readings must not depend on the other images of a batch: every activation right of an
image's own width is set to 0 (what a lone image's padding reads), strided convolutions
pad explicitly on the left (TensorFlow's 'same' padding moves with the batch's width),
and squeeze-and-excitation averages over each image's own width only.
"""

from typing import Callable, NamedTuple

import tensorflow as tf

from tf_crnn.backbone_table import BACKBONES

# The `call` methods below hold no Python control flow over tensors, so they are marked
# do_not_convert: AutoGraph would otherwise transpile each of them whenever a graph is built
# (training, evaluation and export each build one), seconds of start-up for nothing.

# vgg: max-pooling after these conv layers (0-based), as (height, width) windows.
VGG_POOLING = {0: (2, 2), 1: (2, 2), 3: (2, 1), 5: (2, 1)}

# mobilenet_v3: (kernel, expansion channels, output channels, squeeze-excite, activation, stride)
# after a 3x3 stem of 16 channels with stride (2, 2); the last layer is a 1x1 conv to 576.
MOBILENET_V3_BLOCKS = (
    (3, 16, 16, True, "relu", (2, 1)),
    (3, 72, 24, False, "relu", (2, 2)),
    (3, 88, 24, False, "relu", (1, 1)),
    (5, 96, 40, True, "hard_swish", (2, 1)),
    (5, 240, 40, True, "hard_swish", (1, 1)),
    (5, 240, 40, True, "hard_swish", (1, 1)),
    (5, 120, 48, True, "hard_swish", (1, 1)),
    (5, 144, 48, True, "hard_swish", (1, 1)),
    (5, 288, 96, True, "hard_swish", (1, 1)),
    (5, 576, 96, True, "hard_swish", (1, 1)),
    (5, 576, 96, True, "hard_swish", (1, 1)),
)
MOBILENET_V3_STEM = 16
MOBILENET_V3_LAST = 576


class ConvStack(NamedTuple):
    """What a builder returns.

    `layers` are held by the CRNN itself, so their variables are named crnn/<layer>/... as
    in every checkpoint so far (vgg's conv1, bn1, ...; mobilenet_v3's one layer of that name).
    `run(layers, x, widths, training)` turns images into the feature map, every activation
    right of an image's width set to 0.
    """

    layers: list
    run: Callable


def build_backbone(name: str, settings: dict, policy) -> ConvStack:
    """The conv stack `name` (an entry of tf_crnn/backbone_table.py) with its config fields' values."""
    builder = globals()[BACKBONES[name].builder]  # the entry names a function of this module
    return builder(policy, **settings)


def zero_beyond(x, widths):
    """Zeroes the columns of each image right of its width ([batch, height, width, channels])."""
    if widths is None:
        return x
    mask = tf.sequence_mask(widths, tf.shape(x)[2], dtype=x.dtype)
    return x * mask[:, None, :, None]


# -- vgg ----------------------------------------------------------------------------------

def vgg_layers(conv_channels, policy) -> list:
    """The paper's conv stack as a flat list of Keras layers (named conv1, bn1, relu1, pool1, ...)."""
    layers = []
    for index, channels in enumerate(conv_channels):
        last = index == len(conv_channels) - 1
        if last:
            # A 2x2 'valid' conv closes the height as in the paper; the right-hand pad
            # keeps one frame per 4 pixels of width.
            layers.append(tf.keras.layers.ZeroPadding2D(((0, 0), (0, 1)), name=f"pad{index + 1}", dtype=policy))
        layers += [
            tf.keras.layers.Conv2D(channels, 2 if last else 3, padding="valid" if last else "same",
                                   use_bias=False, name=f"conv{index + 1}", dtype=policy),
            tf.keras.layers.BatchNormalization(name=f"bn{index + 1}", dtype=policy),
            tf.keras.layers.ReLU(name=f"relu{index + 1}", dtype=policy),
        ]
        if index in VGG_POOLING:
            layers.append(tf.keras.layers.MaxPool2D(VGG_POOLING[index], VGG_POOLING[index], padding="same",
                                                    name=f"pool{index + 1}", dtype=policy))
    return layers


def run_vgg(layers, x, widths, training):
    """Runs `vgg_layers`; widths follow the poolings, and each ReLU's output is masked."""
    for layer in layers:
        x = layer(x, training=training)
        if isinstance(layer, tf.keras.layers.MaxPool2D) and widths is not None:
            widths = (widths + layer.pool_size[1] - 1) // layer.pool_size[1]
        elif isinstance(layer, tf.keras.layers.ReLU):
            x = zero_beyond(x, widths)
    return x


def build_vgg(policy, conv_channels) -> ConvStack:
    """The paper's stack, its seven layers directly in the CRNN (as before backbones existed)."""
    return ConvStack(vgg_layers(conv_channels, policy), run_vgg)


# -- mobilenet_v3 ---------------------------------------------------------------------------

def hard_swish(x):
    return x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)


def _activation(name):
    return tf.nn.relu if name == "relu" else hard_swish


def scaled_channels(channels: int, multiplier: float, divisor: int = 8) -> int:
    """Channels times the width multiplier, rounded to a multiple of 8 (never down by more than 10%)."""
    scaled = max(divisor, int(channels * multiplier + divisor / 2) // divisor * divisor)
    return scaled + divisor if scaled < 0.9 * channels * multiplier else scaled


class ConvBN(tf.keras.layers.Layer):
    """Conv (or depthwise conv) + batch norm + activation, masked beyond each image's width.

    A strided conv pads explicitly (kernel // 2 on each side) and then runs 'valid', so its
    left edge is the same whatever the batch's width; an image of width w keeps ceil(w / s).

    A depthwise conv with unequal strides, such as (2, 1), runs at stride 1 and then keeps
    every second row (`subsample`): TensorFlow's own CPU kernels, its GPU kernels and TF
    Serving builds without oneDNN only take equal depthwise strides. With the explicit
    padding, row i of a stride-2 'valid' conv is row 2i of the stride-1 one, so the output and
    the variables are exactly those of the strided conv (checkpoints stay compatible); the
    extra rows cost a few percent of the block, depthwise convs being cheap.
    """

    def __init__(self, filters, kernel, stride=(1, 1), depthwise=False, activation="relu", dtype=None, name=None):
        super().__init__(name=name, dtype=dtype)
        self.stride = tuple(stride)
        self.pad = tf.keras.layers.ZeroPadding2D(kernel // 2, dtype=dtype) if kernel > 1 else None
        self.subsample = depthwise and self.stride[0] != self.stride[1]
        if depthwise:
            self.conv = tf.keras.layers.DepthwiseConv2D(kernel, (1, 1) if self.subsample else self.stride,
                                                        padding="valid", use_bias=False, name="depthwise",
                                                        dtype=dtype)
        else:
            self.conv = tf.keras.layers.Conv2D(filters, kernel, stride, padding="valid", use_bias=False,
                                               name="conv", dtype=dtype)
        self.bn = tf.keras.layers.BatchNormalization(name="bn", dtype=dtype)
        self.activation = _activation(activation) if activation else None

    @tf.autograph.experimental.do_not_convert
    def call(self, x, widths=None, training=False):
        if self.pad is not None:
            x = self.pad(x)
        x = self.conv(x)
        if self.subsample:
            x = x[:, ::self.stride[0], ::self.stride[1], :]
        x = self.bn(x, training=training)
        if self.activation is not None:
            x = self.activation(x)
        if widths is not None and self.stride[1] > 1:
            widths = (widths + self.stride[1] - 1) // self.stride[1]
        return zero_beyond(x, widths), widths


class SqueezeExcite(tf.keras.layers.Layer):
    """Channel weights from each image's mean activation over its own width."""

    def __init__(self, channels, dtype=None, name=None):
        super().__init__(name=name, dtype=dtype)
        self.reduce = tf.keras.layers.Dense(scaled_channels(channels // 4, 1.0), activation="relu", name="reduce",
                                            dtype=dtype)
        self.expand = tf.keras.layers.Dense(channels, name="expand", dtype=dtype)

    @tf.autograph.experimental.do_not_convert
    def call(self, x, widths=None, training=None):  # noqa: ARG002  (Keras passes it through the decorator)
        total = tf.reduce_sum(x, axis=[1, 2])  # columns beyond the width are already 0
        if widths is None:
            count = tf.cast(tf.shape(x)[1] * tf.shape(x)[2], x.dtype)
        else:
            count = tf.cast(widths * tf.shape(x)[1], x.dtype)[:, None]
        weights = tf.nn.relu6(self.expand(self.reduce(total / count)) + 3.0) * (1.0 / 6.0)
        return x * weights[:, None, None, :]


class InvertedResidual(tf.keras.layers.Layer):
    """1x1 expansion -> depthwise conv -> squeeze-excite -> 1x1 projection (+ the input when shapes match)."""

    def __init__(self, in_channels, kernel, expansion, out_channels, squeeze_excite, activation, stride,
                 dtype=None, name=None):
        super().__init__(name=name, dtype=dtype)
        self.expand = (ConvBN(expansion, 1, activation=activation, dtype=dtype, name="expand")
                       if expansion != in_channels else None)
        self.depthwise = ConvBN(expansion, kernel, stride, depthwise=True, activation=activation, dtype=dtype,
                                name="dw")
        self.squeeze_excite = SqueezeExcite(expansion, dtype=dtype, name="se") if squeeze_excite else None
        self.project = ConvBN(out_channels, 1, activation=None, dtype=dtype, name="project")
        self.residual = stride == (1, 1) and in_channels == out_channels

    @tf.autograph.experimental.do_not_convert
    def call(self, x, widths=None, training=False):
        y = x
        if self.expand is not None:
            y, _ = self.expand(y, widths, training=training)
        y, out_widths = self.depthwise(y, widths, training=training)
        if self.squeeze_excite is not None:
            y = self.squeeze_excite(y, out_widths)
        y, _ = self.project(y, out_widths, training=training)
        return (x + y if self.residual else y), out_widths


class MobileNetV3Text(tf.keras.layers.Layer):
    """images [batch, H, W, C] -> features [batch, H/16, W/4, 576 x multiplier] (see the module doc)."""

    def __init__(self, multiplier=1.0, dtype=None, name="mobilenet_v3"):
        super().__init__(name=name, dtype=dtype)
        channels = scaled_channels(MOBILENET_V3_STEM, multiplier)
        self.stem = ConvBN(channels, 3, (2, 2), activation="hard_swish", dtype=dtype, name="stem")
        self.blocks = []
        for index, (kernel, expansion, out, squeeze_excite, activation, stride) in enumerate(MOBILENET_V3_BLOCKS):
            out = scaled_channels(out, multiplier)
            self.blocks.append(InvertedResidual(channels, kernel, scaled_channels(expansion, multiplier), out,
                                                squeeze_excite, activation, stride, dtype=dtype,
                                                name=f"block{index + 1}"))
            channels = out
        self.last = ConvBN(scaled_channels(MOBILENET_V3_LAST, multiplier), 1, activation="hard_swish", dtype=dtype,
                           name="last")

    @tf.autograph.experimental.do_not_convert
    def call(self, x, widths=None, training=False):
        x, widths = self.stem(x, widths, training=training)
        for block in self.blocks:
            x, widths = block(x, widths, training=training)
        x, _ = self.last(x, widths, training=training)
        return x


def run_single_layer(layers, x, widths, training):
    """Runs a stack that is one Keras layer taking the widths."""
    (layer,) = layers
    return layer(x, widths, training=training)


def build_mobilenet_v3(policy, width_multiplier) -> ConvStack:
    """MobileNetV3Text as one layer named mobilenet_v3 in the CRNN."""
    return ConvStack([MobileNetV3Text(width_multiplier, dtype=policy)], run_single_layer)
