"""Bad input through the real commands: one clear message, the right exit status, no
traceback, nothing half-written, and no hang (every command runs under a time bound).

Each case is one a new user met: training data that turns out empty, a conversion where
every image is bad, a `skip` policy that drops most labels, a model dir given where images
were expected, an export given as a model dir, image formats the commands disagreed on,
bad flag values, an empty serving batch, unreadable images in an evaluation.
"""

import glob
import io
import json
import os
import re
import shutil

import pytest

from conftest import (REPO, TINY_WORDS, assert_clean_error, render_text, run_module, tiny_model_fields,
                      write_config, write_list_dataset)

BOUND = 240  # seconds: every command here ends (or fails) well inside it; a hang fails the test
SHIPPED = os.path.join(REPO, "tf_crnn", "pretrained", "crnn_words")
FORMATS = ("png", "jpg", "bmp", "gif", "tif", "webp")  # data/images.py IMAGE_EXTENSIONS
SERVING_FORMATS = ("png", "jpg", "bmp", "gif")  # what serving_default decodes in the graph


def _train(config_path, *flags):
    return run_module("tf_crnn.train", config_path, *flags, timeout=BOUND)


def _write_records(path, records):
    from tf_crnn.data.writer import write_shard

    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_shard(str(path), records)


def _undecodable_shards(root):
    """Shards whose every image is a few random bytes (as a broken writer would leave them)."""
    from tf_crnn.data.schema import make_example

    for split in ("train", "val"):
        _write_records(root / "shards" / f"tiny-{split}-00000-of-00001.tfrecord",
                       [make_example(b"\x89PNG broken %d" % i, TINY_WORDS[i % len(TINY_WORDS)], f"bad{i}.png")
                        for i in range(40)])


def _no_model_files(model_dir):
    return not os.path.exists(os.path.join(model_dir, "checkpoint")) and not os.path.isdir(
        os.path.join(model_dir, "export"))


def _newest(folder):
    return os.path.join(folder, max((d for d in os.listdir(folder) if d.isdigit()), key=int))


# -- training whose data turns out empty ---------------------------------------------------

def test_training_on_undecodable_images_stops_naming_them(tmp_path):
    _undecodable_shards(tmp_path)
    config = write_config(tmp_path / "p.json", **tiny_model_fields(tmp_path))
    result = _train(config)
    assert_clean_error(result, "field 'train_files': no example survives", "tiny-train-00000-of-00001.tfrecord",
                       "bad0.png")
    assert _no_model_files(tmp_path / "model")


def test_a_pass_without_examples_ends_the_run_even_past_the_check(tmp_path):
    """The input pipeline itself never waits forever: undecodable data that the check did
    not see (switched off here) ends training at step 0 with a message, not a hang."""
    import subprocess
    import sys

    _undecodable_shards(tmp_path)
    config = write_config(tmp_path / "p.json", **tiny_model_fields(tmp_path))
    code = ("import sys, tf_crnn.data.check as check; check.check_training_data = lambda config, sets: None; "
            "from tf_crnn import train; sys.argv = ['train', sys.argv[1]]; train.main()")
    result = subprocess.run([sys.executable, "-c", code, config], capture_output=True, text=True, timeout=BOUND,
                            cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO))
    assert_clean_error(result, "training stopped at step 0 of 400")


def test_training_on_empty_shards_stops_naming_them(tiny_shards, tmp_path):
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "tiny-train-00000-of-00001.tfrecord").write_bytes(b"")
    fields = tiny_model_fields(tmp_path, eval_files=tiny_model_fields(tiny_shards)["eval_files"])
    result = _train(write_config(tmp_path / "p.json", **fields))
    assert_clean_error(result, "field 'train_files': no examples: every shard is empty",
                       "tiny-train-00000-of-00001.tfrecord")
    assert _no_model_files(tmp_path / "model")


def test_training_on_a_file_that_is_no_shard_names_it(tiny_shards, tmp_path):
    (tmp_path / "shards").mkdir()
    render_text("cat").save(tmp_path / "shards" / "tiny-train-0.tfrecord", format="PNG")
    fields = tiny_model_fields(tmp_path, eval_files=tiny_model_fields(tiny_shards)["eval_files"])
    result = _train(write_config(tmp_path / "p.json", **fields))
    assert_clean_error(result, "tiny-train-0.tfrecord: not a whole TFRecord shard")


def _letters_alphabet(tmp_path, letters):
    path = tmp_path / "alphabet_small.txt"
    path.write_text("".join(c + "\n" for c in letters), encoding="utf-8")
    return str(path)


def test_skip_policy_dropping_every_label_stops(tiny_shards, tmp_path):
    fields = tiny_model_fields(tiny_shards, model_dir=str(tmp_path / "model"), unknown_label_policy="skip",
                               alphabet_file=_letters_alphabet(tmp_path, "xyz"))
    result = _train(write_config(tmp_path / "p.json", **fields))
    assert_clean_error(result, "no example survives", "outside the alphabet", "tiny-train")
    assert _no_model_files(tmp_path / "model")


def test_skip_policy_above_the_threshold_stops_and_below_it_says_how_many(tiny_shards, tmp_path, capsys):
    # Without g, h, i, r, z and 7, six of the ten words (dog, tree, bird, fish, 7up, zoo) drop out.
    letters = "0123456789abcdefjklmnopqstuvwxy".replace("7", "")
    fields = tiny_model_fields(tiny_shards, model_dir=str(tmp_path / "model"), unknown_label_policy="skip",
                               alphabet_file=_letters_alphabet(tmp_path, letters))
    result = _train(write_config(tmp_path / "p.json", **fields))
    assert_clean_error(result, "would be skipped, more than max_skipped_label_share (0.2)", "train_files")
    assert "train_files: " in result.stderr and "will be skipped" in result.stderr
    assert _no_model_files(tmp_path / "model")
    # Allowed by the config, the check passes and says how many will be skipped.
    from tf_crnn.config import load_config
    from tf_crnn.data.check import check_training_data

    fields.update(max_skipped_label_share=0.9)
    config = load_config(write_config(tmp_path / "p2.json", **fields))
    check_training_data(config, [("train_files", sorted(glob.glob(config.train_files[0])))])
    line = capsys.readouterr().err.strip()
    share = re.match(r"train_files: (\d+) of (\d+) examples \((\d+\.\d)%\) will be skipped: \1 with characters "
                     r"outside the alphabet, 0 with an empty label$", line)
    assert share and 40 < float(share.group(3)) < 80, line


def test_a_share_outside_zero_to_one_is_named(tiny_shards, tmp_path):
    fields = tiny_model_fields(tiny_shards, model_dir=str(tmp_path / "model"), max_skipped_label_share=1.5)
    assert_clean_error(_train(write_config(tmp_path / "p.json", **fields)), "field 'max_skipped_label_share'")


def test_model_dir_that_is_an_export_is_refused(tiny_shards, tmp_path):
    copy = tmp_path / "crnn_words"
    shutil.copytree(SHIPPED, copy)
    before = sorted(os.listdir(copy))
    for model_dir in (copy, copy / "1"):
        fields = tiny_model_fields(tiny_shards, model_dir=str(model_dir))
        result = _train(write_config(tmp_path / "p.json", **fields))
        assert_clean_error(result, "is an export (a SavedModel), not a model dir")
    assert sorted(os.listdir(copy)) == before and sorted(os.listdir(copy / "1")) == ["assets.extra", "saved_model.pb",
                                                                                    "variables"]


# -- conversion ------------------------------------------------------------------------------

def test_conversion_where_every_image_is_bad_writes_no_shard(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    lines = []
    for i in range(5):
        (images / f"b{i}.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
        lines.append(f"b{i}.png cat\n")
    (images / "list.txt").write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    result = run_module("tf_crnn.data.convert", images / "list.txt", "--output_dir", out, "--workers", "1",
                        timeout=BOUND)
    assert_clean_error(result, "0 of 5 train examples written", "b0.png", "data-report.json")
    assert sorted(os.listdir(out)) == ["data-report.json"]  # the report, and no shard, no staging
    report = json.loads((out / "data-report.json").read_text(encoding="utf-8"))
    assert report["written_total"] == 0 and report["skipped_total"] == 5


def test_conversion_into_a_file_is_one_line(tmp_path):
    list_file = write_list_dataset(str(tmp_path / "images"), TINY_WORDS, 3)
    (tmp_path / "taken").write_text("x", encoding="utf-8")
    for output_dir in (tmp_path / "taken", tmp_path / "taken" / "below"):
        result = run_module("tf_crnn.data.convert", list_file, "--output_dir", output_dir, timeout=BOUND)
        assert_clean_error(result, "--output_dir")
    assert (tmp_path / "taken").read_text(encoding="utf-8") == "x"


# -- image formats: one set for every command ------------------------------------------------

def _save(image, path):
    fmt = {"jpg": "JPEG", "tif": "TIFF"}.get(path.rsplit(".", 1)[1], path.rsplit(".", 1)[1].upper())
    image.convert("RGB" if fmt in ("JPEG", "WEBP") else "L").save(path, format=fmt, **(
        {"quality": 95} if fmt == "JPEG" else {"lossless": True} if fmt == "WEBP" else {}))


@pytest.fixture(scope="module")
def format_folder(tmp_path_factory):
    """The same word in every advertised format, with a list file, and a stray text file."""
    folder = tmp_path_factory.mktemp("formats")
    lines = []
    for fmt in FORMATS:
        _save(render_text("moon"), str(folder / f"moon.{fmt}"))
        lines.append(f"moon.{fmt} moon\n")
    (folder / "list.txt").write_text("".join(lines), encoding="utf-8")
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    return folder


def test_every_format_goes_through_conversion_and_the_training_input(format_folder, tmp_path):
    import glob

    from tf_crnn.config import load_config
    from tf_crnn.data.input import make_dataset

    out = tmp_path / "shards"
    result = run_module("tf_crnn.data.convert", format_folder / "list.txt", "--output_dir", out, "--prefix", "tiny",
                        "--workers", "1", timeout=BOUND)
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "tiny-report.json").read_text(encoding="utf-8"))
    assert report["written_total"] == len(FORMATS) and report["skipped_total"] == 0
    config = load_config(write_config(tmp_path / "p.json", **tiny_model_fields(tmp_path, batch_size=32)))
    features, labels = next(iter(make_dataset(config, glob.glob(str(out / "tiny-*.tfrecord")), training=False)))
    assert features["images"].shape[0] == len(FORMATS) and features["images"].shape[3] == 1


def test_serving_default_decodes_every_advertised_format_on_a_grey_model(format_folder):
    import tensorflow as tf

    from tf_crnn.model_files import resolve_saved_model

    model = tf.saved_model.load(resolve_saved_model(SHIPPED))
    serve = model.signatures["serving_default"]
    for fmt in SERVING_FORMATS:
        words = serve(images=tf.constant([(format_folder / f"moon.{fmt}").read_bytes()]))["words"].numpy()
        assert words[0].decode() == "moon", fmt
    empty = serve(images=tf.constant([], dtype=tf.string))
    assert empty["words"].shape == (0,) and empty["top_words"].shape[0] == 0
    logits = model.signatures["logits"](images=tf.constant([], dtype=tf.string))
    assert logits["log_probs"].shape[0] == 0 and logits["frame_lengths"].shape == (0,)


def test_predict_reads_every_format_in_a_folder_and_names_what_it_skips(format_folder):
    result = run_module("tf_crnn.predict", format_folder, timeout=BOUND)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    rows = dict(line.split("\t")[:2] for line in result.stdout.splitlines())
    assert {os.path.basename(path): text for path, text in rows.items()} == {f"moon.{f}": "moon" for f in FORMATS}
    assert f"skipped {format_folder / 'notes.txt'}: not an image file" in result.stderr
    assert f"skipped {format_folder / 'list.txt'}: not an image file" in result.stderr
    assert "model: " in result.stderr and "(the shipped word recognizer)" in result.stderr


# -- predict: which model reads, and its flags -----------------------------------------------

def test_predict_takes_a_model_dir_or_export_base_as_the_model(trained_tiny, tmp_path, capsys):
    from tf_crnn.cli import predict

    root, _ = trained_tiny
    render_text("moon").save(tmp_path / "moon.png")
    best = _newest(str(root / "model" / "export" / "best"))
    for model in (root / "model", root / "model" / "export", root / "model" / "export" / "best", best):
        predict.main([str(model), str(tmp_path / "moon.png")])
        out, err = capsys.readouterr()
        assert f"model: {best}\n" in err and "shipped" not in err
        assert out.split("\t")[1] == "moon"


def test_predict_refuses_a_model_without_export_or_without_images(trained_tiny, tmp_path):
    root, _ = trained_tiny
    (tmp_path / "fresh").mkdir()
    (tmp_path / "fresh" / "config.json").write_text("{}", encoding="utf-8")
    render_text("moon").save(tmp_path / "moon.png")
    assert_clean_error(run_module("tf_crnn.predict", tmp_path / "fresh", tmp_path / "moon.png", timeout=BOUND),
                       "is a model dir with no export yet")
    assert_clean_error(run_module("tf_crnn.predict", root / "model", timeout=BOUND),
                       "is a model; give the images to read after it")


@pytest.mark.parametrize("value", ["0", "-3"])
def test_predict_batch_size_must_be_positive(tmp_path, value):
    render_text("moon").save(tmp_path / "moon.png")
    result = run_module("tf_crnn.predict", tmp_path / "moon.png", "--batch_size", value, timeout=BOUND)
    assert_clean_error(result, "--batch_size must be 1 or more")
    assert result.stdout == ""


# -- evaluation ------------------------------------------------------------------------------

def test_evaluation_counts_unreadable_images_per_set(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    render_text("moon").save(folder / "a.png")
    (folder / "b.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    buffer = io.BytesIO()
    render_text("sun").save(buffer, format="WEBP", lossless=True)
    (folder / "c.webp").write_bytes(buffer.getvalue())
    (folder / "d.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (folder / "labels.tsv").write_text("a.png\tmoon\nb.png\tcat\nd.jpg\tdog\nc.webp\tsun\n", encoding="utf-8")
    result = run_module("tf_crnn.evaluate", SHIPPED, folder / "labels.tsv", "--decoders", "greedy",
                        "--output_dir", tmp_path / "eval", timeout=BOUND)
    assert result.returncode == 0, result.stderr
    assert "| unreadable |" in result.stdout
    assert "| set | greedy | 4 | 2 | 50.0% |" in result.stdout, result.stdout
    assert "b.png" in result.stderr and "d.jpg" in result.stderr and "counted as unreadable" in result.stderr
    summary = json.loads((tmp_path / "eval" / "evaluation.json").read_text(encoding="utf-8"))["results"][0]
    assert summary["unreadable"] == 2 and summary["samples"] == 4


def test_predict_names_a_broken_export_not_the_images_through_the_command(tmp_path):
    """Issue 34, case 2, end to end: a SavedModel that fails on every image that decodes (its
    graph reshapes to a size no image has) stops predict with the model named; the example
    crops, which decode, are not reported as bad images."""
    import tensorflow as tf

    from tf_crnn.model_files import resolve_saved_model

    class Broken(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images")])
        def serve(self, images):
            pixels = tf.map_fn(lambda data: tf.reduce_sum(tf.cast(tf.io.decode_image(data, channels=1,
                                                                                     expand_animations=False),
                                                                  tf.float32)), images)
            wrong = tf.reshape(tf.concat([pixels, pixels, pixels], 0), [-1, 2])  # 3 values an image
            return {"words": tf.strings.as_string(wrong[:, 0]), "confidences": wrong[:, 1]}

    broken = Broken()
    export = tmp_path / "broken" / "1"
    tf.saved_model.save(broken, str(export), signatures={"serving_default": broken.serve,
                                                         "logits": broken.serve})
    shutil.copytree(os.path.join(resolve_saved_model(SHIPPED), "assets.extra"), export / "assets.extra")
    result = run_module("tf_crnn.predict", tmp_path / "broken", os.path.join(REPO, "data", "examples"),
                        timeout=BOUND)
    assert_clean_error(result, "the model fails on an image that decodes")
    assert "does not decode" not in result.stderr


def test_a_model_that_fails_on_images_that_decode_is_named_not_the_images():
    """Issue 34, case 2: predict blamed every image ("image does not decode") for a broken
    export's Reshape error. A decode failure costs its image only; any other stops the run."""
    import pytest
    import tensorflow as tf

    from tf_crnn.errors import DataError
    from tf_crnn.inference.files import read_in_batches

    def decode_failure(items):
        if "bad" in items:
            raise tf.errors.InvalidArgumentError(None, None, "Unknown image file format. One of JPEG, PNG, GIF, BMP "
                                                 "required. [[{{node map/while/DecodeImage}}]]")
        return [item.upper() for item in items]

    rows = list(read_in_batches(decode_failure, ["a", "bad", "c"], 3, (tf.errors.InvalidArgumentError,)))
    assert [row for row, _ in rows] == ["A", None, "C"] and rows[1][1] is not None

    def broken_model(items):
        raise tf.errors.InvalidArgumentError(None, None, "Input to reshape is a tensor with 4096 values, but the "
                                             "requested shape has 2048 [[{{node crnn/Reshape}}]]")

    with pytest.raises(DataError, match="the model fails on an image that decodes .*Input to reshape"):
        list(read_in_batches(broken_model, ["a", "b"], 2, (tf.errors.InvalidArgumentError,)))
