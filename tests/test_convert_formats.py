"""The annotation formats, their detection, and the converter's resume, bad input and memory."""

import glob
import io
import json
import os
import signal
import subprocess
import sys
import time


from conftest import REPO, assert_clean_error, render_text, run_module
from tf_crnn.cli import convert as convert_cli
from tf_crnn.data import convert, schema
from tf_crnn.data.formats.csv_file import read_csv_file
from tf_crnn.data.formats.detect import detect_format
from tf_crnn.data.formats.folder import read_image_folder
from tf_crnn.data.formats.icdar import read_icdar_file
from tf_crnn.data.formats.mjsynth import read_mjsynth_file
from tf_crnn.data.writer import shard_pattern


def _png(text="ab") -> bytes:
    out = io.BytesIO()
    render_text(text).save(out, format="PNG")
    return out.getvalue()


def _jpeg(text="ab") -> bytes:
    out = io.BytesIO()
    render_text(text).save(out, format="JPEG")
    return out.getvalue()


def _parsed(samples):
    return [(s.line, s.label, s.error is None) for s in samples]


# -- formats -------------------------------------------------------------------------------

def test_icdar_labels_with_escaped_quotes_and_malformed_lines(tmp_path):
    gt = tmp_path / "gt.txt"
    gt.write_bytes("\ufeffword_1.png, \"Tiredness\"\r\n"
                   "word_2.png, \"say \\\"hi\\\"\"\r\n"
                   "word_3.png, \"back\\\\slash\"\r\n"
                   "word_4.png,\"a, b\"\r\n"
                   "\r\n"
                   "word_6.png, Tiredness\r\n"
                   "word_7.png \"x\"\r\n"
                   "word_8.png, \"open\r\n"
                   "word_9.png, \"a\"b\"\r\n"
                   "word_10.png, \"\"\r\n".encode("utf-8"))
    samples = list(read_icdar_file(str(gt)))
    assert _parsed(samples) == [(1, "Tiredness", True), (2, 'say "hi"', True), (3, "back\\slash", True),
                                (4, "a, b", True), (6, None, False), (7, None, False), (8, None, False),
                                (9, None, False), (10, None, False)]
    assert samples[0].image_path == str(tmp_path / "word_1.png")
    assert samples[4].where == f"{gt}:6" and "not in double quotes" in samples[4].error
    assert "no comma" in samples[5].error and "no closing quote" in samples[6].error
    assert "after the closing quote" in samples[7].error and samples[8].kind == "no label"


def test_mjsynth_label_is_the_word_in_the_file_name(tmp_path):
    lexicon = tmp_path / "lexicon.txt"
    lexicon.write_text("zero\nmoniker\nother\n", encoding="utf-8")
    annotation = tmp_path / "annotation.txt"
    annotation.write_text("./2697/6/466_MONIKER_1.jpg 1\n"
                          "./1/2/3_under_score_2.jpg\n"
                          "./1/2/nounderscore.jpg 2\n"
                          "./1/2/7_Other_9.jpg 0\n"
                          "./1/2/8_word_2.jpg x\n", encoding="utf-8")
    plain = list(read_mjsynth_file(str(annotation), image_root="/data/mj"))
    assert _parsed(plain) == [(1, "MONIKER", True), (2, "under_score", True), (3, None, False),
                              (4, "Other", True), (5, None, False)]
    assert plain[0].image_path == "/data/mj/2697/6/466_MONIKER_1.jpg"
    checked = list(read_mjsynth_file(str(annotation), lexicon=str(lexicon)))
    assert [s.kind for s in checked] == [None, None, "no label", "lexicon mismatch", "malformed line"]


def test_csv_quoting_delimiter_and_header(tmp_path):
    table = tmp_path / "labels.csv"
    table.write_text('path;label\nimg1.png;hello\n"img 2.png";"a;b"\nimg3.png;"say ""hi"""\n'
                     'img4.png;a;b\nimg5.png\nimg6.png;"open\nimg7.png;\n', encoding="utf-8")
    samples = list(read_csv_file(str(table), header=True))
    assert _parsed(samples) == [(2, "hello", True), (3, "a;b", True), (4, 'say "hi"', True),
                                (5, None, False), (6, None, False), (7, None, False), (8, None, False)]
    assert samples[1].image_path == str(tmp_path / "img 2.png")
    assert "found 3" in samples[3].error and "--delimiter" in samples[4].error
    commas = tmp_path / "commas.csv"
    commas.write_text('a.png,"x, y"\n', encoding="utf-8")
    assert [s.label for s in read_csv_file(str(commas), delimiter=",")] == ["x, y"]


def test_folder_labels_from_file_names(tmp_path):
    for name in ("123_Hello.jpg", "World.png", "sub/7_Big_City_42.JPG", "notes.txt", "x_1.gif"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    samples = list(read_image_folder(str(tmp_path)))
    assert [(os.path.relpath(s.image_path, tmp_path), s.label) for s in samples] == [
        ("123_Hello.jpg", "Hello"), ("World.png", "World"), ("x_1.gif", "x"), ("sub/7_Big_City_42.JPG", "Big_City")]
    assert samples[0].where == os.path.join(str(tmp_path), "123_Hello.jpg")
    custom = list(read_image_folder(str(tmp_path), label_regex=r"\d+_(?P<label>[A-Za-z]+)"))
    assert [(s.label, s.kind) for s in custom] == [("Hello", None), (None, "no label"), (None, "no label"),
                                                   (None, "no label")]


def test_format_detection(tmp_path):
    files = {
        "gt.txt": 'word_1.png, "Tiredness"\nword_2.png, "x"\n',
        "annotation.txt": "./2697/6/466_MONIKER_49537.jpg 49537\n./1/1/2_a_3.jpg\n",
        "labels.csv": "a.png;b\n",
        "list.txt": "img_001_a.jpg 42\nimages/b.png Hello, world\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert {name: detect_format(str(tmp_path / name)) for name in files} == {
        "gt.txt": "icdar", "annotation.txt": "mjsynth", "labels.csv": "csv", "list.txt": "list"}
    assert detect_format(str(tmp_path)) == "folder"


# -- the converter ------------------------------------------------------------------------

def _corrupt_icdar_set(tmp_path):
    folder = tmp_path / "icdar"
    folder.mkdir()
    jpeg = _jpeg("fine")
    (folder / "good.png").write_bytes(_png("good"))
    (folder / "fine.jpg").write_bytes(jpeg)
    (folder / "empty.png").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "text.png").write_text("not an image")
    gt = folder / "gt.txt"
    gt.write_text('good.png, "good"\nempty.png, "empty"\ntruncated.jpg, "trunc"\ntext.png, "text"\n'
                  'missing.png, "gone"\nfine.jpg, fine\nfine.jpg, "fine"\n', encoding="utf-8")
    return gt


def test_corrupt_images_are_skipped_and_listed_with_file_and_line(tmp_path):
    gt = _corrupt_icdar_set(tmp_path)
    report = convert.convert(convert_cli.parse_args([str(gt), "--output_dir", str(tmp_path / "out"), "--workers", "2",
                                                 "--examples_per_shard", "2"]))
    assert report["written_total"] == 2 and report["skipped_total"] == 5
    assert report["skipped_by_reason"] == {"empty file": 1, "does not decode": 1, "not an image": 1,
                                           "image not found": 1, "malformed line": 1}
    where = [(item["where"], item["reason"]) for item in report["skipped"]]
    assert [w for w, _ in where] == [f"{gt}:{n}" for n in (2, 3, 4, 5, 6)]  # annotation order, whoever found them
    assert "empty.png: empty file" in where[0][1] and "truncated.jpg: image does not decode" in where[1][1]
    assert "image not found" in where[3][1]
    labels = [label for path in glob.glob(shard_pattern(str(tmp_path / "out"), "data")) for label in
              schema.read_labels(path)]
    assert sorted(labels) == ["fine", "good"]


def test_stop_on_bad_input_is_one_clean_error_without_shards(tmp_path):
    gt = _corrupt_icdar_set(tmp_path)
    out = tmp_path / "out"
    # A bad line stops the run while planning, before anything is written at all.
    result = run_module("tf_crnn.data.convert", gt, "--output_dir", out, "--on_bad_input", "stop",
                        "--workers", "1", timeout=120)
    assert_clean_error(result, f"{gt}:6", "not in double quotes")
    assert not os.path.exists(out)
    # Once the lines are right, a bad image stops the writing; no shard becomes visible.
    gt.write_text('good.png, "good"\nfine.jpg, "fine"\ntruncated.jpg, "trunc"\n', encoding="utf-8")
    result = run_module("tf_crnn.data.convert", gt, "--output_dir", out, "--on_bad_input", "stop",
                        "--examples_per_shard", "1", "--workers", "1", timeout=120)
    assert_clean_error(result, f"{gt}:3", "truncated.jpg", "does not decode")
    assert glob.glob(str(out / "*.tfrecord")) == [] and not os.path.exists(out / "data-report.json")


def test_kill_9_then_same_command_resumes_without_rewriting_finished_shards(tmp_path):
    count = 4000
    folder = tmp_path / "words"
    for directory in range(4):
        (folder / str(directory)).mkdir(parents=True)
    png = _png("w")
    for index in range(count):
        (folder / str(index % 4) / f"{index}_w{index:05d}.png").write_bytes(png)
    out = tmp_path / "out"
    staging = out / ".staging-k"
    command = [sys.executable, "-m", "tf_crnn.data.convert", str(folder), "--output_dir", str(out), "--prefix", "k",
               "--examples_per_shard", "20", "--val_ratio", "0.1", "--workers", "1"]
    env = dict(os.environ, PYTHONPATH=REPO)
    with open(tmp_path / "first.log", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        deadline = time.time() + 120
        while not glob.glob(str(staging / "*.tfrecord.stats")):
            assert process.poll() is None and time.time() < deadline, (tmp_path / "first.log").read_text()
            time.sleep(0.002)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    time.sleep(0.3)  # the worker dies with its parent
    finished = {os.path.basename(path)[: -len(".stats")] for path in glob.glob(str(staging / "*.tfrecord.stats"))}
    before = {name: (os.stat(staging / name).st_ino, os.stat(staging / name).st_mtime_ns) for name in finished}
    assert 0 < len(finished) < 200 and glob.glob(str(out / "*.tfrecord")) == []

    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resuming: {len(finished)} of 200 shards already written" in result.stderr
    labels = [label for split in ("k-train", "k-val") for path in glob.glob(shard_pattern(str(out), split))
              for label in schema.read_labels(path)]
    assert sorted(labels) == [f"w{index:05d}" for index in range(count)]
    with open(out / "k-report.json", encoding="utf-8") as handle:
        assert json.load(handle)["written"] == {"val": 400, "train": 3600}
    assert {name: (os.stat(out / name).st_ino, os.stat(out / name).st_mtime_ns) for name in finished} == before
    assert not staging.exists()


def test_planning_keeps_arrays_not_samples_and_never_loads_tensorflow(tmp_path):
    """The parent's memory for 100k annotation lines stays near 12 bytes a line."""
    annotation = tmp_path / "annotation.txt"
    with open(annotation, "w", encoding="utf-8") as handle:
        handle.writelines(f"./{i // 1000}/{i % 7}/{i}_Word{i % 97}_{i}.jpg {i}\n" for i in range(100_000))
    code = f"""
import sys, tracemalloc
from tf_crnn.cli import convert as convert_cli
from tf_crnn.data import convert
args = convert_cli.parse_args([{str(annotation)!r}, "--output_dir", {str(tmp_path / "out")!r}, "--val_ratio", "0.1"])
readers = convert.open_readers(args, {str(tmp_path)!r})
tracemalloc.start()
plan = convert.make_plan(readers, args, None)
peak = tracemalloc.get_traced_memory()[1]
assert plan.total == 100_000 and len(plan.shards) == 100
assert "tensorflow" not in sys.modules
print(peak)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=REPO), cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) < 4 * 2 ** 20  # a list of 100k Samples alone would be ~30 MB


def test_labels_too_long_for_their_image_are_counted_for_the_model_size(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "crops"
    folder.mkdir()
    # 32 px high: a 40 px wide crop gives 10 frames. "aabbccdd" needs 8 + 4 = 12, "abcdefgh" 8.
    for name in ("narrow_repeats", "narrow_plain", "wide_repeats"):
        width = 120 if name.startswith("wide") else 40
        Image.new("L", (width, 32), 255).save(folder / f"{name}.png")
    listing = tmp_path / "list.txt"
    listing.write_text("crops/narrow_repeats.png aabbccdd\ncrops/narrow_plain.png abcdefgh\n"
                       "crops/wide_repeats.png aabbccdd\n", encoding="utf-8")
    report = convert.convert(convert_cli.parse_args([str(listing), "--output_dir", str(tmp_path / "out"), "--workers", "1"]))
    too_long = report["labels_too_long_for_their_image"]
    assert too_long["count"] == 1 and report["written_total"] == 3
    assert too_long["examples"] == [{"image": str(folder / "narrow_repeats.png"), "label": "aabbccdd", "frames": 10,
                                     "frames_needed": 12}]
    assert "labels too long for their image: 1" in capsys.readouterr().out
    # A model twice as high sees every crop twice as wide: nothing is too long for it.
    again = convert.convert(convert_cli.parse_args([str(listing), "--output_dir", str(tmp_path / "out64"), "--workers",
                                                "1", "--image_height", "64"]))
    assert again["labels_too_long_for_their_image"]["count"] == 0
