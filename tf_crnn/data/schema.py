"""The one TFRecord schema, used by every writer and by the reader.

An example keeps the image as the encoded bytes it came in (PNG or JPEG), so shards stay
small and the decode happens in the tf.data pipeline, where it runs in parallel.
"""

import tensorflow as tf

IMAGE = "image/encoded"
LABEL = "image/text"
PATH = "image/path"

FEATURES = {
    IMAGE: tf.io.FixedLenFeature([], tf.string),
    LABEL: tf.io.FixedLenFeature([], tf.string),
    PATH: tf.io.FixedLenFeature([], tf.string, default_value=""),
}


def _bytes_feature(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def make_example(image_bytes: bytes, label: str, path: str) -> bytes:
    """Serializes one sample: encoded image bytes, its UTF-8 label and where it came from."""
    example = tf.train.Example(
        features=tf.train.Features(
            feature={
                IMAGE: _bytes_feature(image_bytes),
                LABEL: _bytes_feature(label.encode("utf-8")),
                PATH: _bytes_feature(path.encode("utf-8")),
            }
        )
    )
    return example.SerializeToString()


def parse_examples(serialized: tf.Tensor, keys=(IMAGE, LABEL, PATH)) -> dict:
    """Parses a batch (or a scalar) of serialized examples into the requested features."""
    spec = {key: FEATURES[key] for key in keys}
    if serialized.shape.rank == 0:
        return tf.io.parse_single_example(serialized, spec)
    return tf.io.parse_example(serialized, spec)


def read_examples(path: str):
    """Yields (image_bytes, label, source_path) from one shard, eagerly; for tools and tests."""
    for record in tf.data.TFRecordDataset(path):
        parsed = parse_examples(record)
        yield (
            parsed[IMAGE].numpy(),
            parsed[LABEL].numpy().decode("utf-8"),
            parsed[PATH].numpy().decode("utf-8"),
        )


def read_labels(path: str):
    """Yields the labels of one shard without decoding its images; for tools."""
    dataset = tf.data.TFRecordDataset(path).batch(1024).map(lambda r: parse_examples(r, keys=(LABEL,))[LABEL])
    for batch in dataset:
        for label in batch.numpy():
            yield label.decode("utf-8")
