"""Decoding: per-frame log-probabilities -> words.

`ctc` decodes inside TensorFlow graphs (greedy and beam search, and what each word is made
of); `numpy_ctc` does the same in numpy for the portable forms; `lexicon` and `char_lm` with
`lm_beam` read with a word list or a character language model; `decoders` is the one table
of decoders by name that the commands dispatch through.
"""
