"""TFRecords and list files: the schema round trip, atomic shards, the list reader's line
splitting and numbering, and the converter's split, report and bad input."""

import glob
import json
import os

import pytest

from conftest import (LOWER_ALNUM, REPO, TINY_WORDS, assert_clean_error, render_text, run_module,
                      write_list_dataset)
from tf_crnn.cli import convert as convert_cli
from tf_crnn.data import convert, schema
from tf_crnn.data.formats.list_file import read_list_file, split_line
from tf_crnn.data.writer import shard_pattern, write_shard


def test_example_round_trip(tmp_path):
    path = str(tmp_path / "one.tfrecord")
    records = [schema.make_example(b"\x89PNGfake", "héllo wörld", "/a/b.png"),
               schema.make_example(b"\xff\xd8jpeg", "中文", "c.jpg")]
    assert write_shard(path, records) == 2
    assert list(schema.read_examples(path)) == [(b"\x89PNGfake", "héllo wörld", "/a/b.png"), (b"\xff\xd8jpeg", "中文", "c.jpg")]
    assert list(schema.read_labels(path)) == ["héllo wörld", "中文"]


def test_records_and_examples_written_without_tensorflow_are_what_tensorflow_writes_and_reads(tmp_path):
    import tensorflow as tf

    from tf_crnn.data.tfrecord import encode_example

    records = [schema.make_example(bytes(range(256)) * 40, "héllo", "/a/b.png"), b"", b"x" * 200]
    ours, theirs = str(tmp_path / "ours.tfrecord"), str(tmp_path / "theirs.tfrecord")
    assert write_shard(ours, records) == 3
    with tf.io.TFRecordWriter(theirs) as writer:
        for record in records:
            writer.write(record)
    assert open(ours, "rb").read() == open(theirs, "rb").read()
    # The example as TensorFlow's own protobuf sees it, field by field.
    parsed = tf.train.Example.FromString(encode_example({"a": b"1", "image/text": "中文".encode(), "z": b""}))
    assert {key: list(feature.bytes_list.value) for key, feature in parsed.features.feature.items()} == \
        {"a": [b"1"], "image/text": ["中文".encode()], "z": [b""]}


def test_interrupted_shard_is_never_visible(tmp_path):
    def records():
        yield schema.make_example(b"x", "a", "p")
        raise KeyboardInterrupt

    target = str(tmp_path / "set-00000-of-00001.tfrecord")
    with pytest.raises(KeyboardInterrupt):
        write_shard(target, records())
    assert os.listdir(tmp_path) == []
    assert glob.glob(shard_pattern(str(tmp_path), "set")) == []


def test_list_lines_split_on_tab_first_then_space():
    assert split_line("dir with space/a.png\tlabel with spaces") == ("dir with space/a.png", "label with spaces")
    assert split_line("a.png New York") == ("a.png", "New York")
    assert split_line("a.png") == ("a.png", None)
    assert split_line("a.png ") == ("a.png", None)


def test_list_reader_reports_line_numbers(tmp_path):
    render_text("ok").save(tmp_path / "ok.png")
    listing = tmp_path / "list.txt"
    listing.write_text("# comment\nok.png ok\n\nnolabel.png\nmissing.png word\n", encoding="utf-8")
    samples = list(read_list_file(str(listing), str(tmp_path)))
    assert [(s.line, s.label, s.error is None) for s in samples] == [(2, "ok", True), (4, None, False), (5, "word", False)]
    assert "no label" in samples[1].error and "image not found" in samples[2].error


def _convert(list_file, out, *extra):
    return convert.convert(convert_cli.parse_args([str(list_file), "--output_dir", str(out), "--prefix", "set",
                                               "--workers", "2", *map(str, extra)]))


def test_convert_split_shards_and_report(tmp_path):
    list_file = write_list_dataset(str(tmp_path / "imgs"), TINY_WORDS, 50)
    report = _convert(list_file, tmp_path / "out", "--examples_per_shard", 16, "--val_ratio", 0.2, "--seed", 3)
    train = sorted(glob.glob(shard_pattern(str(tmp_path / "out"), "set-train")))
    val = sorted(glob.glob(shard_pattern(str(tmp_path / "out"), "set-val")))
    assert [os.path.basename(p) for p in train] == [f"set-train-0000{i}-of-00003.tfrecord" for i in range(3)]
    assert len(val) == 1
    labels = [label for path in train + val for label in schema.read_labels(path)]
    with open(list_file, encoding="utf-8") as handle:
        assert sorted(labels) == sorted(line.split(" ", 1)[1].strip() for line in handle)
    assert report["written"] == {"val": 10, "train": 40}
    assert not os.path.exists(tmp_path / "out" / ".staging-set")
    with open(tmp_path / "out" / "set-report.json") as handle:
        assert json.load(handle)["written_total"] == 50
    again = _convert(list_file, tmp_path / "again", "--examples_per_shard", 16, "--val_ratio", 0.2, "--seed", 3)
    assert again["written"] == report["written"]
    assert list(schema.read_labels(val[0])) == list(schema.read_labels(str(tmp_path / "again" / os.path.basename(val[0]))))


def _bad_input_folder(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    render_text("good").save(folder / "good.png")
    render_text("fine").save(folder / "fine.jpg")
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("not an image")
    data = (folder / "fine.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    alphabet = tmp_path / "alphabet.txt"
    alphabet.write_text("".join(c + "\n" for c in LOWER_ALNUM), encoding="utf-8")
    listing = folder / "list.txt"
    listing.write_text("good.png good\nempty.png empty\ntext.png text\ntruncated.jpg trunc\n"
                       "nolabel.png\nmissing.png gone\nfine.jpg Wörd\nfine.jpg fine\n", encoding="utf-8")
    return listing, alphabet


def test_bad_input_is_skipped_and_listed(tmp_path):
    listing, alphabet = _bad_input_folder(tmp_path)
    report = _convert(listing, tmp_path / "out", "--alphabet_file", alphabet)
    assert report["written_total"] == 2
    where = {item["where"]: item["reason"] for item in report["skipped"]}
    assert set(where) == {f"{listing}:{n}" for n in (2, 3, 4, 5, 6, 7)}
    assert "empty file" in where[f"{listing}:2"]
    assert "not an image" in where[f"{listing}:3"]
    assert "does not decode" in where[f"{listing}:4"]
    assert "no label" in where[f"{listing}:5"]
    assert "image not found" in where[f"{listing}:6"]
    assert "outside the alphabet" in where[f"{listing}:7"]


def test_bad_input_stops_with_one_message_and_no_output(tmp_path):
    listing, alphabet = _bad_input_folder(tmp_path)
    out = tmp_path / "out"
    result = run_module("tf_crnn.data.convert", listing, "--output_dir", out, "--prefix", "set",
                        "--on_bad_input", "stop", "--alphabet_file", alphabet)
    assert_clean_error(result, f"{listing}:5", "no label")
    assert glob.glob(str(out / "*.tfrecord")) == []
    # Line errors pass the planning stage only once fixed; image errors then stop the writer.
    listing.write_text("good.png good\ntruncated.jpg trunc\n", encoding="utf-8")
    result = run_module("tf_crnn.data.convert", listing, "--output_dir", out, "--prefix", "set",
                        "--on_bad_input", "stop")
    assert_clean_error(result, f"{listing}:2", "does not decode")
    assert glob.glob(str(out / "*.tfrecord")) == []


def test_missing_annotation_file_is_a_clean_error(tmp_path):
    result = run_module("tf_crnn.data.convert", tmp_path / "nope.txt", "--output_dir", tmp_path / "out")
    assert_clean_error(result, "annotation file not found", "nope.txt")


def test_a_full_disk_at_the_report_publishes_nothing_and_the_next_run_resumes(tmp_path, monkeypatch):
    """Issue 34, case 9: the report is written before the shards are published."""
    import builtins
    import errno

    from tf_crnn.errors import DataError

    list_file = write_list_dataset(str(tmp_path / "images"), TINY_WORDS, 30)
    out = tmp_path / "out"
    args = convert_cli.parse_args([list_file, "--output_dir", str(out), "--prefix", "set", "--workers", "1"])
    convert.convert(args)
    before = {path: open(path, "rb").read() for path in glob.glob(str(out / "set*"))}
    assert any(path.endswith("set-report.json") for path in before)

    more = write_list_dataset(str(tmp_path / "more"), TINY_WORDS, 50)
    real_open = builtins.open

    def full_disk_for_the_report(path, mode="r", *rest, **kwargs):
        if str(path).endswith("-report.json.tmp") and "w" in mode:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, mode, *rest, **kwargs)

    monkeypatch.setattr(builtins, "open", full_disk_for_the_report)
    with pytest.raises(DataError, match="cannot write .*set-report.json: No space left on device; nothing was "
                                        "published"):
        convert.convert(convert_cli.parse_args([more, "--output_dir", str(out), "--prefix", "set", "--workers", "1"]))
    monkeypatch.setattr(builtins, "open", real_open)
    # The earlier set and its report, byte for byte; no draft left; the new shards wait in staging.
    assert {path: open(path, "rb").read() for path in glob.glob(str(out / "set*"))} == before
    assert not glob.glob(str(out / "*.tmp"))
    assert glob.glob(str(out / ".staging-set" / "set-*.tfrecord"))
    report = convert.convert(convert_cli.parse_args([more, "--output_dir", str(out), "--prefix", "set", "--workers", "1"]))
    assert report["written"]["train"] == 50
    assert not os.path.exists(out / ".staging-set")


def test_a_full_disk_at_a_workers_statistics_through_the_command_publishes_nothing(tmp_path):
    """Issue 34, case 9, the other write: a worker's statistics file, through the real
    command (the disk fills in the forked workers, as it would)."""
    import subprocess
    import sys

    list_file = write_list_dataset(str(tmp_path / "images"), TINY_WORDS, 30)
    out = tmp_path / "out"
    arguments = [list_file, "--output_dir", str(out), "--prefix", "set", "--workers", "2",
                 "--examples_per_shard", "10"]
    full_disk = ("import builtins, errno, sys\n"
                 "real_open = builtins.open\n"
                 "def full_disk(path, mode='r', *rest, **kwargs):\n"
                 "    if str(path).endswith('.stats.tmp') and 'w' in mode:\n"
                 "        raise OSError(errno.ENOSPC, 'No space left on device')\n"
                 "    return real_open(path, mode, *rest, **kwargs)\n"
                 "builtins.open = full_disk\n"
                 "from tf_crnn.cli.convert import main\n"
                 "main(sys.argv[1:])\n")
    result = subprocess.run([sys.executable, "-c", full_disk, *arguments], capture_output=True, text=True,
                            timeout=300, cwd=str(tmp_path), env=dict(os.environ, PYTHONPATH=REPO))
    assert_clean_error(result, ".stats: No space left on device", "nothing was published")
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1
    assert not glob.glob(str(out / "set*")) and not glob.glob(str(out / "**" / "*.tmp"), recursive=True)
    # The same command, with room on the disk, writes the set.
    result = run_module("tf_crnn.data.convert", *arguments)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "set-report.json").read_text(encoding="utf-8"))["written"]["train"] == 30
