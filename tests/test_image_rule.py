"""One rule for what an image is (tf_crnn/data/images.py), through every command that reads
files: a CMYK JPEG, a phone photo's EXIF rotation and a palette PNG whose text is drawn by
its transparency read as they look in convert, predict, evaluate and the serving client
(issue 34, cases 11 to 13); the serving graph itself (tf_crnn/data/graph_images.py) turns
and composites them alike and refuses the CMYK JPEG, naming it. Before, the first was skipped or failed its batch, the second
read sideways ("j" at 0.62) and the third read "" at 0.000."""

import io
import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from conftest import render_text, run_module
from tf_crnn.data import schema
from tf_crnn.data.graph_images import CMYK_MESSAGE, decode_as_it_looks
from tf_crnn.data.images import as_it_looks, checked_image_bytes
from tf_crnn.model_files import resolve_saved_model

EXIF_ORIENTATION = 0x0112


def cmyk_jpeg(word):
    out = io.BytesIO()
    render_text(word).convert("CMYK").save(out, format="JPEG", quality=95)
    return out.getvalue()


def exif_rotated_jpeg(word):
    """Stored sideways, with the EXIF tag that tells a viewer to turn it upright (as phones do)."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 8  # to display, turn the stored pixels 90 degrees counter-clockwise
    out = io.BytesIO()
    render_text(word).rotate(-90, expand=True).save(out, format="JPEG", quality=95, exif=exif)  # stored clockwise
    return out.getvalue()


def palette_png_drawn_by_transparency(word):
    """Every pixel black; the text opaque, the rest fully transparent."""
    ink = np.asarray(render_text(word)) < 128
    image = Image.fromarray(np.where(ink, 0, 1).astype(np.uint8), mode="P")
    image.putpalette([0, 0, 0, 0, 0, 0])
    out = io.BytesIO()
    image.save(out, format="PNG", transparency=bytes([255, 0]))
    return out.getvalue()


def white_text_on_transparency(word):
    ink = np.asarray(render_text(word)) < 128
    rgba = np.zeros(ink.shape + (4,), np.uint8)
    rgba[..., :3] = 255
    rgba[..., 3] = np.where(ink, 255, 0)
    out = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(out, format="PNG")
    return out.getvalue()


CASES = {"cmyk.jpg": ("bird", cmyk_jpeg), "rotated.jpg": ("fish", exif_rotated_jpeg),
         "palette.png": ("moon", palette_png_drawn_by_transparency)}


def tf_grey(data):
    return tf.io.decode_image(data, channels=1, expand_animations=False).numpy()[..., 0].astype(np.float32)


@pytest.mark.parametrize("make", [cmyk_jpeg, exif_rotated_jpeg, palette_png_drawn_by_transparency,
                                  white_text_on_transparency])
def test_tensorflow_reads_the_checked_bytes_as_the_image_looks(make):
    upright = np.asarray(render_text("fish"), np.float32)
    seen = tf_grey(checked_image_bytes(make("fish")))
    assert seen.shape == upright.shape
    # Dark ink on light, or light on dark: the text's outline is where it is in the original.
    contrast = np.corrcoef(seen.ravel(), upright.ravel())[0, 1]
    assert abs(contrast) > 0.9, contrast


def test_plain_png_and_jpeg_are_kept_byte_for_byte():
    for fmt in ("PNG", "JPEG"):
        out = io.BytesIO()
        render_text("cat").save(out, format=fmt)
        assert checked_image_bytes(out.getvalue()) == out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_the_serving_graph_turns_every_exif_orientation_as_pillow_does(fmt):
    """Orientations 1 to 8, each stored with its tag, against Pillow's exif_transpose. The
    three bands differ (the text, the text upside down, the text), so a wrong turn shows."""
    word = render_text("fish")
    stored = Image.merge("RGB", [word, word.transpose(Image.Transpose.FLIP_TOP_BOTTOM), word])
    decode = tf.function(lambda data: decode_as_it_looks(data, 3))
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = orientation
        out = io.BytesIO()
        stored.save(out, format=fmt, exif=exif, **({"quality": 95} if fmt == "JPEG" else {}))
        looks = np.asarray(as_it_looks(Image.open(io.BytesIO(out.getvalue()))), np.float32) / 255
        seen = decode(tf.constant(out.getvalue())).numpy()
        assert seen.shape == looks.shape, orientation
        # PNG: the same pixels; JPEG: TensorFlow's and Pillow's decoders round differently.
        assert np.abs(seen - looks).max() < (1e-6 if fmt == "PNG" else 0.1), orientation


@pytest.mark.parametrize("channels", [1, 3])
def test_the_serving_graph_composites_transparency_as_pillow_does_and_keeps_plain_files_as_they_were(channels):
    decode = tf.function(lambda data: decode_as_it_looks(data, channels))
    mode = "L" if channels == 1 else "RGB"
    for make in (palette_png_drawn_by_transparency, white_text_on_transparency):
        data = make("moon")
        looks = np.asarray(as_it_looks(Image.open(io.BytesIO(data))).convert(mode), np.float32) / 255
        seen = decode(tf.constant(data)).numpy()
        assert np.abs(seen - looks.reshape(seen.shape)).max() < 1e-3, make.__name__
    for fmt in ("PNG", "JPEG"):
        out = io.BytesIO()
        render_text("cat").convert("RGB").save(out, format=fmt)
        plain = tf.io.decode_image(out.getvalue(), channels=channels, expand_animations=False)
        np.testing.assert_array_equal(decode(tf.constant(out.getvalue())).numpy(),
                                      tf.image.convert_image_dtype(plain, tf.float32).numpy())


def test_the_serving_graph_reads_them_as_they_look_and_refuses_a_cmyk_jpeg_by_name(trained_tiny):
    root, _ = trained_tiny
    serve = tf.saved_model.load(resolve_saved_model(str(root / "model" / "export" / "latest"))).signatures[
        "serving_default"]
    for name in ("rotated.jpg", "palette.png"):
        word, make = CASES[name]
        text = serve(images=tf.constant([make(word)]))["words"].numpy()[0].decode()
        assert text == word, (name, text)
    with pytest.raises(tf.errors.InvalidArgumentError, match="CMYK JPEG"):
        serve(images=tf.constant([cmyk_jpeg("bird")]))
    assert "send it as RGB" in CMYK_MESSAGE


@pytest.fixture(scope="module")
def awkward_images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("awkward")
    for name, (word, make) in CASES.items():
        (folder / name).write_bytes(make(word))
    (folder / "labels.tsv").write_text("".join(f"{name}\t{word}\n" for name, (word, _) in CASES.items()),
                                       encoding="utf-8")
    return folder


def test_predict_and_evaluate_read_them_as_they_look(trained_tiny, awkward_images, tmp_path):
    root, _ = trained_tiny
    export = root / "model" / "export" / "latest"
    rows = json.loads(run_module("tf_crnn.predict", export, *[awkward_images / name for name in CASES], "--json",
                                 check=True).stdout)
    assert [row["text"] for row in rows] == [word for word, _ in CASES.values()], rows
    run_module("tf_crnn.evaluate", export, awkward_images / "labels.tsv", "--decoders", "greedy", "--output_dir",
               tmp_path / "eval", check=True)
    result = json.loads((tmp_path / "eval" / "evaluation.json").read_text(encoding="utf-8"))["results"][0]
    assert result["word_accuracy"] == 1.0, result


def test_convert_writes_them_as_they_look(awkward_images, tmp_path):
    run_module("tf_crnn.data.convert", awkward_images / "labels.tsv", "--output_dir", tmp_path, "--prefix", "awk",
               "--workers", 1, check=True)
    written = {source.rsplit("/", 1)[1]: image for path in sorted(tmp_path.glob("awk-*.tfrecord"))
               for image, _, source in schema.read_examples(str(path))}
    assert sorted(written) == sorted(CASES)
    for name, (word, _) in CASES.items():
        upright = np.asarray(render_text(word), np.float32)
        seen = tf_grey(written[name])
        assert seen.shape == upright.shape and np.corrcoef(seen.ravel(), upright.ravel())[0, 1] > 0.9, name
