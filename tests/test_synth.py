"""Tests of the synthetic word source: fonts, words, renderer and the shard generator."""

import io
import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from tf_crnn.cli.generate import main
from tf_crnn.data.schema import read_examples
from tf_crnn.errors import ConfigError, DataError
from tf_crnn.synth.fonts import covers, find_fonts, survey_fonts
from tf_crnn.synth.generate import generate, read_charset
from tf_crnn.synth.render import render_word
from tf_crnn.synth.words import WordSampler, dictionary_words, read_word_list

LOWER = "0123456789abcdefghijklmnopqrstuvwxyz"
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # fonts-dejavu-core: Latin, Greek, Cyrillic
CYRILLIC_GREEK = ["мир", "дом", "лес", "кот", "φως", "νερό", "γη", "ζωή"]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def fonts():
    return find_fonts()


def test_find_fonts_keeps_text_fonts_and_drops_symbol_fonts(fonts):
    names = {os.path.basename(path) for path in fonts}
    assert fonts == sorted(fonts)
    assert any(name.startswith("DejaVuSans") for name in names)
    assert not names & {"D050000L.otf", "StandardSymbolsPS.otf"}


def test_font_probes_are_kept_between_runs_and_redone_for_a_changed_font(tmp_path, monkeypatch):
    """Probing 700 fonts took 30 s at every start of the renderer; a second process now
    reads the answers from the cache folder, and a font file that changed is probed again."""
    import shutil

    from tf_crnn.synth import fonts as fonts_module

    dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if not os.path.isfile(dejavu):
        pytest.skip("needs fonts-dejavu-core")
    font = tmp_path / "fonts" / "Face.ttf"
    font.parent.mkdir()
    shutil.copy(dejavu, font)
    monkeypatch.setenv("TF_CRNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fonts_module, "_probe_store", None)
    fonts_module._has_glyph.cache_clear()
    fonts_module._cache.clear()
    assert fonts_module.survey_fonts("abcж", [str(font)]).usable == (str(font),)
    assert (tmp_path / "cache" / fonts_module._Probes.FILE).is_file()

    def no_probe(*args):
        raise AssertionError("probed again")

    # A new process: the answers come from the cache, no glyph is drawn.
    monkeypatch.setattr(fonts_module, "_probe_store", None)
    fonts_module._has_glyph.cache_clear()
    monkeypatch.setattr(fonts_module, "_draws_glyph", no_probe)
    monkeypatch.setattr(fonts_module, "_draws_latin_text", no_probe)
    assert fonts_module.survey_fonts("abcж", [str(font)]).usable == (str(font),)
    # The font file changes (another font under the same name): probed again.
    os.utime(font, ns=(1, 1))
    monkeypatch.setattr(fonts_module, "_probe_store", None)
    fonts_module._has_glyph.cache_clear()
    with pytest.raises(AssertionError, match="probed again"):
        fonts_module.survey_fonts("abcж", [str(font)])


def test_find_fonts_without_fonts_says_how_to_install(tmp_path):
    with pytest.raises(DataError, match="install_fonts.sh"):
        find_fonts([str(tmp_path)])


@pytest.mark.parametrize(
    "charset, case",
    [(LOWER, "lower"), (LOWER + "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "mixed"), ("0123456789", "lower"), ("abcé-'", "lower")],
)
def test_words_use_only_the_charset(charset, case):
    sampler = WordSampler(charset, np.random.default_rng(0), min_len=2, max_len=12, case=case)
    labels = [sampler.sample() for _ in range(2000)]
    assert all(set(label) <= set(charset) and 2 <= len(label) <= 12 for label in labels)
    assert set("".join(labels)) == set(charset)


def test_mixed_case_labels_have_both_cases():
    sampler = WordSampler(LOWER + LOWER.upper(), np.random.default_rng(0), case="mixed")
    labels = [sampler.sample() for _ in range(300)]
    assert any(label.islower() for label in labels) and any(label.isupper() for label in labels)


def test_common_words_recur_and_inflected_forms_occur():
    # Drawn uniformly by length from 337k words, these five would together turn up about
    # once in 10,000 labels; half the words follow web frequencies, so they recur.
    sampler = WordSampler("abcdefghijklmnopqrstuvwxyz", np.random.default_rng(0), digit_fraction=0, random_fraction=0)
    labels = Counter(sampler.sample() for _ in range(10000))
    assert sum(labels[word] for word in ("the", "and", "with", "this", "you")) >= 10
    # Plurals and inflected forms that web2 lacks ("gifts", "opened") are drawn too.
    web2 = set(dictionary_words())
    assert sum(n for word, n in labels.items() if word not in web2) >= 1000


def test_caseless_charset_draws_words_in_any_case():
    sampler = WordSampler(LOWER, np.random.default_rng(0))
    shown = [sampler.display_form("word") for _ in range(100)]
    assert {"word", "WORD", "Word"} <= set(shown)


def test_marks_outside_the_charset_are_drawn_beside_words_but_never_labelled():
    sampler = WordSampler(LOWER, np.random.default_rng(0))
    shown = [sampler.display_form("word") for _ in range(1000)]
    marked = [text for text in shown if text.lower() != "word"]
    assert 40 <= len(marked) <= 200
    assert all(text.lower().strip(".,!?:'\")(#") == "word" for text in marked)
    assert any(text.endswith("!") for text in marked) and any(text.startswith('"') for text in marked)
    numbers = [sampler.display_form("599") for _ in range(1000)]
    assert {"$599", "€599", "£599", "599%"} <= set(numbers)
    assert 200 <= sum(text != "599" for text in numbers) <= 450
    # A charset that has the marks labels them when they occur: none is drawn unlabelled.
    with_marks = WordSampler(LOWER + ".,!?:'\")(#$€£%", np.random.default_rng(0))
    assert all(with_marks.display_form("word").lower() == "word" for _ in range(500))
    assert all(with_marks.display_form("599") == "599" for _ in range(500))


def test_draws_are_those_of_generator_choice_so_a_seed_keeps_its_labels():
    """The sampler draws from cumulative sums built once; each draw must be the index
    Generator.choice(n, p=p) gives for the same seed, from the same one uniform number."""
    from tf_crnn.synth.words import _cdf, _draw

    for p in ([0.85, 0.1, 0.05], [0.4, 0.3, 0.25, 0.05], [0.45, 0.2, 0.35, 0.0], np.arange(1, 19) / 171.0):
        ours, numpys = np.random.default_rng(3), np.random.default_rng(3)
        cdf = _cdf(p)
        assert [_draw(ours, cdf) for _ in range(5000)] == [int(numpys.choice(len(p), p=p)) for _ in range(5000)]
        assert ours.random() == numpys.random()  # the streams stay in step


def test_bad_sampler_settings_are_config_errors():
    with pytest.raises(ConfigError):
        WordSampler(LOWER, np.random.default_rng(0), min_len=5, max_len=2)
    with pytest.raises(ConfigError, match="upper-case"):
        WordSampler(LOWER, np.random.default_rng(0), case="mixed")


def _crops_of_cab(fonts, warp=False, **around):
    """(masks before the crop, crop) of "cab" drawn in a 40-pixel font with `around` it,
    one pair per seed 0..19, warped first if `warp`."""
    from tf_crnn.synth import render
    from tf_crnn.synth.fonts import load_font

    font = load_font(fonts[0], 40)
    surroundings = render._Surroundings(**around)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        masks = render._draw_masks("cab", font, rng, surroundings)
        if warp:
            masks = render._warp(masks, rng, line_height=font.size)
        yield masks, render._crop_to_ink(masks, rng, surroundings)


def test_a_crop_between_neighbours_keeps_the_word_and_shows_slivers_of_them(fonts):
    with_slivers = 0
    for masks, crop in _crops_of_cab(fonts, left="bb ", right=" aa"):
        line, word = masks.getbbox(), masks.getchannel(3).getbbox()
        bands = np.asarray(crop)
        inside = crop.getchannel(3).getbbox()
        # The whole word is in the crop, the whole line is not.
        assert inside[2] - inside[0] == word[2] - word[0]
        assert crop.width < line[2] - line[0]
        outside_word = np.concatenate([bands[:, : inside[0], 0], bands[:, inside[2] :, 0]], axis=1)
        with_slivers += outside_word.size > 0 and outside_word.max() > 128
    assert 4 <= with_slivers <= 19, with_slivers


def test_a_crop_between_lines_keeps_the_word_and_shows_edges_of_the_lines(fonts):
    with_edges = 0
    for masks, crop in _crops_of_cab(fonts, warp=True, above="bacab", below="cabba"):
        everything, word = masks.getbbox(), masks.getchannel(3).getbbox()
        inside = crop.getchannel(3).getbbox()
        # The word is in the crop (but for the pixel a tight box may shave on each side), most of the lines are not.
        assert inside[3] - inside[1] >= word[3] - word[1] - 2 and inside[2] - inside[0] >= word[2] - word[0] - 2
        assert crop.height < 0.7 * (everything[3] - everything[1])
        bands = np.asarray(crop)
        lines_ink = (bands[..., 0] > 128) & (bands[..., 3] < 64)
        with_edges += lines_ink[: inside[1]].any() or lines_ink[inside[3] :].any()
    assert with_edges >= 12, with_edges


def test_some_words_are_condensed_into_narrow_lettering(fonts):
    """A share of the warped words come out far narrower than drawn (sign lettering);
    without condensing, the stretch never takes a word below 0.78 of its width."""
    from tf_crnn.synth import render
    from tf_crnn.synth.fonts import load_font

    font = load_font(fonts[0], 40)
    factors = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        masks = render._draw_masks("minimum", font, rng)
        drawn = masks.getbbox()
        warped = render._warp(masks, rng, line_height=font.size).getchannel(0).getbbox()
        factors.append((warped[2] - warped[0]) / (drawn[2] - drawn[0]))
    narrow = sum(factor < 0.7 for factor in factors)
    assert 3 <= narrow <= 16, narrow
    assert min(factors) > 0.45


def test_render_is_deterministic_for_a_seed(fonts):
    first = [render_word("Crane", np.random.default_rng(seed), fonts).tobytes() for seed in range(5)]
    again = [render_word("Crane", np.random.default_rng(seed), fonts).tobytes() for seed in range(5)]
    assert first == again
    assert len(set(first)) == 5


def test_stray_letters_behind_a_word_are_fainter_than_it_and_off_by_default(fonts):
    """The midground: letters painted on the background before the word, in a contrast
    below the word's; with the default share of 0 a seed renders what it always did."""
    from tf_crnn.synth import render

    shown = 0
    for seed in range(12):
        rng = np.random.default_rng(seed)
        palette = render._Palette(rng, 1)
        background = np.full((40, 160, 1), palette.back, np.float32)
        alpha = np.zeros((40, 160, 3), np.float32)
        alpha[12:28, 10:150, render._FILL] = 1.0  # a word 16 pixels high
        painted = render._stray_letters(background, alpha, "street", palette, rng, fonts)
        change = np.abs(painted - background).max()
        assert change <= 0.7 * palette.contrast + 1e-5, (seed, change, palette.contrast)
        shown += change > 0.1 * palette.contrast
    assert shown >= 9, shown
    plain = [render_word("street", np.random.default_rng(seed), fonts).tobytes() for seed in range(4)]
    assert plain == [render_word("street", np.random.default_rng(seed), fonts, midground=0.0).tobytes()
                     for seed in range(4)]
    assert plain != [render_word("street", np.random.default_rng(seed), fonts, midground=1.0).tobytes()
                     for seed in range(4)]


@pytest.mark.parametrize("color, mode", [(False, "L"), (True, "RGB")])
def test_rendered_crops_are_plausible(fonts, color, mode):
    rng = np.random.default_rng(3)
    for text in ["a", "hello", "0123456789", "internationalisation"]:
        image = render_word(text, rng, fonts, height=32, color=color)
        assert image.mode == mode
        assert 16 <= image.height <= 112
        assert image.width >= 4 and image.width <= 60 * len(text) + 40
        assert np.asarray(image).std() > 2, "a crop should not be a flat colour"


def test_generate_writes_shards_and_resumes(tmp_path):
    out = tmp_path / "shards"
    summary = generate(str(out), count=25, val_count=7, seed=5, examples_per_shard=10, workers=1, max_length=8)
    assert [os.path.basename(p) for p in summary["train_shards"]] == [
        f"synth-train-0000{i}-of-00003.tfrecord" for i in range(3)
    ]
    train = [sample for path in summary["train_shards"] for sample in read_examples(path)]
    val = [sample for path in summary["val_shards"] for sample in read_examples(path)]
    assert len(train) == 25 and len(val) == 7
    assert [source for _, _, source in train] == [f"synth:train/{i}" for i in range(25)]
    for image_bytes, label, _ in train + val:
        assert set(label) <= set(LOWER) and 1 <= len(label) <= 8
        assert Image.open(io.BytesIO(image_bytes)).format == "JPEG"
    assert [source for _, _, source in val] == [f"synth:val/{i}" for i in range(7)]

    first_shard = summary["train_shards"][0]
    os.remove(summary["train_shards"][1])
    stamp = os.stat(first_shard).st_mtime_ns
    again = generate(str(out), count=25, val_count=7, seed=5, examples_per_shard=10, workers=1, max_length=8)
    assert again["skipped_shards"] == 3 and again["rendered"] == 10
    assert os.stat(first_shard).st_mtime_ns == stamp
    assert [s for p in again["train_shards"] for s in read_examples(p)] == train


def test_output_does_not_depend_on_worker_count(tmp_path):
    shards = {}
    for workers in (1, 2):
        summary = generate(
            str(tmp_path / str(workers)), count=8, val_count=0, seed=2, examples_per_shard=4, workers=workers
        )
        shards[workers] = [open(path, "rb").read() for path in summary["train_shards"]]
    assert shards[1] == shards[2]


def test_the_midground_share_reaches_the_rendered_shards(tmp_path, fonts):
    """`--midground` changes the images of a seed; 0 leaves them as they were."""
    def images(folder, *flags):
        main(["--output_dir", str(tmp_path / folder), "--count", "6", "--val_count", "0", "--seed", "4",
              "--workers", "1", "--fonts", *fonts[:3], *flags])
        return [image for path in sorted((tmp_path / folder).glob("*-train-*.tfrecord"))
                for image, _, _ in read_examples(str(path))]

    plain = images("plain")
    assert images("zero", "--midground", "0") == plain
    assert images("all", "--midground", "1") != plain


def test_images_dir_gets_val_images_and_labels(tmp_path):
    images_dir = str(tmp_path / "img")
    generate(str(tmp_path / "s"), count=1, val_count=3, seed=0, workers=1, image_format="png", images_dir=images_dir)
    lines = (tmp_path / "img" / "labels.tsv").read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[0] for line in lines] == [f"val/000000{i}.png" for i in range(3)]
    for line in lines:
        relative, label = line.split("\t")
        assert Image.open(tmp_path / "img" / relative).format == "PNG" and label


def test_charset_from_an_alphabet_file(tmp_path):
    alphabet = tmp_path / "alphabet.txt"
    alphabet.write_text("a\nb\nc\n", encoding="utf-8")
    assert read_charset(str(alphabet)) == "abc"
    alphabet.write_text("a\nch\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="single characters"):
        read_charset(str(alphabet))
    with pytest.raises(DataError, match="not found"):
        read_charset(str(tmp_path / "missing.txt"))
    assert read_charset("0123456789/-") == "0123456789/-"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--count", "-1"], "count"),
        (["--format", "gif"], "format"),
        (["--case", "mixed"], "upper-case"),
        (["--nonsense"], "unrecognized"),
        (["--midground", "1.5"], "midground"),
    ],
)
def test_bad_arguments_exit_2_with_one_error_line(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["--output_dir", str(tmp_path)] + argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_generator_module_does_not_import_tensorflow():
    """Worker processes import the generator module; they must not load TensorFlow."""
    code = "import sys, tf_crnn.synth.generate; print('tensorflow' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": REPO}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def latin_only_font() -> str:
    """An installed text font without Cyrillic (which fonts are installed varies)."""
    return next(path for path in find_fonts() if not covers(path, "ж"))


def test_word_list_lines_become_entries_and_bad_bytes_name_the_line(tmp_path):
    path = tmp_path / "words.txt"
    path.write_bytes("\ufeffмир\n\n  новый   дом \nφως\n".encode("utf-8"))
    assert read_word_list(str(path)) == ["мир", "новый дом", "φως"]
    path.write_bytes("мир\nok\n".encode("utf-8") + b"\xff\xfe bad\n")
    with pytest.raises(DataError, match=r"words.txt:3: not UTF-8"):
        read_word_list(str(path))
    path.write_text("\n \n", encoding="utf-8")
    with pytest.raises(DataError, match="no entry"):
        read_word_list(str(path))


@pytest.mark.skipif(not os.path.isfile(DEJAVU), reason="needs fonts-dejavu-core")
def test_fonts_without_the_glyphs_are_skipped_and_named():
    latin = latin_only_font()
    survey = survey_fonts("".join(CYRILLIC_GREEK), [DEJAVU, latin])
    assert survey.usable == (DEJAVU,) and survey.undrawable == ""
    [(path, why)] = survey.skipped
    assert path == latin and "no glyph for" in why and "U+04" in why
    with pytest.raises(DataError, match="--fonts"):
        survey_fonts("мир", [latin])
    with pytest.raises(DataError, match="no such font file or folder"):
        survey_fonts("abc", ["/nonexistent/font.ttf"])


@pytest.mark.skipif(not os.path.isfile(DEJAVU), reason="needs fonts-dejavu-core")
def test_a_word_list_in_cyrillic_and_greek_is_rendered_as_written(tmp_path):
    words = tmp_path / "words.txt"
    undrawable = "abc\ue123"  # a private-use character: no font has it
    words.write_text("\n".join(CYRILLIC_GREEK + ["новый дом", undrawable, "оченьдлинноеслово"]) + "\n", encoding="utf-8")
    out = tmp_path / "shards"
    summary = generate(str(out), count=300, val_count=0, seed=1, workers=1, max_length=12, words_file=str(words),
                       fonts=[DEJAVU, latin_only_font()])
    labels = [label for path in summary["train_shards"] for _, label, _ in read_examples(path)]
    entries = set(CYRILLIC_GREEK) | {"новый дом"}
    charset = set("".join(entries))
    assert all(set(label) <= charset for label in labels)
    assert sum(label in entries for label in labels) >= 0.8 * len(labels)
    assert "новый дом" in labels and {"мир", "ζωή"} <= set(labels)
    report = json.loads((out / "synth-report.json").read_text(encoding="utf-8"))
    assert report["fonts_used"] == 1 and len(report["fonts_skipped"]) == 1
    assert report["characters_no_font_has"] == "\ue123"
    left_out = report["words"]["left_out"]
    assert left_out["characters no font has"]["examples"] == [undrawable]
    assert left_out["length outside 1-12 units"]["examples"] == ["оченьдлинноеслово"]
    assert report["words"]["kept"] == len(entries)


def test_a_missing_font_or_word_list_is_one_error_line(tmp_path, capsys):
    for argv, message in [(["--fonts", str(tmp_path / "none.ttf")], "no such font file or folder"),
                          (["--words", str(tmp_path / "none.txt")], "word list not found")]:
        with pytest.raises(SystemExit) as exit_info:
            main(["--output_dir", str(tmp_path / "out"), "--count", "5"] + argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")
