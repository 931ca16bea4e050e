"""Bad training input stops before any work, with one message naming the shard and image."""

import os

from conftest import assert_clean_error, run_module, tiny_model_fields, write_config


def test_unknown_characters_name_shard_and_image(tiny_shards, tmp_path):
    alphabet = tmp_path / "letters.txt"
    alphabet.write_text("".join(c + "\n" for c in "abcdefghijklmnopqrstuvwxyz"), encoding="utf-8")  # no digits
    fields = tiny_model_fields(tiny_shards, model_dir=str(tmp_path / "model"), alphabet_file=str(alphabet))
    result = run_module("tf_crnn.train", write_config(tmp_path / "p.json", **fields))
    assert_clean_error(result, "have characters outside the alphabet", "tiny-", ".tfrecord", "img", "'42'")
    assert not os.path.exists(tmp_path / "model" / "checkpoint")


def test_bad_flag_value_is_named(tiny_shards, tmp_path):
    fields = tiny_model_fields(tiny_shards, model_dir=str(tmp_path / "model"))
    result = run_module("tf_crnn.train", write_config(tmp_path / "p.json", **fields), "--batch_size=0")
    assert_clean_error(result, "field 'batch_size' must be greater than 0")


def test_verbosity_debug_is_absl_info_level():
    from tf_crnn.train import named_verbosity

    assert named_verbosity(["train", "p.json", "--verbosity", "debug"]) == ["train", "p.json", "--verbosity=0"]
    assert named_verbosity(["train", "--verbosity=info", "p.json"]) == ["train", "--verbosity=0", "p.json"]
    assert named_verbosity(["train", "-v", "1", "p.json"]) == ["train", "-v", "1", "p.json"]
