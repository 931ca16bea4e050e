"""`distribute: mirrored` on a CPU split into two logical devices (`devices` naming /cpu:0
and /cpu:1): one step equals one device's step on the same global batch, a tiny model
learns, evaluates, exports and resumes, and bad settings get one line each."""

import glob
import json
import re

import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY_STEPS, assert_clean_error, run_module, tiny_model_fields, write_config

TWO_CPUS = {"distribute": "mirrored", "devices": ["/cpu:0", "/cpu:1"]}


def _weights(model_dir):
    reader = tf.train.load_checkpoint(str(model_dir))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name.startswith("crnn/") and not name.endswith(("/Momentum", "/Adam", "/Adam_1"))}


def test_one_mirrored_step_is_the_step_of_one_device_on_the_same_global_batch(trained_tiny, tmp_path):
    """From the same weights and the same 16 examples (8 on each replica), plain SGD: the
    weights move alike. Were each replica's loss not divided by the replica count, the
    summed gradient would be twice the batch's and every change twice as large.

    The conv stack is frozen (`freeze`; its batch norms in inference mode), as each replica
    normalises with the statistics of its own examples (docs/training.md). So the test also
    shows what `freeze` keeps: every conv and batch-norm variable, the moving statistics
    too, while every LSTM and output variable moves."""
    root, _ = trained_tiny
    start = _weights(root / "model")
    changes = {}
    for name, extra in (("one_device", {}), ("mirrored", TWO_CPUS)):
        fields = tiny_model_fields(root, model_dir=str(tmp_path / name), init_from=str(root / "model"),
                                   optimizer="sgd", momentum=0.0, learning_rate=0.5, gradient_clip_norm=0.0,
                                   freeze=["conv"], train_steps=1, save_checkpoints_steps=1, eval_steps=1,
                                   min_image_width=64, max_image_width=64, **extra)
        run_module("tf_crnn.train", write_config(tmp_path / f"{name}.json", **fields), check=True)
        changes[name] = {key: value - start[key] for key, value in _weights(tmp_path / name).items()}
    one, mirrored = changes["one_device"], changes["mirrored"]
    trained = [key for key in one if np.abs(one[key]).max() > 0]
    frozen = [key for key in one if key.startswith(("crnn/conv", "crnn/bn"))]
    assert any("moving_" in key for key in frozen) and not set(frozen) & set(trained), trained
    assert set(trained) == {key for key in one if key.startswith(("crnn/blstm", "crnn/logits", "crnn/projection"))}
    for key in trained:
        scale = np.abs(one[key]).max()
        assert np.abs(mirrored[key] - one[key]).max() <= 1e-3 * scale, (key, scale)


def test_a_tiny_model_trained_mirrored_reads_evaluates_exports_and_resumes(tiny_shards, tmp_path):
    fields = tiny_model_fields(tiny_shards, model_dir=str(tmp_path / "model"), train_steps=TINY_STEPS,
                               save_checkpoints_steps=TINY_STEPS, learning_rate_schedule="cosine",
                               decay_steps=TINY_STEPS, decay_rate=0.05, **TWO_CPUS)
    result = run_module("tf_crnn.train", write_config(tmp_path / "p.json", **fields), check=True, timeout=900)
    assert "distribute: mirrored over 2 devices" in result.stdout and "8 of each batch of 16" in result.stdout
    accuracy = re.search(rf"evaluation at step {TINY_STEPS}: word accuracy ([0-9.]+)%", result.stdout)
    assert accuracy and float(accuracy[1]) >= 90, result.stdout  # the held-out renders
    assert glob.glob(str(tmp_path / "model" / "export" / "latest" / "*" / "saved_model.pb"))
    # The same command with more steps resumes the mirrored run from its checkpoint.
    fields["train_steps"] = TINY_STEPS + 10
    result = run_module("tf_crnn.train", write_config(tmp_path / "p.json", **fields), check=True)
    assert f"step {TINY_STEPS + 10:,}" in result.stdout and "word accuracy" in result.stdout, result.stdout
    assert tf.train.latest_checkpoint(str(tmp_path / "model")).endswith(f"model.ckpt-{TINY_STEPS + 10}")


@pytest.mark.parametrize("extra, env, fragments", [
    ({"distribute": "mirrored", "devices": ["/gpu:3"]}, {},
     ["field 'devices': /gpu:3 is not a device of this machine", "CPU:0"]),
    ({"distribute": "mirrored", "devices": ["/cpu:0", "/cpu:1", "/cpu:2"], "batch_size": 16}, {},
     ["field 'batch_size': 16 is the global batch", "3 devices"]),
    ({"distribute": "parameter_server"}, {}, ["'parameter_server' needs TF_CONFIG"]),
    ({"distribute": "mirrored", "devices": ["/cpu:0"]},
     {"TF_CONFIG": json.dumps({"cluster": {"master": ["127.0.0.1:1"]}, "task": {"type": "master", "index": 0}})},
     ["'mirrored' trains the devices of one process, and TF_CONFIG names a cluster"]),
])
def test_distribute_settings_that_cannot_run_are_one_line(tiny_shards, tmp_path, extra, env, fragments):
    fields = tiny_model_fields(tiny_shards, model_dir=str(tmp_path / "model"), train_steps=1, **extra)
    result = run_module("tf_crnn.train", write_config(tmp_path / "p.json", **fields), env=env)
    assert_clean_error(result, *fragments)
    assert not glob.glob(str(tmp_path / "model" / "*")), "a refused run wrote into the model dir"


@pytest.mark.parametrize("capabilities, expected", [([(8, 0)], "mixed_float16"), ([(7, 0), (9, 0)], "mixed_float16"),
                                                    ([(6, 1)], "float32"), ([(8, 0), (6, 1)], "float32")])
def test_auto_precision_picks_float16_on_gpus_with_tensor_cores(capabilities, expected):
    from tf_crnn.precision import resolve_precision

    assert resolve_precision("auto", capabilities=capabilities) == expected
    assert resolve_precision("float32", capabilities=capabilities) == "float32"


def test_mixed_float16_training_graph_scales_the_loss_and_computes_in_float16(tiny_shards):
    """Graph construction on a CPU: the layers compute in float16, the logits and the loss
    in float32, and the step goes through a dynamic loss scale that skips overflowing steps."""
    from tf_crnn.config import load_config
    from tf_crnn.model.model_fn import model_fn

    config = load_config(write_config(tiny_shards / "fp16.json", **tiny_model_fields(tiny_shards,
                                                                                      precision="mixed_float16")))
    placeholder = tf.compat.v1.placeholder
    with tf.Graph().as_default() as graph:
        features = {"images": placeholder(tf.float32, [None, 32, None, 1]), "widths": placeholder(tf.int32, [None])}
        labels = {"ids": placeholder(tf.int32, [None, None]), "lengths": placeholder(tf.int32, [None])}
        spec = model_fn(features, labels, tf.estimator.ModeKeys.TRAIN, {"config": config})
    ops = graph.get_operations()
    convolutions = [op for op in ops if op.type == "Conv2D"]
    assert convolutions and all(op.get_attr("T") == tf.float16 for op in convolutions)
    assert spec.loss.dtype == tf.float32
    assert any("current_loss_scale" in v.name for v in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES))
    assert any(op.type == "IsFinite" for op in ops)  # the check that skips a step whose gradients overflowed


def test_gpu_check_without_a_gpu_says_so_in_one_line():
    import subprocess
    import sys

    from conftest import REPO

    result = subprocess.run([sys.executable, "scripts/gpu_check.py"], capture_output=True, text=True, cwd=REPO,
                            env={**__import__("os").environ, "CUDA_VISIBLE_DEVICES": "-1"})
    assert result.returncode == 2 and "error: no GPU visible" in result.stderr and "Traceback" not in result.stderr
