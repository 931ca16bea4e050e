"""Recognition metrics in TensorFlow, for the Estimator's evaluation (their plain-Python
forms, for tools and tests, are in tf_crnn/word_metrics.py).

- word accuracy: the prediction equals the label exactly;
- alphanumeric word accuracy: the benchmarks' protocol (lower-case both, drop every
  character outside [0-9a-z], then compare);
- character error rate: total edit distance over total label length, in units.
"""

import tensorflow as tf


def tf_normalize_alnum(texts: tf.Tensor) -> tf.Tensor:
    return tf.strings.regex_replace(tf.strings.lower(texts, encoding="utf-8"), "[^0-9a-z]", "")


def sparse_from_padded(ids: tf.Tensor, dtype=tf.int64) -> tf.SparseTensor:
    """Dense ids padded with -1 -> SparseTensor (0 is a real id, so tf.sparse.from_dense won't do)."""
    ids = tf.cast(ids, dtype)
    indices = tf.where(ids >= 0)
    return tf.SparseTensor(indices, tf.gather_nd(ids, indices), tf.shape(ids, out_type=tf.int64))


def edit_distances(predicted_ids: tf.Tensor, true_ids: tf.Tensor) -> tf.Tensor:
    """Per-example edit distance in units between two padded id batches."""
    return tf.edit_distance(sparse_from_padded(predicted_ids), sparse_from_padded(true_ids), normalize=False)


def eval_metric_ops(predicted_words, true_words, predicted_ids, true_ids, true_lengths, mask=None) -> dict:
    """tf.compat.v1 streaming metrics for EstimatorSpec.eval_metric_ops; with `mask`
    (bool [batch]), over the examples it keeps only."""
    exact = tf.cast(tf.equal(predicted_words, true_words), tf.float32)
    alnum = tf.cast(tf.equal(tf_normalize_alnum(predicted_words), tf_normalize_alnum(true_words)), tf.float32)
    lengths = tf.cast(true_lengths, tf.float32)
    errors = edit_distances(predicted_ids, true_ids)
    # mean(errors / length) weighted by length is sum(errors) / sum(length).
    per_char = errors / tf.maximum(lengths, 1.0)
    kept = tf.ones_like(exact) if mask is None else tf.cast(mask, tf.float32)
    return {
        "word_accuracy": tf.compat.v1.metrics.mean(exact, weights=kept),
        "alnum_word_accuracy": tf.compat.v1.metrics.mean(alnum, weights=kept),
        "cer": tf.compat.v1.metrics.mean(per_char, weights=lengths * kept),
    }
