"""Lexicon-based decoding: the distance search, the CTC scores and the choice they make."""

import random

import numpy as np
import pytest

from tf_crnn.alphabet import Alphabet
from tf_crnn.errors import DataError
from tf_crnn.decoding.lexicon import Lexicon, LexiconDecoder, ctc_log_likelihoods, edit_distances, load_lexicon
from tf_crnn.word_metrics import levenshtein

ALPHABET = Alphabet(list("0123456789abcdefghijklmnopqrstuvwxyz"))


def ids(text):
    return np.array(ALPHABET.encode(text), dtype=np.int32)


def test_edit_distances_match_levenshtein():
    rng = random.Random(3)
    for _ in range(300):
        query = "".join(rng.choice("abcd") for _ in range(rng.randint(0, 8)))
        length = rng.randint(1, 8)
        words = ["".join(rng.choice("abcd") for _ in range(length)) for _ in range(15)]
        found = edit_distances(ids(query), np.stack([ids(w) for w in words]))
        assert found.tolist() == [levenshtein(query, w) for w in words], (query, words)


def test_neighbours_are_exactly_the_words_within_the_distance():
    rng = random.Random(5)
    words = sorted({"".join(rng.choice("abcde") for _ in range(rng.randint(1, 9))) for _ in range(3000)})
    lexicon = Lexicon(words, ALPHABET)
    for query in ["abc", "eeeee", "abcdeabcd", "a"]:
        found = lexicon.neighbours(ids(query), 2)
        assert sorted(found.texts) == sorted(w for w in words if levenshtein(query, w) <= 2)
        assert found.distances.tolist() == [levenshtein(query, w) for w in found.texts]


def test_nearest_words_when_none_is_within_the_distance():
    lexicon = Lexicon(["kitchen", "kitten", "sitting"], ALPHABET)
    found = lexicon.neighbours(ids("k"), 3)
    assert found.texts == ["kitten"] and found.distances.tolist() == [5]


def test_ctc_log_likelihoods_match_tensorflow():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    frames, classes = 12, ALPHABET.num_classes
    log_probs = np.log(rng.dirichlet(np.full(classes, 0.3), size=frames)).astype(np.float32)
    words = ["hello", "aab", "a", "zz", "abcdefgh", "moon"]
    padded = np.full((len(words), 8), -1, np.int32)
    for row, word in enumerate(words):
        padded[row, :len(word)] = ids(word)
    ours = ctc_log_likelihoods(log_probs, padded, np.array([len(w) for w in words]))
    labels = tf.ragged.constant([ALPHABET.encode(w) for w in words]).to_sparse()
    expected = -tf.nn.ctc_loss(tf.cast(labels, tf.int32), np.repeat(log_probs[:, None], len(words), 1), None,
                               tf.fill([len(words)], frames), logits_time_major=True,
                               blank_index=ALPHABET.blank_id).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-5)
    # 13 labels need at least 13 frames: impossible in 12.
    too_long = ctc_log_likelihoods(log_probs, ids("abcdefghijklm")[None, :], np.array([13]))
    assert np.isneginf(too_long[0])


def frames_for(path, strength=4.0):
    """Log-probabilities whose frames favour the given classes (one class or the blank each)."""
    logits = np.zeros((len(path), ALPHABET.num_classes))
    for t, symbol in enumerate(path):
        for choice, weight in symbol:
            logits[t, ALPHABET.blank_id if choice == "-" else ALPHABET.encode(choice)[0]] = strength * weight
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def test_decoder_picks_the_most_probable_nearby_word():
    # Greedy reads "helo": the frame between the two l's is mostly blank, a little 'l'.
    path = [[("h", 1)], [("e", 1)], [("l", 1)], [("-", 0.6), ("l", 0.45)], [("l", 1)], [("o", 1)]]
    log_probs = frames_for(path)
    decoder = LexiconDecoder(Lexicon(["hello", "hero", "help", "world", "halo"], ALPHABET), max_distance=3)
    word, probability = decoder.decode(log_probs, ALPHABET.encode("helo"))
    assert word == "hello" and 0 < probability <= 1


def test_lexicon_spelling_rules_and_errors(tmp_path):
    lexicon = Lexicon(["Hello", "naïve", "ok", "ok"], ALPHABET)
    assert lexicon.texts == {5: ["hello"], 2: ["ok"]} and lexicon.dropped == 1
    with pytest.raises(DataError, match="no word"):
        Lexicon(["ünïcode"], ALPHABET)
    with pytest.raises(DataError, match="not found"):
        load_lexicon([str(tmp_path / "missing.txt")], ALPHABET)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty.txt: the lexicon file has no words"):
        load_lexicon([str(empty)], ALPHABET)
    assert len(load_lexicon(["english"], ALPHABET)) > 100000
