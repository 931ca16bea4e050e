"""The one TFRecord schema, used by every writer and by the reader.

An example keeps the image as the encoded bytes it came in (PNG or JPEG), so shards stay
small and the decode happens in the tf.data pipeline, where it runs in parallel.
"""

from tf_crnn.data.tfrecord import encode_example
from tf_crnn.errors import DataError

IMAGE = "image/encoded"
LABEL = "image/text"
PATH = "image/path"


def feature_spec(keys=(IMAGE, LABEL, PATH)) -> dict:
    """How TensorFlow parses the requested features of an example."""
    import tensorflow as tf

    spec = {IMAGE: tf.io.FixedLenFeature([], tf.string), LABEL: tf.io.FixedLenFeature([], tf.string),
            PATH: tf.io.FixedLenFeature([], tf.string, default_value="")}
    return {key: spec[key] for key in keys}


def make_example(image_bytes: bytes, label: str, path: str) -> bytes:
    """Serializes one sample: encoded image bytes, its UTF-8 label and where it came from.
    (Without TensorFlow: the writers' workers never load it, tf_crnn/data/tfrecord.py.)"""
    return encode_example({IMAGE: image_bytes, LABEL: label.encode("utf-8"), PATH: path.encode("utf-8")})


def parse_examples(serialized, keys=(IMAGE, LABEL, PATH)) -> dict:
    """Parses a batch (or a scalar) of serialized examples into the requested features."""
    import tensorflow as tf

    spec = feature_spec(keys)
    if serialized.shape.rank == 0:
        return tf.io.parse_single_example(serialized, spec)
    return tf.io.parse_example(serialized, spec)


def unreadable_shard(path: str, error: Exception, records_read: int = None) -> DataError:
    """The one message for a shard TensorFlow cannot read (cut short, or not a shard at all)."""
    where = f" after {records_read:,} records" if records_read else ""
    return DataError(f"{path}: not a whole TFRecord shard of tf_crnn: it breaks off{where} "
                     f"({str(error).splitlines()[0]}); write it again with python -m tf_crnn.data.convert")


def read_examples(path: str):
    """Yields (image_bytes, label, source_path) from one shard, eagerly; for tools and tests.

    A shard cut short or not a shard raises DataError naming it (`unreadable_shard`).
    """
    import tensorflow as tf

    count = 0
    try:
        for record in tf.data.TFRecordDataset(path):
            parsed = parse_examples(record)
            yield (
                parsed[IMAGE].numpy(),
                parsed[LABEL].numpy().decode("utf-8"),
                parsed[PATH].numpy().decode("utf-8"),
            )
            count += 1
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as err:
        raise unreadable_shard(path, err, count) from None


def read_labels(path: str):
    """Yields the labels of one shard without decoding its images; for tools."""
    import tensorflow as tf

    dataset = tf.data.TFRecordDataset(path).batch(1024).map(lambda r: parse_examples(r, keys=(LABEL,))[LABEL])
    count = 0
    try:
        for batch in dataset:
            for label in batch.numpy():
                yield label.decode("utf-8")
                count += 1
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as err:
        raise unreadable_shard(path, err, count) from None
