"""The config: defaults, relative paths, flag overrides, one message per bad field, refused
architecture changes, and the shipped model_params.json."""

import dataclasses
import json

import pytest

from conftest import LOWER_ALNUM, assert_clean_error, run_module, write_config
from tf_crnn.config import (ConfigError, check_same_architecture, load_config, read_resolved,
                            write_resolved)


@pytest.fixture
def alphabet_file(tmp_path):
    path = tmp_path / "alphabet.txt"
    path.write_text("".join(c + "\n" for c in LOWER_ALNUM), encoding="utf-8")
    return path


def test_defaults_and_relative_paths(tmp_path, alphabet_file):
    path = write_config(tmp_path / "p.json", alphabet_file="alphabet.txt", train_files="shards/*.tfrecord")
    config = load_config(path)
    assert config.alphabet_file == str(alphabet_file)
    assert config.train_files == [str(tmp_path / "shards" / "*.tfrecord")]
    assert config.alphabet == list(LOWER_ALNUM)
    assert config.conv_channels == [64, 128, 256, 256, 512, 512, 512]


def test_flag_overrides_win(tmp_path, alphabet_file):
    path = write_config(tmp_path / "p.json", alphabet_file="alphabet.txt", batch_size=8)
    config = load_config(path, {"batch_size": 32, "learning_rate": None, "model_dir": "elsewhere"})
    assert config.batch_size == 32
    assert config.learning_rate == 1e-3
    assert config.model_dir == "elsewhere"


@pytest.mark.parametrize("fields, message", [
    ({"batch_sise": 3}, "unknown field 'batch_sise'"),
    ({"batch_size": "64"}, "field 'batch_size' must be a whole number"),
    ({"batch_size": True}, "field 'batch_size' must be a whole number"),
    ({"learning_rate": "fast"}, "field 'learning_rate' must be a number"),
    ({"conv_channels": [1, 2]}, "field 'conv_channels' must list 7"),
    ({"optimizer": "rmsprop"}, "field 'optimizer' must be one of"),
    ({"augmentation": {"blur": 1}}, "unknown field 'blur'"),
    ({"alphabet_file": "missing.txt"}, "field 'alphabet_file': file not found"),
    ({"image_height": 30}, "field 'image_height' must be a multiple of 16"),
    ({"top_paths": -1}, "field 'top_paths' must be in [0, beam_width=10]"),
    ({"top_paths": 11}, "field 'top_paths' must be in [0, beam_width=10]"),
    ({"batch_norm_momentum": 1.0}, "field 'batch_norm_momentum' must be in (0, 1"),
    ({"learning_rate": float("nan")}, "field 'learning_rate' must be a finite number, got nan"),
    ({"augmentation": {"contrast": float("inf")}}, "field 'contrast' must be a finite number, got inf"),
    ({"distribute": "horovod"}, "field 'distribute' must be one of none, mirrored, parameter_server"),
    ({"distribute": "multi_worker_mirrored"}, "field 'distribute': 'multi_worker_mirrored' does not train through "
                                              "the Estimator here"),
    ({"devices": ["/gpu:0"]}, "field 'devices' is for distribute 'mirrored'"),
    ({"precision": "float16"}, "field 'precision' must be one of auto, float32, mixed_bfloat16, mixed_float16"),
    ({"augmentation": {"low_resolution_probability": 1.5}}, "field 'augmentation.low_resolution_probability' must be in [0, 1]"),
    ({"backbone": "resnet"}, "field 'backbone' must be one of vgg, mobilenet_v3, got 'resnet'"),
    ({"backbone": "mobilenet_v3", "width_multiplier": 5}, "field 'width_multiplier' must be in [0.1, 4], got 5"),
])
def test_bad_fields_are_named(tmp_path, alphabet_file, fields, message):
    path = write_config(tmp_path / "p.json", **{"alphabet_file": "alphabet.txt", **fields})
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config(path)


def test_only_the_chosen_backbones_fields_are_checked(tmp_path, alphabet_file):
    """A config checks the fields its backbone reads (tf_crnn/backbone_table.py): a
    mobilenet_v3 config written before the table, with vgg's 7 conv_channels, still loads,
    and so does one whose conv_channels mean nothing to it."""
    old = load_config(write_config(tmp_path / "old.json", alphabet_file="alphabet.txt", backbone="mobilenet_v3",
                                   width_multiplier=0.5, conv_channels=[64, 128, 256, 256, 512, 512, 512]))
    assert old.conv_channels == [64, 128, 256, 256, 512, 512, 512] and old.width_multiplier == 0.5
    unused = load_config(write_config(tmp_path / "p.json", alphabet_file="alphabet.txt", backbone="mobilenet_v3",
                                      conv_channels=[16]))
    assert unused.backbone == "mobilenet_v3"


def test_every_backbone_field_fixes_the_architecture():
    from tf_crnn.backbone_table import BACKBONES
    from tf_crnn.config import ARCHITECTURE_FIELDS, Config

    for backbone in BACKBONES.values():
        assert set(backbone.fields) <= set(ARCHITECTURE_FIELDS) <= {f.name for f in dataclasses.fields(Config)}


def test_an_export_records_its_backbone_and_the_fields_it_reads():
    from tf_crnn.config import Config
    from tf_crnn.model_files import export_metadata

    vgg = export_metadata(Config(conv_channels=[8, 16, 16, 32, 32, 32, 32]))
    assert vgg["backbone"] == "vgg" and vgg["conv_channels"] == [8, 16, 16, 32, 32, 32, 32]
    mobilenet = export_metadata(Config(backbone="mobilenet_v3", width_multiplier=0.5))
    assert mobilenet["backbone"] == "mobilenet_v3" and mobilenet["width_multiplier"] == 0.5
    assert "width_multiplier" not in vgg and "conv_channels" not in mobilenet


def test_no_alternative_readings_is_a_valid_choice(tmp_path, alphabet_file):
    assert load_config(write_config(tmp_path / "p.json", alphabet_file="alphabet.txt", top_paths=0)).top_paths == 0


def test_bad_json_names_line(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{\n "batch_size": 3,\n}\n')
    with pytest.raises(ConfigError, match="not valid JSON.*line 3"):
        load_config(str(path))


def test_missing_config_file():
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("/nonexistent/params.json")


def test_architecture_change_is_refused(tmp_path, alphabet_file):
    config = load_config(write_config(tmp_path / "p.json", alphabet_file="alphabet.txt"))
    write_resolved(config, str(tmp_path / "model"))
    assert read_resolved(str(tmp_path / "model")).architecture() == config.architecture()
    check_same_architecture(config, str(tmp_path / "model"))  # same network: fine
    config.lstm_units = [128, 128]
    check_same_architecture(config, str(tmp_path / "model"))  # no checkpoint yet: a config.json alone binds nothing
    (tmp_path / "model" / "model.ckpt-10.index").write_bytes(b"")
    with pytest.raises(ConfigError, match="different architecture.*lstm_units"):
        check_same_architecture(config, str(tmp_path / "model"))


def test_train_cli_reports_config_errors_without_traceback(tmp_path, alphabet_file):
    missing = run_module("tf_crnn.train", tmp_path / "absent.json")
    assert_clean_error(missing, "config file not found")
    bad = write_config(tmp_path / "p.json", alphabet_file="alphabet.txt", dropuot=0.1)
    assert_clean_error(run_module("tf_crnn.train", bad), "unknown field 'dropuot'")
    no_data = write_config(tmp_path / "q.json", alphabet_file="alphabet.txt", train_files=["nothing/*.tfrecord"])
    assert_clean_error(run_module("tf_crnn.train", no_data), "field 'train_files': no file matches")
    # Named as the converters name shards: the commands that write them (the card's own command).
    no_shards = write_config(tmp_path / "r.json", alphabet_file="alphabet.txt",
                             train_files=["data/synth/synth-train-*.tfrecord"])
    assert_clean_error(run_module("tf_crnn.train", no_shards), "no file matches",
                       f"python -m tf_crnn.synth.generate --output_dir {tmp_path / 'data' / 'synth'} --prefix synth",
                       "python -m tf_crnn.data.convert")


def test_shipped_model_params_is_valid(tmp_path):
    from conftest import REPO
    import os

    config = load_config(os.path.join(REPO, "model_params.json"))
    assert config.alphabet == list(LOWER_ALNUM)
    with open(os.path.join(REPO, "model_params.json")) as handle:
        assert set(json.load(handle)) <= set(config.to_dict())
