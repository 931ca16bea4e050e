"""Warm start (`init_from`): a new model dir begins from a trained model's weights. (What
`freeze` keeps is checked by test_distribute.py's one-step test, which freezes the conv stack.)"""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import ImageOps

from conftest import (LOWER_ALNUM, REPO, TINY_WORDS, assert_clean_error, kill_9_once_saved, render_text,
                      run_module, tiny_model_fields, write_config)
from tf_crnn.config import ConfigError, load_config

NETWORK_FIELDS = ("conv_channels", "lstm_units")


def warm_fields(trained_tiny, model_dir, **overrides):
    """The tiny config without its network fields (they come from init_from), into `model_dir`."""
    root, _ = trained_tiny
    fields = tiny_model_fields(root, model_dir=str(model_dir), init_from=str(root / "model"), **overrides)
    for name in NETWORK_FIELDS:
        if name not in overrides:
            fields.pop(name)
    return fields


def read_with_checkpoint(model_dir, checkpoint, words, tmp_path, colours=None):
    """Exports `checkpoint` of `model_dir` and reads rendered `words` with it (dark ink on
    light paper, or `colours` (ink, paper) as RGB triples)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, word in enumerate(words):
        path = tmp_path / f"w{index:02d}.png"
        image = render_text(word)
        (ImageOps.colorize(image, *colours) if colours else image).save(path)
        paths.append(str(path))
    out = tmp_path / f"export-{os.path.basename(checkpoint)}"
    result = run_module("tf_crnn.export", model_dir, "--output_dir", out, "--checkpoint", checkpoint, check=True)
    saved = result.stdout.strip().splitlines()[-1]
    rows = json.loads(run_module("tf_crnn.predict", saved, *paths, "--json", check=True).stdout)
    return [row["text"] for row in rows]


def test_architecture_comes_from_init_from_when_the_config_leaves_it_out(trained_tiny, tmp_path):
    config = load_config(write_config(tmp_path / "p.json", **warm_fields(trained_tiny, tmp_path / "m")))
    assert config.conv_channels == [16, 32, 48, 48, 64, 64, 64] and config.lstm_units == [64]
    shipped = load_config(write_config(tmp_path / "s.json", **dict(warm_fields(trained_tiny, tmp_path / "m"),
                                                                     init_from="crnn_words")))
    assert shipped.conv_channels == [64, 128, 192, 192, 256, 256, 256] and shipped.init_from == "crnn_words"
    # Without an alphabet file, the alphabet is the source's too.
    fields = warm_fields(trained_tiny, tmp_path / "m")
    fields.pop("alphabet_file")
    assert load_config(write_config(tmp_path / "a.json", **fields)).alphabet == list(LOWER_ALNUM)


def test_warm_start_reads_the_words_before_the_first_step(trained_tiny, tmp_path):
    model_dir = tmp_path / "warm"
    fields = warm_fields(trained_tiny, model_dir, train_steps=1, save_checkpoints_steps=1)
    result = run_module("tf_crnn.train", write_config(tmp_path / "p.json", **fields), check=True)
    assert "warm start from" in result.stdout and "36 units carried over" in result.stdout, result.stdout
    readings = read_with_checkpoint(model_dir, str(model_dir / "model.ckpt-0"), TINY_WORDS, tmp_path)
    assert sum(r == w for r, w in zip(readings, TINY_WORDS)) >= 9, readings
    # The optimizer and the step start fresh: the first checkpoint is step 0, and no Adam slot came over.
    reader = tf.train.load_checkpoint(str(model_dir / "model.ckpt-0"))
    slot = reader.get_tensor("crnn/logits/kernel/Adam")
    assert reader.get_tensor("global_step") == 0 and not slot.any()


def test_a_grey_model_starts_a_colour_one_reading_coloured_words_before_the_first_step(trained_tiny, tmp_path):
    """channels 3 from a grey source: the kernels that read the image are spread over red,
    green and blue by their luminance weights, so coloured words read at step 0 as the grey
    model reads them."""
    from tf_crnn.model.warm_start import LUMINANCE_WEIGHTS

    root, _ = trained_tiny
    model_dir = tmp_path / "colour"
    fields = warm_fields(trained_tiny, model_dir, channels=3, train_steps=1, save_checkpoints_steps=1)
    result = run_module("tf_crnn.train", write_config(tmp_path / "p.json", **fields), check=True)
    assert "grey to colour: crnn/conv1/kernel spread" in result.stdout, result.stdout
    colour, grey = tf.train.load_checkpoint(str(model_dir / "model.ckpt-0")), tf.train.load_checkpoint(str(root / "model"))
    spread = grey.get_tensor("crnn/conv1/kernel") * np.reshape(LUMINANCE_WEIGHTS, (1, 1, 3, 1))
    np.testing.assert_allclose(colour.get_tensor("crnn/conv1/kernel"), spread, rtol=1e-6)
    # Dark blue ink on cream paper: the colour network reads what the grey one reads of them.
    readings = read_with_checkpoint(model_dir, str(model_dir / "model.ckpt-0"), TINY_WORDS, tmp_path / "c",
                                    colours=((30, 30, 150), (255, 245, 190)))
    images = sorted(str(path) for path in (tmp_path / "c").glob("w*.png"))
    grey_rows = json.loads(run_module("tf_crnn.predict", root / "model" / "export" / "latest", *images, "--json",
                                      check=True).stdout)
    assert sum(r == w for r, w in zip(readings, TINY_WORDS)) >= 9, readings
    assert sum(r == row["text"] for r, row in zip(readings, grey_rows)) >= 9, (readings, grey_rows)
    # Colour to grey is not a spread: it is refused before training, naming the layer.
    from tf_crnn.training import warm_start_plan

    back = dict(warm_fields(trained_tiny, tmp_path / "back"), init_from=str(model_dir), channels=1)
    with pytest.raises(ConfigError, match="field 'init_from': layer crnn/conv1 does not match") as refused:
        warm_start_plan(load_config(write_config(tmp_path / "back.json", **back)))
    assert "channels" in str(refused.value)


def test_a_changed_alphabet_keeps_the_readings_of_shared_units(trained_tiny, tmp_path):
    """Digits and a-t kept, u-z dropped, upper-case A-D added: words of kept units read as before."""
    root, _ = trained_tiny
    units = list("0123456789abcdefghijklmnopqrst") + list("ABCD")
    alphabet = tmp_path / "new_alphabet.txt"
    alphabet.write_text("".join(u + "\n" for u in reversed(units)), encoding="utf-8")  # other order: matched by text
    model_dir = tmp_path / "warm"
    fields = warm_fields(trained_tiny, model_dir, train_steps=1, save_checkpoints_steps=1)
    # "sun", "7up" and "zoo" have units the new alphabet lacks: 3 of the 10 tiny words are skipped.
    fields.update(alphabet_file=str(alphabet), unknown_label_policy="skip", max_skipped_label_share=0.5)
    result = run_module("tf_crnn.train", write_config(tmp_path / "p.json", **fields), check=True)
    assert "30 units carried over" in result.stdout and "4 new ('D' 'C' 'B' 'A')" in result.stdout, result.stdout
    shared_words = ["cat", "dog", "tree", "fish", "bird", "42", "moon"]
    readings = read_with_checkpoint(model_dir, str(model_dir / "model.ckpt-0"), shared_words, tmp_path)
    assert sum(r == w for r, w in zip(readings, shared_words)) >= 6, readings
    new, old = tf.train.load_checkpoint(str(model_dir / "model.ckpt-0")), tf.train.load_checkpoint(str(root / "model"))
    old_index, new_index = {u: i for i, u in enumerate(LOWER_ALNUM)}, {u: i for i, u in enumerate(reversed(units))}
    for unit in "0st":
        np.testing.assert_array_equal(new.get_tensor("crnn/logits/kernel")[:, new_index[unit]],
                                      old.get_tensor("crnn/logits/kernel")[:, old_index[unit]])
    np.testing.assert_array_equal(new.get_tensor("crnn/logits/bias")[-1], old.get_tensor("crnn/logits/bias")[-1])


def test_unknown_source_shape_mismatch_and_foreign_saved_model_are_one_line_each(trained_tiny, tmp_path):
    fields = warm_fields(trained_tiny, tmp_path / "m", train_steps=1)
    missing = write_config(tmp_path / "missing.json", **dict(fields, init_from=str(tmp_path / "nowhere")))
    assert_clean_error(run_module("tf_crnn.train", missing), "field 'init_from'", "nowhere", "crnn_words")
    other = write_config(tmp_path / "other.json", **dict(fields, conv_channels=[16, 32, 48, 48, 64, 64, 96]))
    assert_clean_error(run_module("tf_crnn.train", other), "field 'init_from': layer crnn/conv7", "does not match")
    assert not os.path.exists(tmp_path / "m" / "checkpoint")
    assert not os.path.exists(tmp_path / "m" / "config.json")  # a refused run leaves nothing that binds the next

    class Plain(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def double(self, x):
            return 2 * x

    tf.saved_model.save(Plain(), str(tmp_path / "foreign"))
    foreign = write_config(tmp_path / "foreign.json", **dict(fields, init_from=str(tmp_path / "foreign")))
    assert_clean_error(run_module("tf_crnn.train", foreign), "not a tf_crnn export")
    with pytest.raises(ConfigError, match="field 'freeze': unknown part"):
        load_config(write_config(tmp_path / "f.json", **dict(fields, freeze=["lstm"])))
    with pytest.raises(ConfigError, match="leaves nothing to train"):
        load_config(write_config(tmp_path / "g.json", **dict(fields, freeze=["conv", "rnn", "classifier"])))
    # After all those refusals, the corrected config trains in the same model dir.
    run_module("tf_crnn.train", write_config(tmp_path / "fixed.json", **fields), check=True)


def _checkpoint_of_network(fields, path):
    """A step-1 checkpoint of the network `fields` describe, its weights as initialised
    (built in this process: no training needed to have another network's shapes)."""
    from tf_crnn.model.model_fn import model_fn

    config = load_config(write_config(path.with_suffix(".json"), **fields))
    with tf.Graph().as_default():
        tf.compat.v1.train.create_global_step()
        features = {"images": tf.compat.v1.placeholder(tf.float32, [None, 32, None, 1]),
                    "widths": tf.compat.v1.placeholder(tf.int32, [None])}
        model_fn(features, None, tf.estimator.ModeKeys.PREDICT, {"config": config})
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return tf.compat.v1.train.Saver().save(session, str(path / "model.ckpt"), global_step=1)


def test_export_refuses_a_checkpoint_of_another_network_naming_its_first_variable(trained_tiny, tmp_path):
    """Restoring resource variables checks no shapes: without the check, the export of a
    wider network's checkpoint was written, and failed every call with a Reshape error."""
    root, _ = trained_tiny
    wider = tiny_model_fields(root, model_dir=str(tmp_path / "wider"), conv_channels=[16, 32, 48, 48, 64, 64, 96])
    checkpoint = _checkpoint_of_network(wider, tmp_path / "wider")
    result = run_module("tf_crnn.export", root / "model", "--checkpoint", checkpoint,
                        "--output_dir", tmp_path / "export")
    assert_clean_error(result, "model.ckpt-1: crnn/conv7",
                       "has shape [2, 2, 64, 96], the network wants [2, 2, 64, 64]")
    assert not os.path.exists(tmp_path / "export")


def test_kill_9_after_a_checkpoint_resumes_from_the_model_dir_not_init_from(trained_tiny, tmp_path):
    model_dir = tmp_path / "warm"
    fields = warm_fields(trained_tiny, model_dir, train_steps=100000, save_checkpoints_steps=20, eval_steps=1)
    config = write_config(tmp_path / "p.json", **fields)
    # --verbosity debug: TensorFlow's own log says which checkpoint it restored, at which step.
    command = [sys.executable, "-m", "tf_crnn.train", config, "--verbosity", "debug"]
    env = dict(os.environ, PYTHONPATH=REPO)
    kill_9_once_saved(command, model_dir / "model.ckpt-20.index", tmp_path / "first.log")
    killed_at = tf.train.latest_checkpoint(str(model_dir))
    killed_step = int(killed_at.rsplit("-", 1)[1])
    fields["train_steps"] = killed_step + 10
    write_config(tmp_path / "p.json", **fields)
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "not used" in result.stdout and "training resumes from it" in result.stdout, result.stdout
    assert "warm start from" not in result.stdout and "warm-started" not in result.stderr
    assert f"Restoring parameters from {killed_at}" in result.stderr
    assert int(re.search(r"loss = [0-9.e+-]+, step = (\d+)", result.stderr).group(1)) == killed_step
