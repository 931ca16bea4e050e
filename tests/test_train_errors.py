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


def test_verbosity_takes_names_and_the_numbers_of_earlier_releases():
    import pytest

    from tf_crnn.cli.train import parse_args
    from tf_crnn.errors import ConfigError

    def loud(*flags):
        return parse_args(["p.json", *flags], "tf-crnn train").verbosity

    assert loud("--verbosity", "debug") and loud("--verbosity=info") and loud("-v", "1") and loud("--verbosity=0")
    assert not loud() and not loud("--verbosity", "warning") and not loud("--verbosity=-1")
    with pytest.raises(ConfigError, match="argument --verbosity/-v: debug, info, warning or error, not 'loud'"):
        parse_args(["p.json", "--verbosity", "loud"], "tf-crnn train")
    assert isinstance(parse_args(["p.json", "--train_steps", "5"], "x").train_steps, int)


def test_stop_at_reads_times_and_durations_and_refuses_the_rest():
    import datetime

    import pytest

    from tf_crnn.errors import ConfigError
    from tf_crnn.cli.train import parse_stop_at

    now = datetime.datetime(2026, 12, 7, 10, 30)
    assert parse_stop_at("90m", now) == datetime.datetime(2026, 12, 7, 12, 0)
    assert parse_stop_at("2h", now) == datetime.datetime(2026, 12, 7, 12, 30)
    assert parse_stop_at("11:15", now) == datetime.datetime(2026, 12, 7, 11, 15)
    assert parse_stop_at("09:00", now) == datetime.datetime(2026, 12, 8, 9, 0)  # the next 09:00
    assert parse_stop_at("2026-12-09T08:00", now) == datetime.datetime(2026, 12, 9, 8, 0)
    for bad, message in (("soon", "is not a time"), ("2026-12-01T08:00", "has already passed"), ("25:00", "not a time")):
        with pytest.raises(ConfigError, match=message):
            parse_stop_at(bad, now)


def test_the_stop_hook_asks_to_stop_once_the_time_has_come():
    import datetime

    from tf_crnn.model.stop import StopAtTime

    class Context:
        asked = False

        def request_stop(self):
            self.asked = True

    later, context = StopAtTime(datetime.datetime.now() + datetime.timedelta(hours=1)), Context()
    later.after_run(context, None)
    assert not context.asked and not later.stopped
    past = StopAtTime(datetime.datetime.now() - datetime.timedelta(seconds=1))
    past.after_run(context, None)
    assert context.asked and past.stopped


def test_a_bad_stop_at_is_named(tiny_shards, tmp_path):
    fields = tiny_model_fields(tiny_shards, model_dir=str(tmp_path / "model"))
    result = run_module("tf_crnn.train", write_config(tmp_path / "p.json", **fields), "--stop_at=tomorrow")
    assert_clean_error(result, "flag --stop_at: 'tomorrow' is not a time")


def test_a_model_dir_with_pattern_characters_is_refused_by_training_and_export(trained_tiny, tmp_path):
    """TensorFlow finds checkpoints by file-name pattern: in runs/[1] it never found its own."""
    import shutil

    root, _ = trained_tiny
    fields = tiny_model_fields(root, model_dir=str(tmp_path / "runs" / "[1]"))
    result = run_module("tf_crnn.train", write_config(tmp_path / "p.json", **fields))
    assert_clean_error(result, "field 'model_dir'", "[1] has '['", "file-name pattern")
    assert not os.path.exists(tmp_path / "runs")
    shutil.copytree(root / "model", tmp_path / "copy*")  # a model dir renamed by hand
    result = run_module("tf_crnn.export", tmp_path / "copy*", "--output_dir", tmp_path / "export")
    assert_clean_error(result, "the model dir", "copy* has '*'", "file-name pattern")
    assert not os.path.exists(tmp_path / "export")


def test_a_loss_that_stops_being_finite_ends_the_run_naming_the_step_and_exports_nothing(tiny_shards, tmp_path):
    fields = tiny_model_fields(tiny_shards, model_dir=str(tmp_path / "model"), learning_rate=1e6, train_steps=200,
                               save_checkpoints_steps=200)
    result = run_module("tf_crnn.train", write_config(tmp_path / "p.json", **fields))
    assert_clean_error(result, "the training loss became", "at step", "Lower learning_rate (now 1e+06)")
    assert not os.path.exists(tmp_path / "model" / "export")
