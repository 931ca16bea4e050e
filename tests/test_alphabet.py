"""The alphabet: Python and graph round trips, longest-unit matching, the unknown token, its
file, and `python -m tf_crnn.data.make_alphabet`."""

import pytest
import tensorflow as tf

from conftest import assert_clean_error, run_module
from tf_crnn.alphabet import Alphabet
from tf_crnn.errors import DataError

CASES = {
    "latin": (list("abcdefghijklmnopqrstuvwxyz0123456789"), ["hello", "world42", "a"]),
    "cyrillic": (list("абвгдеёжзийклмнопрстуфхцчшщъыьэюя"), ["привет", "ёж", "щука"]),
    "cjk": (list("中文字识别日本語한국어"), ["中文", "识别文字", "日本語", "한국어"]),
    "multi_unit": (["ch", "sch", "c", "h", "s", "a", "e", "n"], ["schach", "schnee", "ach", "scha"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip_python_and_tensorflow(name):
    units, words = CASES[name]
    alphabet = Alphabet(units)
    for word in words:
        ids = alphabet.encode(word)
        assert -1 not in ids
        assert alphabet.decode(ids) == word
    tf_ids = alphabet.tf_encode(tf.constant(words)).to_list()
    assert tf_ids == [alphabet.encode(w) for w in words]
    padded = alphabet.tf_encode(tf.constant(words)).to_tensor(default_value=-1)
    assert [w.decode("utf-8") for w in alphabet.tf_decode(padded).numpy()] == words


def test_longest_unit_wins():
    alphabet = Alphabet(["s", "c", "h", "ch", "sch"])
    assert alphabet.tokenize("schch") == ["sch", "ch"]
    assert alphabet.encode("schch") == [4, 3]


def test_unknown_units_and_unknown_token():
    plain = Alphabet(list("abc"))
    assert plain.encode("abx") == [0, 1, -1]
    assert plain.unknown_units("axbyc") == ["x", "y"]
    assert plain.tf_encode(tf.constant(["abx"])).to_list() == [[0, 1, -1]]
    with_unknown = Alphabet(list("abc"), unknown_token="?")
    assert with_unknown.encode("abx") == [0, 1, 3]
    assert with_unknown.num_classes == 5 and with_unknown.blank_id == 4


def test_blank_and_padding_decode_to_nothing():
    alphabet = Alphabet(list("ab"))
    assert alphabet.decode([0, alphabet.blank_id, -1, 1]) == "ab"
    decoded = alphabet.tf_decode(tf.constant([[0, -1, 2, 1]])).numpy()[0]
    assert decoded == b"ab"


def test_file_round_trip_and_errors(tmp_path):
    path = tmp_path / "a.txt"
    Alphabet(["a", " ", "ch", "ж"]).to_file(str(path))
    assert Alphabet.from_file(str(path)).units == ["a", " ", "ch", "ж"]
    (tmp_path / "dup.txt").write_text("a\nb\na\n", encoding="utf-8")
    with pytest.raises(DataError, match="dup.txt:3: unit 'a' already on line 1"):
        Alphabet.from_file(str(tmp_path / "dup.txt"))
    (tmp_path / "blank.txt").write_text("a\n\nb\n", encoding="utf-8")
    with pytest.raises(DataError, match="blank.txt:2: empty line"):
        Alphabet.from_file(str(tmp_path / "blank.txt"))
    (tmp_path / "latin1.txt").write_bytes("é\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        Alphabet.from_file(str(tmp_path / "latin1.txt"))


def test_derive_command(tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text("a.png Привет\nb.png\tмир 2\n", encoding="utf-8")
    out = tmp_path / "derived.txt"
    result = run_module("tf_crnn.data.make_alphabet", out, listing, "--lowercase", check=True)
    assert "wrote" in result.stdout
    assert Alphabet.from_file(str(out)).units == sorted(set("приветмир 2"))
    assert_clean_error(run_module("tf_crnn.data.make_alphabet", out, tmp_path / "missing.txt"), "missing.txt")
