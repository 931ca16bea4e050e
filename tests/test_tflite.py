"""TFLite forms of the tiny trained CRNN: the builtin-only core against TensorFlow, fp16 and
int8, the Flex bytes-in model, numpy CTC decoding against TensorFlow's, and clean errors."""

import json
import os

import numpy as np
import pytest

from conftest import assert_clean_error, render_text, run_module

WIDTH = 128


def training_samples(root, count=None):
    """(encoded PNG, label) of the rendered training images."""
    with open(root / "images" / "list.txt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()[:count]
    samples = []
    for line in lines:
        name, label = line.split(" ", 1)
        samples.append(((root / "images" / name).read_bytes(), label))
    return samples


def newest_export(root):
    folder = root / "model" / "export" / "latest"
    return str(folder / max((d for d in os.listdir(folder) if d.isdigit()), key=int))


@pytest.fixture(scope="module")
def converted(trained_tiny, tmp_path_factory):
    root, _ = trained_tiny
    out = tmp_path_factory.mktemp("tflite")
    run_module("tf_crnn.tflite_convert", root / "model", "--output_dir", out, "--width", WIDTH, "--samples", 64,
               check=True)
    with open(out / "tf_crnn.json", encoding="utf-8") as handle:
        return root, out, json.load(handle)


@pytest.fixture(scope="module")
def core(trained_tiny):
    from tf_crnn.export.portable import build_core

    root, _ = trained_tiny
    return build_core(str(root / "model"), WIDTH)


def run_core(path, images, widths):
    import tensorflow as tf

    runner = tf.lite.Interpreter(model_path=str(path)).get_signature_runner()
    return runner(images=images, widths=widths)["logits"]


def read_words(logits, widths, alphabet, decoder):
    from tf_crnn.decoding import numpy_ctc
    from tf_crnn.decoding.decoders import decode_words

    return decode_words(decoder, numpy_ctc.log_softmax(logits), numpy_ctc.frame_counts(widths), alphabet, 5,
                        engine="numpy")


def test_core_reproduces_the_saved_model(trained_tiny, core):
    """Restored from the checkpoint by name, the unrolled core gives the export's log-probabilities."""
    import tensorflow as tf

    from tf_crnn.decoding import numpy_ctc
    from tf_crnn.export.portable import FixedWidthInputs

    root, _ = trained_tiny
    images, widths = FixedWidthInputs(core.metadata())([data for data, _ in training_samples(root, 24)])
    saved = tf.saved_model.load(newest_export(root)).signatures["images:logits"]
    expected = saved(images=tf.constant(images), widths=tf.constant(widths), source_widths=tf.constant(widths))
    ours = numpy_ctc.log_softmax(core.model({"images": images, "widths": widths}).numpy())
    lengths = expected["frame_lengths"].numpy()
    assert (lengths == numpy_ctc.frame_counts(widths)).all()
    for row, length in enumerate(lengths):  # padded frames are not defined, only real ones
        np.testing.assert_allclose(ours[row, :length], expected["log_probs"].numpy()[row, :length], atol=1e-4)


def test_fp32_core_matches_tensorflow_and_reads_the_same(converted, core):
    from tf_crnn.export.portable import FixedWidthInputs

    root, out, metadata = converted
    assert metadata["width"] == WIDTH and metadata["image_height"] == 32 and len(metadata["alphabet"]) == 36
    samples = training_samples(root, 48)
    images, widths = FixedWidthInputs(metadata)([data for data, _ in samples])
    expected = core.model({"images": images, "widths": widths}).numpy()
    logits = run_core(out / metadata["files"]["fp32"], images, widths)
    assert logits.shape == (48, WIDTH // 4, 37)
    assert np.abs(logits - expected).max() <= 1e-4
    for decoder in ("greedy", "beam"):
        words = read_words(logits, widths, core.alphabet, decoder)
        assert words == read_words(expected, widths, core.alphabet, decoder)
    assert sum(w == label for w, (_, label) in zip(words, samples)) >= 0.9 * len(samples)


def test_fp16_and_int8_are_smaller_and_still_read(converted, core):
    from tf_crnn.export.portable import FixedWidthInputs

    root, out, metadata = converted
    sizes = {form: os.path.getsize(out / name) for form, name in metadata["files"].items()}
    assert set(sizes) == {"fp32", "fp16", "int8", "flex"}
    assert sizes["fp16"] < sizes["fp32"] and sizes["int8"] < sizes["fp32"]
    samples = training_samples(root, 80)
    images, widths = FixedWidthInputs(metadata)([data for data, _ in samples])
    for form in ("fp16", "int8"):
        words = read_words(run_core(out / metadata["files"][form], images, widths), widths, core.alphabet, "greedy")
        correct = sum(w == label for w, (_, label) in zip(words, samples))
        assert correct >= 0.8 * len(samples), (form, correct)


def test_flex_model_reads_png_bytes(converted, tmp_path):
    import tensorflow as tf

    _, out, metadata = converted
    render_text("moon").save(tmp_path / "moon.png")
    render_text("fish").save(tmp_path / "fish.png")
    runner = tf.lite.Interpreter(model_path=str(out / metadata["files"]["flex"])).get_signature_runner()
    outputs = runner(images=np.array([(tmp_path / "moon.png").read_bytes(), (tmp_path / "fish.png").read_bytes()],
                                     dtype=object))
    assert [w.decode() for w in outputs["words"]] == ["moon", "fish"]
    assert outputs["top_words"].shape == (2, 3) and (0 < outputs["confidences"]).all()


def test_core_runs_in_ai_edge_litert(converted, core):
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    from tf_crnn.export.portable import FixedWidthInputs

    root, out, metadata = converted
    images, widths = FixedWidthInputs(metadata)([data for data, _ in training_samples(root, 8)])
    runner = litert.Interpreter(model_path=str(out / metadata["files"]["fp32"])).get_signature_runner()
    logits = runner(images=images, widths=widths)["logits"]
    assert np.abs(logits - run_core(out / metadata["files"]["fp32"], images, widths)).max() <= 1e-4


def test_numpy_decoders_match_tensorflow():
    import tensorflow as tf

    from tf_crnn.decoding import ctc
    from tf_crnn.decoding import numpy_ctc
    from tf_crnn.alphabet import Alphabet

    alphabet = Alphabet(list("abcdefgh"))
    rng = np.random.RandomState(3)
    for case in range(12):
        frames = rng.randint(4, 40)
        logits = rng.randn(3, frames, alphabet.num_classes).astype(np.float32) * (1 + 3 * (case % 3))
        logits[..., -1] += case % 2 * 2.0  # blank-heavy frames, as a trained network's
        log_probs = numpy_ctc.log_softmax(logits)
        lengths = np.array([frames, rng.randint(2, frames + 1), 2], np.int32)
        beam_width, top_paths = 1 + case % 6, min(1 + case % 3, 1 + case % 6)
        expected = ctc.decode(tf.transpose(log_probs, [1, 0, 2]), lengths, alphabet, "greedy", beam_width, top_paths)
        ours = numpy_ctc.decode(log_probs, lengths, alphabet, "greedy", beam_width, top_paths)
        assert ours["words"] == [w.decode() for w in expected["words"].numpy()]
        np.testing.assert_allclose(ours["confidences"], expected["confidences"].numpy(), rtol=1e-4)
        assert ours["top_words"] == [[w.decode() for w in row] for row in expected["top_words"].numpy()]
        np.testing.assert_allclose(ours["top_scores"], expected["top_scores"].numpy(), rtol=1e-4)


def test_portable_evaluate_puts_every_form_next_to_the_saved_model(converted, tmp_path):
    root, out, _ = converted
    with open(root / "images" / "list.txt", encoding="utf-8") as handle:
        lines = [line.rstrip("\n").split(" ", 1) for line in handle.readlines()[:40]]
    (tmp_path / "list.txt").write_text("".join(f"{root / 'images' / name} {label}\n" for name, label in lines))
    result = run_module("tf_crnn.portable_evaluate", newest_export(root), out, "--annotations",
                        tmp_path / "list.txt", "--decoders", "greedy", "--output_dir", tmp_path / "eval", check=True)
    assert "| TFLite int8 (128 px) |" in result.stdout
    with open(tmp_path / "eval" / "portable_evaluation.json", encoding="utf-8") as handle:
        report = json.load(handle)
    rows = {row["model"]: row for row in report["results"]}
    assert set(rows) == {"SavedModel", "TFLite fp32 (128 px)", "TFLite fp16 (128 px)", "TFLite int8 (128 px)",
                         "TFLite flex (bytes in)"}
    assert rows["TFLite fp32 (128 px)"]["word_accuracy"] == rows["SavedModel"]["word_accuracy"] >= 0.9
    assert all(row["samples"] == 40 and row["words_per_second"] > 0 for row in rows.values())
    assert all(model["size_bytes"] > 0 for model in report["models"])


def test_bad_input_is_a_clean_error(trained_tiny, converted, tmp_path):
    root, out, _ = converted
    model = root / "model"
    output = ("--output_dir", tmp_path / "x")
    assert_clean_error(run_module("tf_crnn.tflite_convert", tmp_path / "missing", *output), "missing")
    assert_clean_error(run_module("tf_crnn.tflite_convert", model, *output, "--width", "64,130"), "--width 130")
    assert_clean_error(run_module("tf_crnn.tflite_convert", model, *output, "--width", 1024), "max_image_width")
    assert_clean_error(run_module("tf_crnn.tflite_convert", model, *output, "--forms", "fp64"), "fp64")
    assert_clean_error(run_module("tf_crnn.tflite_convert", model, *output, "--forms", "int8",
                                  "--representative", tmp_path / "none-*.tfrecord"), "none-*.tfrecord")
    assert not os.path.exists(tmp_path / "x" / "tf_crnn.json")
    (tmp_path / "list.txt").write_text(f"{root / 'images' / 'img00000.png'} cat\n")
    assert_clean_error(run_module("tf_crnn.portable_evaluate", tmp_path / "nothing.tflite", "--annotations",
                                  tmp_path / "list.txt"), "nothing.tflite")
    (tmp_path / "lonely").mkdir()
    (tmp_path / "lonely" / "m.tflite").write_bytes((out / "crnn_fp32.tflite").read_bytes())
    assert_clean_error(run_module("tf_crnn.portable_evaluate", tmp_path / "lonely" / "m.tflite", "--annotations",
                                  tmp_path / "list.txt"), "tf_crnn.json")


def test_numpy_decoding_of_the_tflite_core_gives_the_saved_models_characters(converted):
    import tensorflow as tf

    from tf_crnn.decoding import numpy_ctc
    from tf_crnn.export.portable import FixedWidthInputs
    from tf_crnn.model_files import alphabet_from_metadata

    root, out, metadata = converted
    encoded = [data for data, _ in training_samples(root, 6)]
    images, widths, source_widths = FixedWidthInputs(metadata)(encoded, with_source_widths=True)
    logits = run_core(out / metadata["files"]["fp32"], images, widths)
    ours = numpy_ctc.decode(numpy_ctc.log_softmax(logits), numpy_ctc.frame_counts(widths),
                               alphabet_from_metadata(metadata), "greedy", 1, 0, widths=widths,
                               source_widths=source_widths)
    saved = tf.saved_model.load(newest_export(root)).signatures["serving_default"](images=tf.constant(encoded))
    for row, chars in enumerate(ours["chars"]):
        kept = saved["char_x_ranges"].numpy()[row][:, 0] >= 0
        assert [c["char"] for c in chars] == [u.decode() for u in saved["chars"].numpy()[row][kept]]
        assert [c["x_range"] for c in chars] == saved["char_x_ranges"].numpy()[row][kept].tolist()
        np.testing.assert_allclose([c["confidence"] for c in chars], saved["char_confidences"].numpy()[row][kept],
                                   atol=1e-3)
        assert all(0 <= c["x_range"][0] < c["x_range"][1] <= source_widths[row] for c in chars)


def test_a_core_of_several_widths_runs_each_image_on_the_narrowest_that_holds_it(converted, tmp_path):
    """`--width 64,128`: one file, a signature per width over the same weights. A narrow
    image gets the same logits on its frames from either signature, and the reader (which
    picks the signature) reads what the single-width core reads."""
    import tensorflow as tf

    from tf_crnn.export.portable import FixedWidthInputs
    from tf_crnn.inference.runtimes import RuntimeOptions, open_readers

    root, single, single_metadata = converted
    out = tmp_path / "ladder"
    run_module("tf_crnn.tflite_convert", root / "model", "--output_dir", out, "--width", "128,64", "--forms", "fp32",
               check=True)
    metadata = json.loads((out / "tf_crnn.json").read_text(encoding="utf-8"))
    assert metadata["width"] == 128 and metadata["signatures"] == {"64": "width_64", "128": "serving_default"}
    path = out / metadata["files"]["fp32"]
    assert os.path.getsize(path) < 1.5 * os.path.getsize(single / single_metadata["files"]["fp32"])  # shared weights
    interpreter = tf.lite.Interpreter(model_path=str(path))
    assert set(interpreter.get_signature_list()) == {"serving_default", "width_64"}

    samples = training_samples(root, 60)
    images, widths = FixedWidthInputs(metadata)([data for data, _ in samples])
    narrow = widths <= 64
    assert 0 < narrow.sum() < len(widths)  # the set has both kinds
    wide = interpreter.get_signature_runner("serving_default")(images=images[narrow], widths=widths[narrow])
    cut = interpreter.get_signature_runner("width_64")(images=np.ascontiguousarray(images[narrow][:, :, :64]),
                                                      widths=widths[narrow])
    assert cut["logits"].shape[1] == 16
    for row, frames in enumerate((widths[narrow] + 3) // 4):
        np.testing.assert_allclose(cut["logits"][row, :frames], wide["logits"][row, :frames], atol=1e-4)

    reader, reference = open_readers([str(path), str(single / single_metadata["files"]["fp32"])],
                                     options=RuntimeOptions(threads=1))
    assert reader.label == "TFLite fp32 (64/128 px)"
    encoded = [data for data, _ in samples]
    words = [reader.read([data], "greedy")[0] for data in encoded]
    assert words == [reference.read([data], "greedy")[0] for data in encoded]
    assert sum(word == label for word, (_, label) in zip(words, samples)) >= 0.9 * len(samples)


def test_int8_calibration_words_come_from_the_exports_own_alphabet():
    from tf_crnn.export.calibration import calibration_words_settings as settings

    shipped = settings({"alphabet": list("0123456789abcdefghijklmnopqrstuvwxyz"), "lowercase_labels": True})
    assert shipped == {"charset": "0123456789abcdefghijklmnopqrstuvwxyz", "case": "lower", "max_length": 18}
    cased = settings({"alphabet": list("0123abcABC"), "lowercase_labels": False})
    assert cased["charset"] == "0123abcABC" and cased["case"] == "mixed"
    # Lower-cased labels read an upper-case letter as its lower case: calibrate on lower case.
    assert settings({"alphabet": list("abcABC"), "lowercase_labels": True})["case"] == "lower"
    assert settings({"alphabet": list("aB"), "lowercase_labels": False})["case"] == "lower"  # no letter in both
    cyrillic = settings({"alphabet": list("абвгд") + ["<unk>"], "lowercase_labels": False})
    assert cyrillic["charset"] == "абвгд" and cyrillic["case"] == "lower"
