"""The decoders by name, and the one place that dispatches a batch to them.

An export's own graph decodes with `greedy` or `beam` (the config's `decoder`,
tf_crnn/config.py's GRAPH_DECODERS). Whatever reads per-frame log-probabilities outside
a graph (every reader of tf_crnn/inference/, whatever its runtime) picks any decoder of
`DECODERS` by name and calls `decode_words` (or `decode_readings`, with confidences).
The lexicon and language-model decoders need what they read with: a `LexiconDecoder`
(tf_crnn/decoding/lexicon.py) or a `LanguageModelDecoder` (tf_crnn/decoding/lm_beam.py).

`engine` says whose CTC decoders run greedy and beam search: TensorFlow's (as inside a
SavedModel, so evaluation of an export matches its serving signature) or numpy's
(tf_crnn/decoding/numpy_ctc.py, for runtimes without TensorFlow's CTC ops).
"""

from typing import List, Tuple

DECODERS = {
    "greedy": "the most probable unit of each frame, repeats then blanks removed",
    "beam": "CTC prefix beam search (the export's beam_width unless given)",
    "lexicon": "the most probable word of a word list within an edit distance of the greedy reading",
    "lm": "beam search that weighs each reading by a character language model (lexicon-free)",
}
ENGINES = ("tensorflow", "numpy")


def decode_words(decoder: str, log_probs, lengths, alphabet, beam_width: int, lexicon=None, lm_decoder=None,
                 engine: str = "tensorflow") -> List[str]:
    """The words of a batch: `log_probs` [batch, frames, classes] (numpy, or tensors for the
    TensorFlow engine) and each image's frame count `lengths`."""
    return [word for word, _ in decode_readings(decoder, log_probs, lengths, alphabet, beam_width, lexicon,
                                                lm_decoder, engine)]


def decode_readings(decoder: str, log_probs, lengths, alphabet, beam_width: int, lexicon=None, lm_decoder=None,
                    engine: str = "tensorflow") -> List[Tuple[str, float]]:
    """(word, confidence) per image of a batch, as `decode_words`; the confidence is the
    decoder's own (the path's probability for greedy and beam, the word's CTC probability
    for lexicon and lm)."""
    import numpy as np

    if decoder not in DECODERS:
        raise ValueError(f"unknown decoder {decoder!r}; known: {', '.join(DECODERS)}")
    if decoder == "lm":
        from tf_crnn.decoding.lm_beam import decode_batch

        readings = decode_batch(lm_decoder, np.asarray(log_probs), np.asarray(lengths))
        return [(alphabet.decode(ids), float(confidence)) for ids, confidence in readings]
    if engine == "tensorflow":
        rows, confidences = _tensorflow_ids(log_probs, lengths, "beam" if decoder == "beam" else "greedy", beam_width)
    else:
        from tf_crnn.decoding import numpy_ctc

        if decoder == "beam":
            beams, scores = numpy_ctc.beam_search(np.asarray(log_probs), lengths, beam_width, 1)
            rows, confidences = [paths[0] for paths in beams], scores[:, 0]
        else:
            rows, confidences = numpy_ctc.greedy(np.asarray(log_probs), lengths)
    if decoder == "lexicon":
        frames, counts = np.asarray(log_probs), np.asarray(lengths)
        return [lexicon.decode(frames[i, :count], rows[i]) for i, count in enumerate(counts)]
    return [(alphabet.decode(row), float(confidence)) for row, confidence in zip(rows, confidences)]


def _tensorflow_ids(log_probs, lengths, decoder: str, beam_width: int) -> Tuple[List[List[int]], list]:
    import tensorflow as tf

    from tf_crnn.decoding import ctc

    time_major = tf.transpose(log_probs, [1, 0, 2])
    if decoder == "beam":
        beams, scores = ctc.beam_search(time_major, lengths, beam_width, 1)
        ids, confidences = beams[0], scores[:, 0]
    else:
        ids, confidences = ctc.greedy(time_major, lengths)
    return [[i for i in row if i >= 0] for row in ids.numpy()], confidences.numpy().tolist()
