"""The CRNN network (Shi, Bai and Yao, 2015): conv stack -> bidirectional LSTMs -> per-frame logits.

The conv stack (`backbone`: the paper's `vgg`, or `mobilenet_v3`; an entry of
tf_crnn/backbone_table.py, built in tf_crnn/model/backbones.py) turns an image of height H
into a sequence of W/4 frames; each frame sees a vertical slice of the word. Two
bidirectional LSTMs read the sequence, with a linear projection between them as in the
paper, and a dense layer scores every alphabet unit plus the CTC blank for each frame.
With the paper's sizes this is about 8.3M parameters.
"""

import tensorflow as tf

from tf_crnn import backbone_table
from tf_crnn.config import FRAME_WIDTH
from tf_crnn.model.backbones import build_backbone, zero_beyond
from tf_crnn.model.stn import SpatialTransformer

# The `call` methods below hold no Python control flow over tensors, so they are marked
# do_not_convert: AutoGraph would otherwise transpile each of them whenever a graph is built
# (training, evaluation and export each build one), seconds of start-up for nothing.


def sequence_lengths(widths: tf.Tensor) -> tf.Tensor:
    """Frames the network emits for images of these true widths ('same' pooling rounds up)."""
    return (tf.cast(widths, tf.int32) + FRAME_WIDTH - 1) // FRAME_WIDTH


class BidirectionalLSTM(tf.keras.layers.Layer):
    """A bidirectional LSTM for right-padded batches that needs no mask.

    The backward LSTM reads each sequence reversed within its own length
    (tf.reverse_sequence), so padding never reaches a real frame in either direction;
    outputs on padded frames are left as they fall and ignored downstream (CTC and the
    decoders take the frame lengths). Keras' own mask support gives the same outputs on
    real frames but runs the LSTM step by step with a select per step: about twice the
    time on CPU.
    """

    def __init__(self, units, dtype=None, unroll=False, name=None):
        super().__init__(name=name, dtype=dtype)
        self.forward_lstm = tf.keras.layers.LSTM(units, return_sequences=True, unroll=unroll, name="forward",
                                                 dtype=dtype)
        self.backward_lstm = tf.keras.layers.LSTM(units, return_sequences=True, unroll=unroll, name="backward",
                                                  dtype=dtype)

    def _reverse(self, x, lengths):
        if lengths is None:
            return tf.reverse(x, axis=[1])
        return tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)

    @tf.autograph.experimental.do_not_convert
    def call(self, x, lengths=None, training=None):
        forward = self.forward_lstm(x, training=training)
        backward = self._reverse(self.backward_lstm(self._reverse(x, lengths), training=training), lengths)
        return tf.concat([forward, backward], axis=-1)


class CRNN(tf.keras.Model):
    """images [batch, H, W, C] in [0, 1] and widths [batch] -> logits [batch, W/4, classes]."""

    def __init__(self, backbone, backbone_settings, lstm_units, num_classes, dropout=0.0, precision="float32",
                 spatial_transformer=False, unroll=False, batch_norm_momentum=0.99, name="crnn"):
        """`backbone` names an entry of tf_crnn/backbone_table.py; `backbone_settings` holds
        the values of the fields it reads, e.g. {"conv_channels": [64, 128, ...]} for vgg."""
        super().__init__(name=name)
        self.spatial_transformer = SpatialTransformer() if spatial_transformer else None
        # Under mixed_bfloat16 the layers compute in bfloat16 and keep float32 weights; the
        # logits come out in float32 for the softmax and the CTC loss.
        policy = tf.keras.mixed_precision.Policy(precision)
        stack = build_backbone(backbone, backbone_settings, policy)
        self.conv_layers = stack.layers  # held here, for the variable names of old checkpoints
        self.run_conv_layers = stack.run
        self.rnn_layers = []
        for index, units in enumerate(lstm_units):
            self.rnn_layers.append(BidirectionalLSTM(units, name=f"blstm{index + 1}", dtype=policy, unroll=unroll))
            if dropout > 0:
                self.rnn_layers.append(tf.keras.layers.Dropout(dropout, name=f"dropout{index + 1}", dtype=policy))
            if index < len(lstm_units) - 1:
                self.rnn_layers.append(tf.keras.layers.Dense(lstm_units[index + 1], name=f"projection{index + 1}",
                                                             dtype=policy))
        self.classifier = tf.keras.layers.Dense(num_classes, name="logits", dtype="float32")
        self.compute_dtype_ = policy.compute_dtype
        # One momentum for every batch norm, whichever part it is in (config.batch_norm_momentum);
        # Keras reads it at each training call, so setting it before the first call is enough.
        for layer in self.submodules:
            if isinstance(layer, tf.keras.layers.BatchNormalization):
                layer.momentum = batch_norm_momentum
        # Parts (config.NETWORK_PARTS) kept fixed: their layers run in inference mode (batch
        # norm with its moving statistics, no updates) even while the rest trains.
        self.frozen_parts = ()

    def parts(self) -> dict:
        """The network's layers by part: stn, conv (the backbone), rnn, classifier."""
        return {"stn": [self.spatial_transformer] if self.spatial_transformer is not None else [],
                "conv": list(self.conv_layers),
                "rnn": list(self.rnn_layers),
                "classifier": [self.classifier]}

    def trained_variables(self) -> list:
        """The trainable variables of the parts not in `frozen_parts`: what the optimizer updates."""
        return [variable for part, layers in self.parts().items() if part not in self.frozen_parts
                for layer in layers for variable in layer.trainable_variables]

    def _training(self, part: str, training):
        return bool(training) and part not in self.frozen_parts

    def features(self, images, widths=None, training=False):
        """Conv stack: images -> frames [batch, time, features].

        Every activation right of an image's own width (at that layer's resolution) is
        set to 0, which is what the convolutions' 'same' padding reads at an image's edge:
        an image then gets the same frames in a batch of wider images as alone, and a
        reading never depends on what else is in the batch.
        """
        x = tf.cast(images * 2.0 - 1.0, self.compute_dtype_)
        x = zero_beyond(x, widths)
        x = self.run_conv_layers(self.conv_layers, x, widths, training)
        x = tf.transpose(x, [0, 2, 1, 3])  # [batch, time, height, channels]
        shape = tf.shape(x)
        return tf.reshape(x, [shape[0], shape[1], x.shape[2] * x.shape[3]])

    @tf.autograph.experimental.do_not_convert
    def call(self, images, widths=None, training=False):
        if self.spatial_transformer is not None:
            images = self.spatial_transformer(images, widths, training=self._training("stn", training))
        x = self.features(images, widths, training=self._training("conv", training))
        lengths = None if widths is None else tf.minimum(sequence_lengths(widths), tf.shape(x)[1])
        rnn_training = self._training("rnn", training)
        for layer in self.rnn_layers:
            if isinstance(layer, BidirectionalLSTM):
                x = layer(x, lengths=lengths, training=rnn_training)
            else:
                x = layer(x, training=rnn_training)
        return self.classifier(x)


def build_network(config, num_classes: int, precision: str = None, unroll: bool = False) -> CRNN:
    """The configured CRNN; `unroll` (fixed width only) unrolls the LSTMs, for TFLite and ONNX."""
    network = CRNN(config.backbone, backbone_table.backbone_settings(config), config.lstm_units, num_classes,
                   config.dropout, precision or config.precision, config.spatial_transformer, unroll,
                   config.batch_norm_momentum)
    network.frozen_parts = tuple(config.freeze)
    return network
