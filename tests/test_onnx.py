"""The ONNX core of the tiny trained CRNN against TensorFlow: same logits (to 1e-4), same words.

Skipped when the onnx extra (tf2onnx, onnx, onnxruntime) is not installed.
"""

import json

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("tf2onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from conftest import LOWER_ALNUM, TINY_WORDS, assert_clean_error, render_text, run_module  # noqa: E402

WIDTH = 128


@pytest.fixture(scope="module")
def exported(trained_tiny, tmp_path_factory):
    root, _ = trained_tiny
    path = tmp_path_factory.mktemp("onnx") / "crnn.onnx"
    run_module("tf_crnn.onnx_export", root / "model", "--output", path, "--width", WIDTH, check=True)
    return root, path


@pytest.fixture(scope="module")
def session(exported):
    return onnxruntime.InferenceSession(str(exported[1]), providers=["CPUExecutionProvider"])


def rendered_batch(root):
    """Training images plus fresh renders of seen and unseen words, as encoded PNGs."""
    import io

    with open(root / "images" / "list.txt", encoding="utf-8") as handle:
        encoded = [(root / "images" / line.split(" ", 1)[0]).read_bytes() for line in handle.readlines()[:24]]
    for word in TINY_WORDS[:4] + ["quiz", "7x9", "lamp"]:
        buffer = io.BytesIO()
        render_text(word).save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    return encoded


def test_onnx_core_matches_tensorflow(exported, session):
    from tf_crnn.decoding import numpy_ctc
    from tf_crnn.decoding.decoders import decode_words
    from tf_crnn.model_files import read_onnx_metadata
    from tf_crnn.export.portable import FixedWidthInputs, build_core
    from tf_crnn.model_files import alphabet_from_metadata

    root, _ = exported
    metadata = read_onnx_metadata(session)
    assert metadata["alphabet"] == list(LOWER_ALNUM) and metadata["width"] == WIDTH
    assert [i.name for i in session.get_inputs()] == ["images", "widths"]
    images, widths = FixedWidthInputs(metadata)(rendered_batch(root))
    logits = session.run(["logits"], {"images": images, "widths": widths})[0]
    core = build_core(str(root / "model"), WIDTH)
    expected = core.model({"images": images, "widths": widths}).numpy()
    assert logits.shape == expected.shape == (len(images), WIDTH // 4, 37)
    assert np.abs(logits - expected).max() <= 1e-4
    alphabet = alphabet_from_metadata(metadata)
    lengths = numpy_ctc.frame_counts(widths)
    for decoder in ("greedy", "beam"):
        ours = decode_words(decoder, numpy_ctc.log_softmax(logits), lengths, alphabet, 5, engine="numpy")
        theirs = decode_words(decoder, numpy_ctc.log_softmax(expected), lengths, alphabet, 5, engine="numpy")
        assert ours == theirs
    assert ours[24:28] == TINY_WORDS[:4]


def test_portable_evaluate_reads_onnx(exported, tmp_path):
    root, path = exported
    with open(root / "images" / "list.txt", encoding="utf-8") as handle:
        lines = [line.rstrip("\n").split(" ", 1) for line in handle.readlines()[:30]]
    (tmp_path / "list.txt").write_text("".join(f"{root / 'images' / name} {label}\n" for name, label in lines))
    run_module("tf_crnn.portable_evaluate", path, "--annotations", tmp_path / "list.txt", "--output_dir",
               tmp_path / "eval", check=True)
    with open(tmp_path / "eval" / "portable_evaluation.json", encoding="utf-8") as handle:
        results = json.load(handle)["results"]
    assert [(r["model"], r["decoder"]) for r in results] == [("ONNX fp32 (128 px)", "greedy"),
                                                             ("ONNX fp32 (128 px)", "beam")]
    assert all(r["word_accuracy"] >= 0.9 for r in results)


def test_onnx_export_errors_are_clean(trained_tiny, tmp_path):
    root, _ = trained_tiny
    output = ("--output", tmp_path / "x.onnx")
    assert_clean_error(run_module("tf_crnn.onnx_export", tmp_path / "missing", *output), "missing")
    assert_clean_error(run_module("tf_crnn.onnx_export", root / "model", *output, "--width", 30), "--width 30")
    assert_clean_error(run_module("tf_crnn.onnx_export", root / "model", "--output", tmp_path / "x.txt"), ".onnx")
    assert not (tmp_path / "x.onnx").exists()
