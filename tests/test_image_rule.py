"""One rule for what an image is (tf_crnn/data/images.py), through every command that reads
files: a CMYK JPEG, a phone photo's EXIF rotation and a palette PNG whose text is drawn by
its transparency read as they look in convert, predict, evaluate and the serving client
(issue 34, cases 11 to 13). Before, the first was skipped or failed its batch, the second
read sideways ("j" at 0.62) and the third read "" at 0.000."""

import io
import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from conftest import render_text, run_module
from tf_crnn.data import schema
from tf_crnn.data.images import checked_image_bytes

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
