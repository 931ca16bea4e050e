"""The CRNN network: parameter counts, one frame per FRAME_WIDTH pixels with every backbone,
readings that do not depend on the rest of the batch, and a training step.

TensorFlow 2.15 runs a CPU's convolutions with one of two sets of kernels, chosen when it
starts: oneDNN's (on by default only on CPUs with AVX-512 VNNI, bfloat16 or AMX) or its own
(every other CPU), and the two do not accept the same ops (its own take depthwise
convolutions with equal strides only). So this file is not collected with the suite: the
suite's tests/test_kernel_paths.py runs it once with `TF_ENABLE_ONEDNN_OPTS=0` and once with
`=1`, each in a fresh process, and a break on either path fails on any machine. Run it
alone with `pytest tests/network_checks.py`.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from tf_crnn.backbone_table import BACKBONES, backbone_settings
from tf_crnn.config import Config
from tf_crnn.model.network import CRNN

# Every backbone of the table is checked: at these settings where given (a few channels,
# for quick checks), else at the Config's defaults.
SMALL = {"vgg": {"conv_channels": [8] * 7}, "mobilenet_v3": {"width_multiplier": 0.25}}
# The paper's sizes, and their counterpart for the others.
FULL = {"vgg": {"conv_channels": [64, 128, 256, 256, 512, 512, 512]}, "mobilenet_v3": {"width_multiplier": 1.0}}


def _settings(backbone, sizes):
    return sizes.get(backbone) or backbone_settings(Config(backbone=backbone))


def test_the_kernels_are_those_the_environment_asks_for():
    """The process runs on the path TF_ENABLE_ONEDNN_OPTS names (when it names one)."""
    from tensorflow.python.util import _pywrap_util_port

    asked = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    if asked not in ("0", "1"):
        pytest.skip("TF_ENABLE_ONEDNN_OPTS not set: the machine's default path")
    assert _pywrap_util_port.IsMklEnabled() == (asked == "1")


def _small(backbone, lstm_units=(8,), num_classes=5, **kwargs):
    return CRNN(backbone, _settings(backbone, SMALL), list(lstm_units), num_classes=num_classes, **kwargs)


def test_every_backbone_in_the_table_has_its_builder():
    from tf_crnn.model import backbones

    for name, backbone in BACKBONES.items():
        assert callable(getattr(backbones, backbone.builder, None)), f"{name}: no {backbone.builder} in backbones.py"


def test_mobilenet_v3_backbone_parameters_and_feature_map():
    from tf_crnn.model.backbones import MobileNetV3Text

    counts = {}
    for multiplier in (0.5, 1.0):
        backbone = MobileNetV3Text(multiplier)
        features = backbone(tf.zeros([2, 32, 100, 1]), tf.constant([100, 41]))
        counts[multiplier] = backbone.count_params()
        # Height halved four times, width twice: 2 rows of 25 frames (one per 4 pixels).
        assert features.shape[:3] == (2, 2, 25)
        assert features.shape[3] == (576 if multiplier == 1.0 else 288)
    # Its own weights (the LSTMs come on top): about a tenth of the paper's conv stack at 1.0.
    assert 0.8e6 < counts[1.0] < 1.1e6, counts
    assert 0.2e6 < counts[0.5] < 0.35e6, counts


@pytest.mark.parametrize("backbone", BACKBONES)
def test_every_backbone_at_full_size_reads_one_frame_per_four_pixels(backbone):
    images, widths = tf.zeros([3, 32, 157, 1]), tf.constant([157, 64, 9])
    assert CRNN(backbone, _settings(backbone, FULL), [256, 256], 37)(images, widths).shape == (3, 40, 37)


def test_paper_network_has_about_8_3_million_parameters():
    network = CRNN("vgg", FULL["vgg"], [256, 256], num_classes=37)
    network(tf.zeros([1, 32, 100, 1]), tf.constant([100]))
    count = network.count_params()
    assert 8.2e6 < count < 8.4e6, count


@pytest.mark.parametrize("backbone", BACKBONES)
def test_one_frame_per_four_pixels_and_the_mask_hides_padding(backbone):
    network = _small(backbone)
    images = np.random.RandomState(0).rand(2, 32, 160, 1).astype(np.float32)
    widths = tf.constant([160, 30])
    logits = network(images, widths).numpy()
    assert logits.shape == (2, 40, 5)
    # Change the second image far beyond its width (and beyond the conv stack's ~46 px
    # receptive field): without the mask the backward LSTM would carry it into the word.
    changed = images.copy()
    changed[1, :, 100:, :] = 1.0 - changed[1, :, 100:, :]
    again = network(changed, widths).numpy()
    np.testing.assert_allclose(logits[1, :8], again[1, :8], atol=1e-6)
    np.testing.assert_allclose(logits[0], again[0], atol=1e-6)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_a_reading_does_not_depend_on_the_rest_of_the_batch(backbone):
    network = _small(backbone)
    rng = np.random.RandomState(1)
    narrow = rng.rand(1, 32, 37, 1).astype(np.float32)
    wide = rng.rand(1, 32, 90, 1).astype(np.float32)
    alone = network(narrow, tf.constant([37])).numpy()
    batch = np.zeros([2, 32, 90, 1], np.float32)
    batch[0, :, :37] = narrow[0]
    batch[1] = wide[0]
    together = network(batch, tf.constant([37, 90])).numpy()
    frames = alone.shape[1]
    np.testing.assert_allclose(together[0, :frames], alone[0], atol=1e-5)


def test_mobilenet_v3_behind_the_spatial_transformer_stays_batch_independent():
    network = _small("mobilenet_v3", spatial_transformer=True)
    rng = np.random.RandomState(2)
    narrow = rng.rand(1, 32, 41, 1).astype(np.float32)
    batch = np.zeros([2, 32, 96, 1], np.float32)
    batch[0, :, :41] = narrow[0]
    batch[1] = rng.rand(32, 96, 1)
    alone = network(narrow, tf.constant([41])).numpy()
    together = network(batch, tf.constant([41, 96])).numpy()
    assert together.shape == (2, 24, 5)
    np.testing.assert_allclose(together[0, :alone.shape[1]], alone[0], atol=1e-5)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_batch_norm_momentum_sets_how_far_one_training_step_moves_the_statistics(backbone):
    """From the same weights and batch, one training step at momentum 0.5 moves every batch
    norm's moving mean (from 0) 50 times as far as at Keras' 0.99: the setting reaches every
    batch norm of the network, those nested in the backbone's blocks too."""
    images, widths = tf.random.stateless_uniform([4, 32, 64, 1], seed=(1, 2)), tf.constant([64, 40, 23, 9])
    networks = {}
    for momentum in (0.5, 0.99):
        network = _small(backbone, batch_norm_momentum=momentum)
        network(images, widths)  # builds the variables
        if momentum == 0.99:
            for variable, source in zip(network.trainable_variables, networks[0.5].trainable_variables):
                variable.assign(source)
        networks[momentum] = network
    means = {}
    for momentum, network in networks.items():
        network(images, widths, training=True)
        means[momentum] = [layer.moving_mean.numpy() for layer in network.submodules
                           if isinstance(layer, tf.keras.layers.BatchNormalization)]
    assert len(means[0.5]) == len(means[0.99]) > 3
    for fast, slow in zip(means[0.5], means[0.99]):
        np.testing.assert_allclose(fast, 50.0 * slow, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_one_training_step_moves_every_variable_with_finite_gradients(backbone):
    """The backward pass runs on this kernel path (the depthwise convolutions' gradients
    included) and reaches every trainable variable."""
    network = _small(backbone)
    images = tf.random.stateless_uniform([3, 32, 72, 1], seed=(3, 4))
    widths = tf.constant([72, 50, 21])
    with tf.GradientTape() as tape:
        logits = network(images, widths, training=True)
        loss = tf.reduce_mean(tf.square(logits))
    gradients = tape.gradient(loss, network.trainable_variables)
    assert len(gradients) == len(network.trainable_variables) > 10
    for variable, gradient in zip(network.trainable_variables, gradients):
        assert gradient is not None, variable.name
        assert np.all(np.isfinite(tf.convert_to_tensor(gradient).numpy())), variable.name
