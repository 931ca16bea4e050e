"""The tf.data input_fn: shards -> padded batches of (features, labels) for the Estimator.

features: `images` float32 [batch, height, widest, channels] in [0, 1], `widths` int32
[batch] (each image's true width), `source` int32 [batch] (the index of the source an
example came from, when a run reads several: make_mixed_dataset). labels: `ids` int32
[batch, longest] padded with -1, `lengths` int32 [batch]. Everything per example is a
TensorFlow op, so the whole pipeline runs in parallel C++ threads.
"""

import tensorflow as tf

from tf_crnn.alphabet import for_config
from tf_crnn.data import schema
from tf_crnn.data.augment import augment
from tf_crnn.data.preprocess import decode_image, resize_to_height

PAD_ID = -1


def example_parser(config, training: bool):
    """One serialized record -> (features, labels); the data check runs it on a sample too."""
    alphabet = for_config(config)

    def parse(record):
        parsed = schema.parse_examples(record, keys=(schema.IMAGE, schema.LABEL))
        image = decode_image(parsed[schema.IMAGE], config.channels)
        image, width = resize_to_height(image, config.image_height, config.min_image_width, config.max_image_width)
        if training and config.augmentation.enabled:
            image = augment(image, config.augmentation)
        label = parsed[schema.LABEL]
        if config.lowercase_labels:
            label = tf.strings.lower(label, encoding="utf-8")
        ids = alphabet.tf_encode(label[None]).flat_values
        if config.unknown_label_policy == "strip":
            ids = tf.boolean_mask(ids, ids >= 0)
        features = {"images": image, "widths": width}
        labels = {"ids": ids, "lengths": tf.size(ids, out_type=tf.int32)}
        return features, labels

    return parse


def _usable(features, labels):
    """Drops empty labels (those `strip` emptied too) and, under `skip`, labels with unknown units (id -1)."""
    return tf.logical_and(labels["lengths"] > 0, tf.reduce_all(labels["ids"] >= 0))


def _examples(config, files, training: bool, source_id: int = 0) -> tf.data.Dataset:
    """The usable (features, labels) of `files`, each tagged with `source_id`
    (features["source"]); for training shuffled, augmented and repeated."""
    in_order = config.deterministic or not training
    filenames = tf.data.Dataset.from_tensor_slices(list(files))
    if training:
        filenames = filenames.shuffle(len(files), seed=config.seed, reshuffle_each_iteration=True)
    records = filenames.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), 8),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=in_order,
    )
    if training:
        records = records.shuffle(config.shuffle_buffer, seed=config.seed)
    parse = example_parser(config, training)

    def parse_and_tag(record):  # one map stage: the tag costs no pass of its own
        features, labels = parse(record)
        return dict(features, source=tf.constant(source_id, tf.int32)), labels

    examples = records.map(parse_and_tag, num_parallel_calls=tf.data.AUTOTUNE, deterministic=in_order)
    examples = examples.filter(_usable).ignore_errors(log_warning=True)
    if training:
        # Repeated after the filter: a pass that yields no example then ends the data (and
        # the run, which train.py reports) where repeating the files would wait forever.
        examples = examples.repeat()
    return examples


def _batched(config, examples, training: bool, batch_size: int) -> tf.data.Dataset:
    padding = ({"images": 0.0, "widths": 0, "source": -1}, {"ids": PAD_ID, "lengths": 0})
    if training and config.bucket_boundaries:
        batches = examples.bucket_by_sequence_length(
            element_length_func=lambda features, labels: features["widths"],
            bucket_boundaries=list(config.bucket_boundaries),
            bucket_batch_sizes=[batch_size] * (len(config.bucket_boundaries) + 1),
            padding_values=padding,
        )
    else:
        batches = examples.padded_batch(batch_size, padding_values=padding)
    return batches.prefetch(tf.data.AUTOTUNE)


def make_dataset(config, files, training: bool, batch_size: int = None) -> tf.data.Dataset:
    """The batches of one set of shards; `training` adds shuffling, repetition and augmentation."""
    return _batched(config, _examples(config, files, training), training, batch_size or config.batch_size)


def make_mixed_dataset(config, sources, training: bool, batch_size: int = None) -> tf.data.Dataset:
    """The batches of several sources, `sources` being (DataSource, its files) pairs, each
    example tagged with its source's index (features["source"]).

    Training draws each example from a source chosen at random with probability
    proportional to its weight (tf.data's sample_from_datasets, seeded by the config): the
    mix holds whatever the sources' sizes, and a resumed run draws in the same proportions.
    A source that yields no example at all ends the data, as one source would. Evaluation
    reads every source once, one after another.
    """
    from tf_crnn.config import with_label_handling

    streams = [_examples(with_label_handling(config, source), files, training, index)
               for index, (source, files) in enumerate(sources)]
    if len(streams) == 1:
        examples = streams[0]
    elif training:
        total = sum(source.weight for source, _ in sources)
        examples = tf.data.Dataset.sample_from_datasets(
            streams, weights=[source.weight / total for source, _ in sources], seed=config.seed,
            stop_on_empty_dataset=True)
    else:
        examples = streams[0]
        for stream in streams[1:]:
            examples = examples.concatenate(stream)
    return _batched(config, examples, training, batch_size or config.batch_size)


def make_input_fn(config, files, training: bool, batch_size: int = None):
    """An Estimator input_fn over `files`, or over several sources given as (DataSource,
    files) pairs (make_mixed_dataset)."""

    def input_fn(params=None, input_context=None):
        # Under a `mirrored` strategy the Estimator passes an input_context and hands each
        # element of the dataset to one replica: batch_size, the global batch, is split.
        size = batch_size or config.batch_size
        if input_context is not None:
            size = input_context.get_per_replica_batch_size(size)
        if files and not isinstance(files[0], str):
            return make_mixed_dataset(config, files, training, size)
        return make_dataset(config, files, training, size)

    return input_fn
