import numpy as np
import tensorflow as tf

from tf_crnn.network import CRNN


def test_paper_network_has_about_8_3_million_parameters():
    network = CRNN([64, 128, 256, 256, 512, 512, 512], [256, 256], num_classes=37)
    network(tf.zeros([1, 32, 100, 1]), tf.constant([100]))
    count = network.count_params()
    assert 8.2e6 < count < 8.4e6, count


def test_one_frame_per_four_pixels_and_the_mask_hides_padding():
    network = CRNN([8, 8, 8, 8, 8, 8, 8], [8], num_classes=5)
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


def test_a_reading_does_not_depend_on_the_rest_of_the_batch():
    network = CRNN([8, 8, 8, 8, 8, 8, 8], [8], num_classes=5)
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
