"""CTC decoding: per-frame log-probabilities -> words, confidences and the top-k beams.

The confidence of a word is the probability the network gives it: the best path's
probability for greedy decoding, the beam's (summed over its paths) for beam search.

What a reading is made of (`unit_details`): each emitted unit's probability and the x
range of the frames that emitted it. A unit is emitted by a run of frames of one path
through the frames: the best path for greedy decoding; for beam search, the most probable
alignment of the beam's word (Viterbi), since a beam sums over many paths and has no
frames of its own. The unit's probability is the highest of its frames' probabilities;
its x range runs from the first pixel of its first frame to the last of its last (each
frame is `FRAME_WIDTH` pixels of the resized image), scaled to the pixels of the image
as given.
"""

import tensorflow as tf

from tf_crnn.config import FRAME_WIDTH

_NEG = -1e30  # log zero that survives additions


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


def best_path_frames(time_major_log_probs, lengths):
    """The greedy decoder's path: (unit index each frame emits or -1 [batch, frames],
    each frame's probability on that path [batch, frames]), as tf.nn.ctc_greedy_decoder
    merges it (a repeat continues a unit unless a blank comes between)."""
    log_probs = tf.transpose(time_major_log_probs, [1, 0, 2])
    blank = tf.shape(log_probs)[-1] - 1
    best = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
    valid = tf.sequence_mask(lengths, tf.shape(best)[1])
    previous = tf.pad(best[:, :-1], [[0, 0], [1, 0]], constant_values=-1)
    emitting = valid & tf.not_equal(best, blank)
    starts = emitting & tf.not_equal(best, previous)
    unit = tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1
    return tf.where(emitting, unit, -1), tf.exp(tf.reduce_max(log_probs, axis=-1))


def aligned_frames(time_major_log_probs, lengths, ids):
    """The most probable path that spells `ids` ([batch, longest], -1 padded), Viterbi over
    CTC's states (blank, unit, blank, ...): as `best_path_frames`, for any word."""
    log_probs = tf.transpose(time_major_log_probs, [1, 0, 2])
    batch, frames = tf.shape(log_probs)[0], tf.shape(log_probs)[1]
    blank = tf.shape(log_probs)[-1] - 1
    ids = tf.cast(ids, tf.int32)
    label_lengths = tf.reduce_sum(tf.cast(ids >= 0, tf.int32), axis=1)
    units = tf.where(ids >= 0, ids, blank)
    states = tf.reshape(tf.stack([tf.fill(tf.shape(units), blank), units], axis=2), [batch, -1])
    states = tf.concat([states, tf.fill([batch, 1], blank)], axis=1)  # [batch, 2 * longest + 1]
    emit = tf.gather(log_probs, states, axis=2, batch_dims=1)  # [batch, frames, states]
    index = tf.range(tf.shape(states)[1])
    two_back = tf.pad(states[:, :-2], [[0, 0], [2, 0]], constant_values=-1)
    can_skip = tf.equal(index % 2, 1)[None, :] & tf.not_equal(states, two_back) & (index >= 2)[None, :]
    valid = tf.transpose(tf.sequence_mask(lengths, frames))  # [frames, batch]
    start = tf.where((index < 2)[None, :], emit[:, 0], _NEG)

    def forward(carry, inputs):
        score, _ = carry
        emit_t, valid_t = inputs
        one_back = tf.pad(score[:, :-1], [[0, 0], [1, 0]], constant_values=_NEG)
        skip = tf.where(can_skip, tf.pad(score[:, :-2], [[0, 0], [2, 0]], constant_values=_NEG), _NEG)
        choices = tf.stack([score, one_back, skip], axis=-1)
        step_back = tf.argmax(choices, axis=-1, output_type=tf.int32)
        new_score = tf.reduce_max(choices, axis=-1) + emit_t
        return (tf.where(valid_t[:, None], new_score, score),
                tf.where(valid_t[:, None], step_back, tf.zeros_like(step_back)))

    scores, step_backs = tf.scan(forward, (tf.transpose(emit, [1, 0, 2])[1:], valid[1:]),
                                 initializer=(start, tf.zeros_like(states)))
    final_scores = tf.concat([start[None], scores], axis=0)[-1]
    last = 2 * label_lengths
    before = tf.maximum(last - 1, 0)
    take_before = (label_lengths > 0) & (tf.gather(final_scores, before, batch_dims=1) >
                                         tf.gather(final_scores, last, batch_dims=1))
    final = tf.where(take_before, before, last)

    def backward(state, step_back):
        return state - tf.gather(step_back, state[:, None], batch_dims=1)[:, 0]

    earlier = tf.scan(backward, step_backs, initializer=final, reverse=True)
    path = tf.transpose(tf.concat([earlier, final[None]], axis=0))  # [batch, frames]
    on_unit = tf.transpose(valid) & tf.equal(path % 2, 1)
    probabilities = tf.exp(tf.gather(emit, path[:, :, None], batch_dims=2)[:, :, 0])
    return tf.where(on_unit, (path - 1) // 2, -1), probabilities


def unit_details(frame_units, frame_probs, ids, widths, source_widths):
    """Per emitted unit: (probabilities [batch, longest], x ranges [batch, longest, 2] as
    first pixel and one past the last, in the pixels of the image as given); 0 and -1
    where a word has fewer units than `ids`' longest."""
    batch, frames = tf.shape(frame_units)[0], tf.shape(frame_units)[1]
    longest = tf.shape(ids)[1]
    slots = batch * longest
    row = tf.range(batch)[:, None] * longest
    segment = tf.reshape(tf.where(frame_units >= 0, row + frame_units, slots), [-1])
    frame_index = tf.reshape(tf.tile(tf.range(frames)[None, :], [batch, 1]), [-1])
    first = tf.math.unsorted_segment_min(frame_index, segment, slots + 1)[:slots]
    last = tf.math.unsorted_segment_max(frame_index, segment, slots + 1)[:slots]
    best = tf.math.unsorted_segment_max(tf.reshape(frame_probs, [-1]), segment, slots + 1)[:slots]
    present = tf.reshape(ids >= 0, [-1])
    scale = tf.cast(source_widths, tf.float32) / tf.cast(tf.maximum(widths, 1), tf.float32)
    scale = tf.reshape(tf.tile(scale[:, None], [1, longest]), [-1])
    widths_flat = tf.reshape(tf.tile(tf.cast(widths, tf.int32)[:, None], [1, longest]), [-1])
    begin = tf.cast(tf.round(tf.cast(first * FRAME_WIDTH, tf.float32) * scale), tf.int32)
    end = tf.minimum((last + 1) * FRAME_WIDTH, widths_flat)
    end = tf.cast(tf.round(tf.cast(end, tf.float32) * scale), tf.int32)
    x_ranges = tf.where(present[:, None], tf.stack([begin, end], axis=1), -1)
    probabilities = tf.where(present, best, 0.0)
    return tf.reshape(probabilities, [batch, longest]), tf.reshape(x_ranges, [batch, longest, 2])


def decode(time_major_log_probs, lengths, alphabet, decoder: str, beam_width: int, top_paths: int,
           widths=None, source_widths=None) -> dict:
    """Everything a prediction returns: words, confidences, top_words, top_scores (and ids);
    with the images' `widths` (and the widths they had before resizing, `source_widths`),
    also each unit's text, probability and x range: chars, char_confidences, char_x_ranges.

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
    outputs = {
        "ids": ids,
        "words": alphabet.tf_decode(ids),
        "confidences": confidences,
        "top_words": top_words,
        "top_scores": top_scores,
    }
    if widths is not None:
        if decoder == "beam":
            frame_units, frame_probs = aligned_frames(time_major_log_probs, lengths, ids)
        else:
            frame_units, frame_probs = best_path_frames(time_major_log_probs, lengths)
        source_widths = widths if source_widths is None else source_widths
        outputs["char_confidences"], outputs["char_x_ranges"] = unit_details(
            frame_units, frame_probs, ids, widths, source_widths)
        outputs["chars"] = alphabet.tf_units(ids)
    return outputs
