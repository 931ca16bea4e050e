"""CTC decoding: per-frame log-probabilities -> words, confidences and the top-k beams.

The confidence of a word is the probability the network gives it: the best path's
probability for greedy decoding, the beam's (summed over its paths) for beam search.
"""

import tensorflow as tf


def dense_ids(sparse: tf.SparseTensor) -> tf.Tensor:
    """Decoder output -> dense ids [batch, longest], padded with -1."""
    return tf.sparse.to_dense(sparse, default_value=-1)


def greedy(time_major_log_probs, lengths):
    """Best path: (ids [batch, longest], confidences [batch])."""
    decoded, neg_sum = tf.nn.ctc_greedy_decoder(time_major_log_probs, lengths, merge_repeated=True)
    return dense_ids(decoded[0]), tf.exp(-neg_sum[:, 0])


def beam_search(time_major_log_probs, lengths, beam_width: int, top_paths: int):
    """Beam search: ([top_paths] ids [batch, longest], scores [batch, top_paths])."""
    decoded, log_probs = tf.nn.ctc_beam_search_decoder(
        time_major_log_probs, lengths, beam_width=beam_width, top_paths=top_paths
    )
    return [dense_ids(path) for path in decoded], tf.exp(log_probs)


def decode(time_major_log_probs, lengths, alphabet, decoder: str, beam_width: int, top_paths: int) -> dict:
    """Everything a prediction returns: words, confidences, top_words, top_scores (and ids).

    `top_paths` 0 gives no alternative readings (top_words and top_scores [batch, 0]), so a
    greedy graph runs no beam search at all (at batch 1 that search is about a tenth of a
    word's time: docs/BENCHMARKS.md, "Serving against RapidOCR").
    """
    if top_paths > 0 or decoder == "beam":
        beams, beam_scores = beam_search(time_major_log_probs, lengths, beam_width, max(top_paths, 1))
    if top_paths > 0:
        top_words = tf.stack([alphabet.tf_decode(ids) for ids in beams], axis=1)
        top_scores = beam_scores
    else:
        batch = tf.shape(lengths)[0]
        top_words = tf.fill(tf.stack([batch, 0]), "")
        top_scores = tf.zeros(tf.stack([batch, 0]), tf.float32)
    if decoder == "beam":
        ids, confidences = beams[0], beam_scores[:, 0]
    else:
        ids, confidences = greedy(time_major_log_probs, lengths)
    return {
        "ids": ids,
        "words": alphabet.tf_decode(ids),
        "confidences": confidences,
        "top_words": top_words,
        "top_scores": top_scores,
    }
