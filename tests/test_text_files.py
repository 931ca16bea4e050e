"""Every text file a user writes is read by one rule (tf_crnn/text_files.py): UTF-8 with or
without a byte-order mark; UTF-16 refused whole with what to do; a NUL byte refused on
its line. Through the real converter: an alphabet saved with a mark (issue 34, case 3)
and annotation files in UTF-16 or with a NUL byte (case 7)."""

import glob
import os

import pytest

from conftest import assert_clean_error, render_text, run_module
from tf_crnn.alphabet import Alphabet
from tf_crnn.data import schema
from tf_crnn.errors import DataError
from tf_crnn.text_files import read_lines

LABELS = ["0714", "1200", "abc9", "0x7"]


def write_images(folder):
    os.makedirs(folder, exist_ok=True)
    for index, label in enumerate(LABELS):
        render_text(label).save(os.path.join(folder, f"{index}.png"))
    return [f"{index}.png {label}" for index, label in enumerate(LABELS)]


def test_the_rule_for_text_files(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"\xef\xbb\xbfone\r\ntwo\n\nthree")
    assert read_lines(str(path), "list") == ["one", "two", "", "three"]
    path.write_bytes("one\ntwo\n".encode("utf-16"))
    with pytest.raises(DataError, match=r"t.txt: UTF-16 text; save it as UTF-8"):
        read_lines(str(path), "list")
    path.write_bytes("one\n".encode("utf-32"))
    with pytest.raises(DataError, match=r"t.txt: UTF-32 text"):
        read_lines(str(path), "list")
    path.write_bytes(b"one\ntw\0o\n")
    with pytest.raises(DataError, match=r"t.txt:2: holds a NUL byte at byte 2"):
        read_lines(str(path), "list")
    with pytest.raises(DataError, match=r"list not found: .*missing.txt"):
        read_lines(str(tmp_path / "missing.txt"), "list")


def test_an_alphabet_with_a_byte_order_mark_reads_as_without(tmp_path):
    marked, plain = tmp_path / "marked.txt", tmp_path / "plain.txt"
    text = "".join(c + "\n" for c in "0123456789abcx")
    plain.write_text(text, encoding="utf-8")
    marked.write_text(text, encoding="utf-8-sig")
    assert Alphabet.from_file(str(marked)).units == Alphabet.from_file(str(plain)).units
    assert Alphabet.from_file(str(marked)).units[0] == "0"


def test_convert_reads_a_marked_alphabet_and_refuses_wide_or_binary_annotations(tmp_path):
    lines = write_images(tmp_path / "images")
    alphabet = tmp_path / "alphabet.txt"
    alphabet.write_text("".join(c + "\n" for c in "0123456789abcx"), encoding="utf-8-sig")  # Notepad's way
    annotations = tmp_path / "images" / "list.txt"
    annotations.write_text("".join(line + "\n" for line in lines), encoding="utf-8-sig")
    out = tmp_path / "out"
    run_module("tf_crnn.data.convert", annotations, "--output_dir", out, "--prefix", "ok", "--alphabet_file",
               alphabet, "--workers", 1, check=True)
    written = [label for path in glob.glob(str(out / "ok-*.tfrecord")) for label in schema.read_labels(path)]
    assert sorted(written) == sorted(LABELS)  # no "0" outside the alphabet

    wide = tmp_path / "images" / "wide.txt"
    wide.write_text("".join(line + "\n" for line in lines), encoding="utf-16")  # PowerShell's `>`
    result = run_module("tf_crnn.data.convert", wide, "--output_dir", out, "--prefix", "wide", "--workers", 1)
    assert_clean_error(result, "wide.txt: UTF-16 text; save it as UTF-8")
    assert not glob.glob(str(out / "wide-*")) and not glob.glob(str(out / ".staging-*")), os.listdir(out)
    assert sorted(label for path in glob.glob(str(out / "ok-*.tfrecord")) for label in schema.read_labels(path)) \
        == sorted(LABELS)

    nul = tmp_path / "images" / "nul.txt"
    nul.write_bytes(("\n".join(lines[:2]) + "\n").encode() + b"2.png ab\0c9\n" + (lines[3] + "\n").encode())
    result = run_module("tf_crnn.data.convert", nul, "--output_dir", out, "--prefix", "nul", "--workers", 1,
                        "--on_bad_input", "stop")
    assert_clean_error(result, "nul.txt:3: holds a NUL byte")
    assert not glob.glob(str(out / "nul-*")) and not glob.glob(str(out / ".staging-*")), os.listdir(out)
    result = run_module("tf_crnn.data.convert", nul, "--output_dir", out, "--prefix", "nul", "--workers", 1)
    assert result.returncode == 0, result.stderr
    assert "nul.txt:3" in result.stdout and "holds a NUL byte" in result.stdout, result.stdout
    written = [label for path in glob.glob(str(out / "nul-*.tfrecord")) for label in schema.read_labels(path)]
    assert sorted(written) == sorted(LABELS[:2] + LABELS[3:])
