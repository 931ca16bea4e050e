"""The model-quality recipe: its config is valid, its table reads right, and the shipped
model is the recipe's network."""

import json
import os
import subprocess
import sys

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "scripts"))
import train_recipe  # noqa: E402

from tf_crnn.config import load_config  # noqa: E402
from tf_crnn.model_files import SHIPPED_MODEL, resolve_saved_model  # noqa: E402


def test_recipe_config_is_valid_and_fits_the_budget_plan():
    config = load_config(os.path.join(REPO, "scripts", "recipe_params.json"))
    assert config.train_steps == config.decay_steps  # the cosine schedule ends with training
    assert all(os.path.dirname(p).endswith(os.path.join("recipe_run", "data")) for p in config.train_files)
    assert config.model_dir == os.path.join(train_recipe.RUN_DIR, "model")


def test_small_recipe_shares_the_rendered_words_and_nothing_else(tmp_path):
    """scripts/recipe_params_small.json: the same words, its own model dir, and a network
    about half as wide; a missing --params file is one line before anything is rendered."""
    from conftest import assert_clean_error

    recipe = load_config(os.path.join(REPO, "scripts", "recipe_params.json"))
    small = load_config(os.path.join(REPO, "scripts", "recipe_params_small.json"))
    assert small.train_files == recipe.train_files and small.eval_files == recipe.eval_files
    assert small.model_dir == os.path.join(train_recipe.RUN_DIR, "small", "model")
    assert small.train_steps == small.decay_steps
    assert all(s < r for s, r in zip(small.conv_channels, recipe.conv_channels))
    result = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "train_recipe.py"), "--params",
                             str(tmp_path / "nothing.json")], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert_clean_error(result, "nothing.json", "no such file")
    assert "1/4 render" not in result.stdout + result.stderr


def test_benchmark_table_lists_our_decoders_then_the_references():
    results = [{"name": s, "decoder": d, "alnum_word_accuracy": a}
               for s, d, a in [("IIIT5K", "lexicon", 0.9), ("IIIT5K", "greedy", 0.7), ("SVT", "greedy", 0.6),
                               ("IC13", "beam", 0.8), ("IC13/labels_857", "greedy", 0.75), ("SVT", "lm", 0.65)]]
    lines = train_recipe.benchmark_table(results).splitlines()
    assert lines[2] == "| this recipe, greedy | 70.0% | 60.0% | – | 75.0% |"
    assert lines[3].startswith("| this recipe, beam (width 10) | – | – | 80.0% |")
    assert lines[4] == "| this recipe, beam + character language model | – | 65.0% | – | – |"
    assert lines[5].startswith("| this recipe, lexicon-based") and "90.0%" in lines[5]
    assert "Tesseract" in lines[6] and "73.9%" in lines[6]


def test_shipped_model_is_the_recipes_network():
    with open(os.path.join(resolve_saved_model(SHIPPED_MODEL), "assets.extra", "tf_crnn.json"), encoding="utf-8") as f:
        metadata = json.load(f)
    config = load_config(os.path.join(REPO, "scripts", "recipe_params.json"))
    for field in ("conv_channels", "lstm_units", "image_height", "max_image_width"):
        assert metadata[field] == getattr(config, field), field
    assert metadata["alphabet"] == config.alphabet
    size = sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(SHIPPED_MODEL) for name in names)
    assert size <= 25 * 2 ** 20


def test_shipped_model_reads_words_with_no_training(tmp_path):
    """`python -m tf_crnn.predict FOLDER` with no model reads with the shipped recognizer."""
    from conftest import render_text, run_module

    words = ["open", "coffee", "station", "market", "hotel", "2024", "street", "parking", "exit", "bakery"]
    for index, word in enumerate(words):
        render_text(word.upper() if index % 3 == 0 else word, size=26).save(tmp_path / f"{index:02d}.png")
    result = run_module("tf_crnn.predict", tmp_path, "--json", check=True)
    rows = json.loads(result.stdout)
    readings = [row["text"] for row in rows]
    assert sum(read == word for read, word in zip(readings, words)) >= 8, readings
    assert all("".join(c["char"] for c in row["chars"]) == row["text"] for row in rows)
    # The same model by name.
    named = run_module("tf_crnn.predict", "--model", "crnn_words", tmp_path, "--json", check=True)
    assert [row["text"] for row in json.loads(named.stdout)] == readings


def test_shipped_model_reads_with_the_language_model(tmp_path):
    """`--language_model english` reads through the lm beam search: the same words as the
    shipped model's own decoder where that one is sure, and a confidence per word."""
    from conftest import assert_clean_error, render_text, run_module

    words = ["open", "coffee", "station", "market", "hotel", "2024", "street", "parking", "exit", "bakery"]
    for index, word in enumerate(words):
        render_text(word.upper() if index % 3 == 0 else word, size=26).save(tmp_path / f"{index:02d}.png")
    result = run_module("tf_crnn.predict", tmp_path, "--json", "--language_model", "english", check=True)
    rows = json.loads(result.stdout)
    assert sum(row["text"] == word for row, word in zip(rows, words)) >= 8, rows
    assert all(0.0 < row["confidence"] <= 1.0 for row in rows)
    assert_clean_error(run_module("tf_crnn.predict", tmp_path, "--language_model", tmp_path / "words.txt"),
                       "words.txt", "not found")


def test_a_failed_stage_ends_in_one_line_naming_it_not_a_traceback():
    """The quickstart and the recipe run their stages as subprocesses; when one fails (bad
    config, a killed trainer) the user sees the stage and how to resume, not a
    CalledProcessError traceback."""
    code = ("import sys; sys.path.insert(0, 'scripts'); from quickstart import run; "
            "run([sys.executable, '-c', 'import sys; sys.exit(3)'])")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: stage `") and "exit status 3" in lines[0]
    assert "again to resume" in lines[0]


def test_distortion_check_reads_rendered_words_narrower_and_bent(tmp_path):
    """scripts/distortion_check.py, the rendered-only measure behind the renderer's levers:
    the shipped model reads most words as drawn, and fewer when squeezed or bent hard."""
    output = tmp_path / "distortion.json"
    result = subprocess.run([sys.executable, os.path.join("scripts", "distortion_check.py"), "--words", "40",
                             "--output", str(output)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(output.read_text())
    assert set(figures["squeezed_width"]) == {"1.0", "0.8", "0.65", "0.5"}
    assert set(figures["arc_bulge"]) == {"0.0", "0.5", "0.8", "1.2"}
    drawn = figures["squeezed_width"]["1.0"]
    assert drawn >= 0.75 and figures["arc_bulge"]["0.0"] == drawn
    assert figures["squeezed_width"]["0.5"] < drawn and figures["arc_bulge"]["1.2"] < drawn


def test_distortion_check_rejects_a_folder_without_a_model(tmp_path):
    result = subprocess.run([sys.executable, os.path.join("scripts", "distortion_check.py"), str(tmp_path),
                             "--output", str(tmp_path / "out.json")], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"no SavedModel in {tmp_path}" in result.stderr
    assert not (tmp_path / "out.json").exists()


def test_continued_training_mixes_real_crops_and_picks_checkpoints_on_them(tmp_path):
    """scripts/continue_training.py's config (issue 33): the shipped model's weights go on
    with rendered words and real crops, the real ones lower-cased with what the alphabet
    lacks stripped, and checkpoints are picked on the real validation crops; the cosine
    ends with the run's steps."""
    import continue_training

    config = load_config(continue_training.write_params(str(tmp_path), 1234))
    assert config.init_from == "crnn_words" and config.lowercase_labels
    assert [(s.name, s.weight, s.unknown_label_policy) for s in config.train_sources] == [
        ("rendered", 0.6, None), ("real", 0.4, "strip")]
    assert [s.name for s in config.eval_sources] == ["real_val", "rendered_val"]
    assert config.best_eval_source == "real_val" and config.eval_sources[0].unknown_label_policy == "strip"
    assert config.train_steps == config.decay_steps == 1234
    assert config.model_dir == str(tmp_path / "model")
    assert all(path.startswith(str(tmp_path)) for source in config.train_sources for path in source.files)


def test_continued_training_of_the_cased_model_keeps_the_labels_as_written(tmp_path):
    """`--model crnn_words_cased`: the case-sensitive model goes on from its own weights with
    its printable alphabet, mixed-case rendered words and the real labels as written."""
    import continue_training

    plan = continue_training.PLANS["crnn_words_cased"]
    config = load_config(continue_training.write_params(str(tmp_path), 800, plan=plan))
    assert config.init_from == "crnn_words_cased" and not config.lowercase_labels
    assert "A" in config.alphabet and "!" in config.alphabet
    rendered = config.train_sources[0].files[0]
    assert os.path.basename(rendered).startswith(f"{plan.render_prefix}-train-")
    assert plan.measure == "word_accuracy" and "IIIT5K/labels_cs_jyouhou.tsv" in plan.benchmark_sets


def test_continued_training_in_colour_keeps_the_grey_models_other_fields(tmp_path):
    """`--color`: the same network with three input channels, started from the grey weights
    (tf_crnn/model/warm_start.py spreads the first kernel); `--precision` reaches the config."""
    import continue_training

    config = load_config(continue_training.write_params(str(tmp_path), 900, channels=3, precision="float32"))
    grey = load_config(continue_training.write_params(str(tmp_path), 900))
    assert (config.channels, grey.channels) == (3, 1) and config.precision == "float32"
    assert config.conv_channels == grey.conv_channels and config.lstm_units == grey.lstm_units


def test_continued_training_stretches_narrow_crops_to_64_pixels_unless_told_otherwise(tmp_path):
    """The narrow-crops rule reaches the config, which the training input, the evaluation and
    the exports all read: the template stretches to 64 pixels, `--min_image_width` overrides
    it (8 gives the rule stages 1 to 6 were trained with)."""
    import continue_training

    assert load_config(continue_training.write_params(str(tmp_path), 900)).min_image_width == 64
    config = load_config(continue_training.write_params(str(tmp_path), 900, min_image_width=8))
    assert config.min_image_width == 8 and config.train_steps == 900


def test_continued_training_can_start_from_other_weights_than_the_shipped_ones(tmp_path):
    """`--init_from`: an arm of a comparison starts where its control started, even after a
    ship replaced the shipped model; the alphabet then comes from those weights."""
    import continue_training

    other = resolve_saved_model(os.path.join(REPO, "tf_crnn", "pretrained", "crnn_words_cased"))
    config = load_config(continue_training.write_params(str(tmp_path), 900, init_from=other))
    assert config.init_from == other and "A" in config.alphabet
    assert "A" not in load_config(continue_training.write_params(str(tmp_path), 900)).alphabet
    assert continue_training._absolute_if_a_path("crnn_words_cased") == "crnn_words_cased"
    assert continue_training._absolute_if_a_path(os.path.relpath(other)) == other
    prefix = os.path.join("runs", "arm", "model.ckpt-250")  # a checkpoint prefix: no file of that name
    assert continue_training._absolute_if_a_path(prefix) == os.path.abspath(prefix)


def test_continued_training_refuses_a_wrong_init_from_width_or_share_before_rendering(tmp_path):
    """A mistyped `--init_from`, a width under 1 or a midground share outside 0..1 is one
    line, before anything is rendered or written (the run dir is not even made)."""
    script = os.path.join(REPO, "scripts", "continue_training.py")
    for flags, message in ((["--init_from", str(tmp_path / "nope")], "field 'init_from': "),
                           (["--min_image_width", "0"], "--min_image_width must be at least 1, not 0"),
                           (["--midground", "2"], "--midground is a share of the words, from 0 to 1, not 2.0")):
        result = subprocess.run([sys.executable, script, "--run_dir", str(tmp_path / "run"), *flags],
                                capture_output=True, text=True)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert message in result.stderr
        assert not (tmp_path / "run").exists()
