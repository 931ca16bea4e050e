"""The CPU-efficient backbone (mobilenet_v3) through the whole path: a tiny CRNN trained
through the Estimator reads its images through predict, and its TFLite and ONNX forms read
as well. A file of its own, so that the two test workers run it beside the other
end-to-end tests."""

import json

from conftest import run_module, training_images


def test_a_tiny_mobilenet_v3_crnn_learns_to_read_and_exports(tiny_shards, tmp_path):
    """The CPU-efficient backbone through the whole path: Estimator, exporters, predict."""
    from conftest import TINY_STEPS, tiny_model_fields, write_config

    fields = tiny_model_fields(tiny_shards, model_dir=str(tmp_path / "model"), backbone="mobilenet_v3",
                               width_multiplier=0.5, train_steps=TINY_STEPS, save_checkpoints_steps=TINY_STEPS,
                               learning_rate_schedule="cosine", decay_steps=TINY_STEPS, decay_rate=0.05)
    run_module("tf_crnn.train", write_config(tmp_path / "params.json", **fields), check=True, timeout=900)
    samples = training_images(tiny_shards)
    result = run_module("tf_crnn.predict", tmp_path / "model", *[path for path, _ in samples], "--json", check=True)
    truth = dict(samples)
    rows = json.loads(result.stdout)
    assert sum(row["text"] == truth[row["path"]] for row in rows) / len(rows) >= 0.9, rows[:10]
    # Its portable forms (builtin-only TFLite, ONNX) read as well.
    run_module("tf_crnn.tflite_convert", tmp_path / "model", "--output_dir", tmp_path / "tflite", "--forms", "fp32",
               check=True)
    run_module("tf_crnn.onnx_export", tmp_path / "model", "--output", tmp_path / "crnn.onnx", check=True)
    run_module("tf_crnn.portable_evaluate", tmp_path / "tflite" / "crnn_fp32.tflite", tmp_path / "crnn.onnx",
               "--annotations", tiny_shards / "images" / "list.txt", "--decoders", "greedy",
               "--output_dir", tmp_path / "portable", check=True)
    with open(tmp_path / "portable" / "portable_evaluation.json", encoding="utf-8") as handle:
        results = json.load(handle)["results"]
    assert len(results) == 2 and all(result["word_accuracy"] >= 0.9 for result in results), results
