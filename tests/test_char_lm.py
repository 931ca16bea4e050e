"""The character language model: proper distributions, word knowledge, clean errors."""

import numpy as np
import pytest

from tf_crnn.alphabet import Alphabet
from tf_crnn.cache import CACHE_ENV
from tf_crnn.decoding import char_lm
from tf_crnn.decoding.char_lm import CharNgramModel, english_texts, load_language_model, read_texts
from tf_crnn.errors import DataError

ALPHABET = Alphabet(list("0123456789abcdefghijklmnopqrstuvwxyz"))
WORDS = ["street", "station", "stop", "open", "opening", "shop", "store", "restaurant", "hotel", "exit"] * 20


def test_every_history_gets_a_distribution_over_units_and_the_end():
    model = CharNgramModel.fit(WORDS, ALPHABET, order=4)
    for history in ["", "st", "stre", "zzzq", "9", "restaurant"]:
        log_probs = model.next_log_probs(ALPHABET.encode(history))
        assert log_probs.shape == (len(ALPHABET.units) + 1,)
        assert np.isfinite(log_probs).all()
        assert abs(np.exp(log_probs).sum() - 1.0) < 1e-9, history


def test_the_words_it_was_fitted_on_beat_their_misspellings():
    model = CharNgramModel.fit(WORDS, ALPHABET, order=5)
    for word, misspelt in [("street", "strcet"), ("station", "statlon"), ("restaurant", "restauramt"), ("exit", "exlt")]:
        assert model.log_prob(word) > model.log_prob(misspelt) + 3, word
    # it knows where words end: "stop" is a word, "sto" is not one it has seen
    assert model.log_prob("stop") > model.log_prob("sto")


def test_higher_orders_remember_longer_contexts():
    texts = ["abcx", "zbcy"] * 30
    low, high = CharNgramModel.fit(texts, ALPHABET, order=2), CharNgramModel.fit(texts, ALPHABET, order=4)
    x, y = ALPHABET.encode("x")[0], ALPHABET.encode("y")[0]
    assert abs(low.next_log_probs(ALPHABET.encode("abc"))[x] - low.next_log_probs(ALPHABET.encode("abc"))[y]) < 1e-9
    after_abc = high.next_log_probs(ALPHABET.encode("abc"))
    assert after_abc[x] > after_abc[y] + 2


def test_texts_the_alphabet_cannot_spell_are_dropped_and_counted():
    model = CharNgramModel.fit(["open", "OPEN", "café", "shop"], ALPHABET, order=3)
    assert (model.texts, model.dropped) == (2, 2)


def test_built_in_english_text_is_in_the_alphabet_and_mostly_words():
    texts = english_texts(ALPHABET, count=2000, seed=1)
    assert len(texts) == 2000 and all(not ALPHABET.unknown_units(t) for t in texts)
    assert sum(t.isalpha() for t in texts) > 0.8 * len(texts) and any(t.isdigit() for t in texts)
    assert english_texts(ALPHABET, count=50, seed=1) == texts[:50]


def test_bad_settings_and_texts_are_named(tmp_path):
    with pytest.raises(DataError, match="at least 1"):
        CharNgramModel.fit(WORDS, ALPHABET, order=0)
    with pytest.raises(DataError, match="no word the model's alphabet can spell"):
        CharNgramModel.fit(["ÉTÉ", "ü"], ALPHABET)
    with pytest.raises(DataError, match="too large"):
        CharNgramModel.fit(WORDS, ALPHABET, order=12)
    with pytest.raises(DataError, match="missing.txt.*not found|not found.*missing.txt"):
        load_language_model(str(tmp_path / "missing.txt"), ALPHABET)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin1.txt:1: not UTF-8"):
        read_texts(str(latin1))
    blank = tmp_path / "blank.txt"
    blank.write_text("\n \n", encoding="utf-8")
    with pytest.raises(DataError, match="blank.txt: the language model text is empty"):
        read_texts(str(blank))


def test_the_english_model_is_fitted_once_then_read_from_the_cache(tmp_path, monkeypatch):
    """Its counts are kept in the cache folder and read back; a damaged file is fitted
    again and replaced; an empty TF_CRNN_CACHE keeps nothing."""
    monkeypatch.setattr(char_lm, "ENGLISH_SAMPLES", 3000)  # a small text: the real one takes seconds
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    fitted = load_language_model("english", ALPHABET)
    [cached_file] = (tmp_path / "cache").iterdir()
    assert cached_file.suffix == ".npz" and not [p for p in (tmp_path / "cache").iterdir() if p.suffix == ".tmp"]
    fits = []
    monkeypatch.setattr(CharNgramModel, "fit", classmethod(lambda cls, *a, **k: fits.append(1) or fitted))
    read = load_language_model("english", ALPHABET)
    assert not fits and read is not fitted and read.texts == fitted.texts == 3000
    for history in ["", "st", "stre", "q9"]:
        np.testing.assert_array_equal(read.next_log_probs(ALPHABET.encode(history)),
                                      fitted.next_log_probs(ALPHABET.encode(history)))
    # Another alphabet or order is another model.
    load_language_model("english", ALPHABET, order=3)
    assert len(fits) == 1
    cached_file.write_bytes(cached_file.read_bytes()[:1000])  # a file cut short
    load_language_model("english", ALPHABET)
    assert len(fits) == 2 and load_language_model("english", ALPHABET) is not fitted and len(fits) == 2
    monkeypatch.setenv(CACHE_ENV, "")
    load_language_model("english", Alphabet(list("abc")))
    assert len(fits) == 3 and len(list((tmp_path / "cache").iterdir())) == 2
