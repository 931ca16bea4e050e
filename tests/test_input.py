"""The input_fn: batch shapes, widths and labels; augmentation and bucketing; unknown labels."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_model_fields, write_config
from tf_crnn.config import load_config
from tf_crnn.data.input import make_dataset
from tf_crnn.model.network import sequence_lengths


def _config(tiny_shards, **overrides):
    return load_config(write_config(tiny_shards / "input_params.json", **tiny_model_fields(tiny_shards, **overrides)))


def test_batches_shapes_widths_and_labels(tiny_shards):
    import glob

    config = _config(tiny_shards, batch_size=8, max_image_width=80)
    files = sorted(glob.glob(config.train_files[0]))
    features, labels = next(iter(make_dataset(config, files, training=False)))
    images, widths = features["images"].numpy(), features["widths"].numpy()
    assert images.shape[0] == 8 and images.shape[1] == 32 and images.shape[3] == 1
    assert images.dtype == np.float32 and images.min() >= 0.0 and images.max() <= 1.0
    # Padded to the batch's own widest image; each width is the image's true width.
    assert images.shape[2] == widths.max()
    assert widths.min() >= config.min_image_width and widths.max() <= 80
    for image, width in zip(images, widths):
        assert np.all(image[:, width:, :] == 0.0)
    ids, lengths = labels["ids"].numpy(), labels["lengths"].numpy()
    assert ids.shape == (8, lengths.max())
    for row, length in zip(ids, lengths):
        assert np.all(row[:length] >= 0) and np.all(row[length:] == -1)
    assert list(sequence_lengths(widths).numpy()) == [int(np.ceil(w / 4)) for w in widths]


def test_training_pipeline_augments_and_buckets(tiny_shards):
    import glob

    config = _config(tiny_shards, batch_size=4, bucket_boundaries=[40, 60], augmentation={"enabled": True})
    files = sorted(glob.glob(config.train_files[0]))
    dataset = make_dataset(config, files, training=True)
    for features, labels in dataset.take(5):
        widths = features["widths"].numpy()
        assert features["images"].shape[2] == widths.max()
        buckets = np.digitize(widths, [40, 60])
        assert len(set(buckets)) == 1, widths


@pytest.mark.parametrize("policy, expected", [("skip", 0), ("unknown", 240)])
def test_unknown_label_policies(tiny_shards, tmp_path, policy, expected):
    import glob

    alphabet = tmp_path / "small.txt"
    alphabet.write_text("a\nb\nc\nd\n", encoding="utf-8")  # far too small for TINY_WORDS
    config = _config(tiny_shards, alphabet_file=str(alphabet), unknown_label_policy=policy, batch_size=64)
    files = sorted(glob.glob(config.train_files[0])) + sorted(glob.glob(config.eval_files[0]))
    count = sum(int(f["widths"].shape[0]) for f, _ in make_dataset(config, files, training=False))
    assert count == expected


def test_low_resolution_distortion_softens_strokes_and_keeps_the_shape():
    """A word shrunk and enlarged back keeps its size and overall ink but loses the
    sharp black-white edges of a clean rendering (its total variation falls)."""
    from tf_crnn.config import Augmentation
    from tf_crnn.data.augment import augment

    stripes = np.tile(np.repeat([0.0, 1.0], 2), 16)[None, :, None] * np.ones((32, 1, 1))
    image = tf.constant(stripes, tf.float32)  # 32 x 64, vertical strokes 2 px wide
    only_low_resolution = Augmentation(max_rotation_degrees=0, max_shear=0, brightness=0, contrast=0,
                                       blur_probability=0, noise_stddev=0, low_resolution_probability=1.0)
    softened = augment(image, only_low_resolution)
    assert softened.shape == image.shape
    assert abs(float(tf.reduce_mean(softened)) - float(tf.reduce_mean(image))) < 0.05
    assert float(tf.image.total_variation(softened)) < 0.7 * float(tf.image.total_variation(image))
    untouched = augment(image, Augmentation(**{**vars(only_low_resolution), "low_resolution_probability": 0.0}))
    np.testing.assert_array_equal(untouched.numpy(), image.numpy())
