"""The decoders by name, and the one place that dispatches a batch to them.

An export's own graph decodes with `greedy` or `beam` (the config's `decoder`). Tools
that read an export's per-frame log-probabilities themselves (evaluation, prediction with
a language model, the portable forms) pick any decoder of `DECODERS` by name and call
`decode_words`. The lexicon and language-model decoders need what they read with: a
`LexiconDecoder` (tf_crnn/decoding/lexicon.py) or a `LanguageModelDecoder`
(tf_crnn/decoding/lm_beam.py).

`engine` says whose CTC decoders run greedy and beam search: TensorFlow's (as inside a
SavedModel, so evaluation of an export matches its serving signature) or numpy's
(tf_crnn/decoding/numpy_ctc.py, for runtimes without TensorFlow's CTC ops).
"""

from typing import List

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
    import numpy as np

    if decoder not in DECODERS:
        raise ValueError(f"unknown decoder {decoder!r}; known: {', '.join(DECODERS)}")
    if decoder == "lm":
        from tf_crnn.decoding.lm_beam import decode_batch

        readings = decode_batch(lm_decoder, np.asarray(log_probs), np.asarray(lengths))
        return [alphabet.decode(ids) for ids, _ in readings]
    if engine == "tensorflow":
        rows = _tensorflow_ids(log_probs, lengths, "beam" if decoder == "beam" else "greedy", beam_width)
    else:
        from tf_crnn.decoding import numpy_ctc

        if decoder == "beam":
            beams, _ = numpy_ctc.beam_search(np.asarray(log_probs), lengths, beam_width, 1)
            rows = [paths[0] for paths in beams]
        else:
            rows, _ = numpy_ctc.greedy(np.asarray(log_probs), lengths)
    if decoder == "lexicon":
        frames, counts = np.asarray(log_probs), np.asarray(lengths)
        return [lexicon.decode(frames[i, :count], rows[i])[0] for i, count in enumerate(counts)]
    return [alphabet.decode(row) for row in rows]


def _tensorflow_ids(log_probs, lengths, decoder: str, beam_width: int) -> List[List[int]]:
    import tensorflow as tf

    from tf_crnn.decoding import ctc

    time_major = tf.transpose(log_probs, [1, 0, 2])
    if decoder == "beam":
        beams, _ = ctc.beam_search(time_major, lengths, beam_width, 1)
        ids = beams[0]
    else:
        ids, _ = ctc.greedy(time_major, lengths)
    return [[i for i in row if i >= 0] for row in ids.numpy()]
