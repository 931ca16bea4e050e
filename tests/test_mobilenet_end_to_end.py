"""The CPU-efficient backbone (mobilenet_v3) through the whole path: a tiny CRNN trained
through the Estimator reads its images through predict, on both of TensorFlow's CPU kernel
paths, and its TFLite and ONNX forms read as well. A file of its own, so that the two test
workers run it beside the other end-to-end tests."""

import glob
import json
import os
import re

from tensorflow.core.protobuf import saved_model_pb2

from conftest import run_module, training_images


def depthwise_strides(saved_model_dir):
    """The strides of every depthwise convolution in a SavedModel's graphs and functions."""
    model = saved_model_pb2.SavedModel()
    with open(f"{saved_model_dir}/saved_model.pb", "rb") as handle:
        model.ParseFromString(handle.read())
    strides = []
    for graph in model.meta_graphs:
        nodes = list(graph.graph_def.node)
        nodes += [node for function in graph.graph_def.library.function for node in function.node_def]
        strides += [tuple(node.attr["strides"].list.i) for node in nodes if node.op.startswith("DepthwiseConv2d")]
    return strides


def test_a_tiny_mobilenet_v3_crnn_learns_to_read_and_exports(tiny_shards, tmp_path):
    """The CPU-efficient backbone through the whole path: Estimator, exporters, predict."""
    from conftest import TINY_STEPS, tiny_model_fields, write_config

    fields = tiny_model_fields(tiny_shards, model_dir=str(tmp_path / "model"), backbone="mobilenet_v3",
                               width_multiplier=0.5, train_steps=TINY_STEPS, save_checkpoints_steps=TINY_STEPS,
                               learning_rate_schedule="cosine", decay_steps=TINY_STEPS, decay_rate=0.05)
    result = run_module("tf_crnn.train", write_config(tmp_path / "params.json", **fields), check=True, timeout=900)
    # TensorFlow's own kernels (and GPUs, and TF Serving builds without oneDNN) run depthwise
    # convolutions with equal strides only: the export must hold no other.
    export = max(glob.glob(str(tmp_path / "model" / "export" / "latest" / "*")))
    strides = depthwise_strides(export)
    assert strides and all(stride[1] == stride[2] for stride in strides), strides
    # Both CPU kernel paths read: the training's evaluation ran on the one its environment
    # chose (train turns oneDNN on unless told otherwise), predict runs on the other.
    accuracy = re.search(rf"evaluation at step {TINY_STEPS}: word accuracy ([0-9.]+)%", result.stdout)
    assert accuracy and float(accuracy[1]) >= 90, result.stdout
    other_path = "1" if os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0" else "0"
    samples = training_images(tiny_shards)
    truth = dict(samples)
    rows = json.loads(run_module("tf_crnn.predict", export, *[path for path, _ in samples], "--json", check=True,
                                 env={"TF_ENABLE_ONEDNN_OPTS": other_path}).stdout)
    assert sum(row["text"] == truth[row["path"]] for row in rows) / len(rows) >= 0.9, (other_path, rows[:10])
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
