"""The beam search with a language model: exact without it, mending near misses with it,
and never forcing a confident reading into a known word."""

import itertools
import math

import numpy as np

from tf_crnn.alphabet import Alphabet
from tf_crnn.decoding.char_lm import CharNgramModel
from tf_crnn.decoding.lexicon import ctc_log_likelihoods
from tf_crnn.decoding.lm_beam import LanguageModelDecoder

ALPHABET = Alphabet(list("0123456789abcdefghijklmnopqrstuvwxyz"))
WORDS = ["street", "station", "stop", "open", "shop", "store", "hotel", "exit", "market", "bank"] * 30


def spelled(text, doubts=None):
    """Frames that spell `text`, a unit then a blank: each unit has probability 0.95, or
    shares its frame with the rival `doubts[i] = (rival, p_rival)`."""
    classes = ALPHABET.num_classes
    rows = []
    for i, unit in enumerate(text):
        row = np.full(classes, 0.01 / (classes - 2))
        rival, p_rival = (doubts or {}).get(i, (None, 0.0))
        row[ALPHABET.encode(unit)[0]] = 0.95 - p_rival
        if rival:
            row[ALPHABET.encode(rival)[0]] = p_rival
        row[-1] = 0.04
        rows.append(row / row.sum())
        blank = np.full(classes, 0.01 / (classes - 1))
        blank[-1] = 0.99
        rows.append(blank)
    return np.log(np.array(rows))


def reading(decoder, log_probs):
    ids, _ = decoder.decode(log_probs)
    return ALPHABET.decode(ids)


def test_with_no_weight_it_finds_the_most_probable_labelling():
    """Against every labelling of a 3-unit alphabet that 6 frames can hold, over random frames;
    a beam wider than their number keeps the search exact."""
    small = Alphabet(list("abc"))
    model = CharNgramModel.fit(["abc"], small, order=2)
    decoder = LanguageModelDecoder(model, weight=0.0, bonus=0.0, beam_width=2000, unit_floor=-math.inf)
    rng = np.random.default_rng(0)
    labellings = [seq for n in range(7) for seq in itertools.product(range(3), repeat=n)]
    ids = np.full((len(labellings), 6), -1, dtype=np.int32)
    for row, seq in enumerate(labellings):
        ids[row, :len(seq)] = seq
    lengths = np.array([len(seq) for seq in labellings])
    for _ in range(25):
        log_probs = np.log(rng.dirichlet(np.full(4, 0.4), size=6))
        best = labellings[int(np.argmax(ctc_log_likelihoods(log_probs, ids, lengths)))]
        found, confidence = decoder.decode(log_probs)
        assert tuple(found) == best
        assert math.isclose(confidence, math.exp(ctc_log_likelihoods(log_probs, ids, lengths).max()), rel_tol=1e-9)


def test_an_empty_reading_has_the_probability_of_all_blanks():
    model = CharNgramModel.fit(WORDS, ALPHABET)
    frames = np.log(np.full((5, ALPHABET.num_classes), 0.002))
    frames[:, -1] = np.log(1 - 0.002 * (ALPHABET.num_classes - 1))
    ids, confidence = LanguageModelDecoder(model).decode(frames)
    assert ids == [] and math.isclose(confidence, math.exp(frames[:, -1].sum()), rel_tol=1e-9)


def test_the_language_model_mends_a_near_miss():
    model = CharNgramModel.fit(WORDS, ALPHABET)
    doubtful = spelled("street", doubts={3: ("c", 0.55)})  # the network leans to "strcet"
    assert reading(LanguageModelDecoder(model, weight=0.0), doubtful) == "strcet"
    assert reading(LanguageModelDecoder(model), doubtful) == "street"


def test_a_confident_reading_it_does_not_know_is_kept():
    model = CharNgramModel.fit(WORDS, ALPHABET)
    for text in ["xqzv", "4711", "strcet"]:
        assert reading(LanguageModelDecoder(model), spelled(text)) == text


def test_repeated_letters_need_a_blank_between_them():
    model = CharNgramModel.fit(WORDS + ["bookkeeper"] * 30, ALPHABET)
    assert reading(LanguageModelDecoder(model), spelled("bookkeeper")) == "bookkeeper"
    held = np.repeat(spelled("ok")[:1], 3, axis=0)  # "o" held over three frames, no blank
    assert reading(LanguageModelDecoder(model, weight=1.0), held) == "o"
