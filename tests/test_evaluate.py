"""`python -m tf_crnn.evaluate`: scores by hand, and the tiny model read with every decoder."""

import json
import os

from conftest import TINY_WORDS, assert_clean_error, render_text, run_module
from tf_crnn.evaluation.scoring import score


def write_labelled_set(folder, words, labels=None, sizes=None):
    """Renders `words` into `folder` with a labels.tsv of `labels` (default: the words); its path."""
    folder.mkdir()
    lines = []
    for index, (word, label, size) in enumerate(zip(words, labels or words, sizes or [22] * len(words))):
        render_text(word, size=size).save(folder / f"w{index}.png")
        lines.append(f"w{index}.png\t{label}\n")
    (folder / "labels.tsv").write_text("".join(lines), encoding="utf-8")
    return folder / "labels.tsv"


def test_scores_by_hand():
    samples = [("a", b"", "Hello"), ("b", b"", "World!"), ("c", b"", "abc"), ("d", b"", "xy")]
    result = score("set", "greedy", samples, ["Hello", "world", "abd", None], seconds=2.0)
    assert result.word_accuracy == 0.25
    assert result.alnum_word_accuracy == 0.5
    # normalized: hello/hello 0, world/world 0, abd/abc 1 of 3, ""/xy 2 of 2
    assert abs(result.normalized_edit_distance - (0 + 0 + 1 / 3 + 1) / 4) < 1e-9
    assert abs(result.cer - 3 / (5 + 5 + 3 + 2)) < 1e-9
    assert result.unreadable == 1 and result.words_per_second == 2.0
    assert [e[0] for e in result.errors] == ["b", "c", "d"]


def test_evaluate_command_on_tiny_model(trained_tiny, tmp_path):
    root, _ = trained_tiny
    labels = write_labelled_set(tmp_path / "set", TINY_WORDS, [word.upper() for word in TINY_WORDS])
    export = root / "model" / "export" / "latest"
    out = tmp_path / "report"
    shards = sorted(str(p) for p in (root / "shards").glob("tiny-val-*.tfrecord"))
    result = run_module("tf_crnn.evaluate", export, labels, *shards, "--output_dir", out, "--errors_csv",
                        check=True)
    assert "| set | greedy |" in result.stdout and "| set | beam |" in result.stdout
    with open(out / "evaluation.json") as handle:
        results = json.load(handle)["results"]
    assert {(r["name"], r["decoder"]) for r in results} >= {("set", "greedy"), ("set", "beam")}
    for r in results:
        assert r["samples"] > 0 and r["words_per_second"] > 0
        assert 0.0 <= r["cer"] <= 1.0 and 0.0 <= r["normalized_edit_distance"] <= 1.0
    labelled = [r for r in results if r["name"] == "set"]
    # Upper-case labels, lower-case model: exact match fails (but on digits-only words),
    # the benchmark protocol does not.
    caseless = sum(word == word.upper() for word in TINY_WORDS) / len(TINY_WORDS)
    for r in labelled:
        assert r["word_accuracy"] <= caseless and r["alnum_word_accuracy"] >= 0.9, r
    assert os.path.isfile(out / "evaluation.md") and os.path.isfile(out / "errors.csv")


def test_lexicon_decoding_reads_lexicon_words(trained_tiny, tmp_path):
    """With a lexicon of the set's words and near misses, every reading is a lexicon word
    and the accuracy is at least the lexicon-free one."""
    root, _ = trained_tiny
    labels = write_labelled_set(tmp_path / "set", TINY_WORDS * 2, sizes=[22] * len(TINY_WORDS) + [20] * len(TINY_WORDS))
    lexicon = tmp_path / "words.txt"
    lexicon.write_text("\n".join(["cart", "dot", "son", "free", "bard", "fist", "mood", "zoom", "43"]), encoding="utf-8")
    export = root / "model" / "export" / "latest"
    out = tmp_path / "report"
    result = run_module("tf_crnn.evaluate", export, labels, "--lexicon", lexicon, "--lexicon_labels",
                        "--decoders", "greedy,lexicon", "--errors_csv", "--output_dir", out, check=True)
    assert "| set | lexicon |" in result.stdout
    with open(out / "evaluation.json") as handle:
        results = {r["decoder"]: r for r in json.load(handle)["results"]}
    assert results["lexicon"]["alnum_word_accuracy"] >= results["greedy"]["alnum_word_accuracy"] >= 0.5
    allowed = set(TINY_WORDS) | set(lexicon.read_text(encoding="utf-8").split())
    with open(out / "errors.csv", encoding="utf-8") as handle:
        readings = [row.split(",")[-1].strip() for row in handle.read().splitlines()[1:] if row.startswith("set,lexicon")]
    assert all(reading in allowed for reading in readings), readings


def test_language_model_decoding_reads_the_set(trained_tiny, tmp_path):
    """The lm decoder, with a language model fitted on a word file, reads the rendered set
    as well as greedy decoding does, and may read words outside that file."""
    root, _ = trained_tiny
    labels = write_labelled_set(tmp_path / "set", TINY_WORDS)
    words = tmp_path / "words.txt"
    words.write_text("\n".join(TINY_WORDS[: len(TINY_WORDS) // 2]) + "\n", encoding="utf-8")
    out = tmp_path / "report"
    result = run_module("tf_crnn.evaluate", root / "model" / "export" / "latest", labels,
                        "--language_model", words, "--output_dir", out, check=True)
    assert "| set | lm |" in result.stdout and "| set | greedy |" in result.stdout
    with open(out / "evaluation.json") as handle:
        results = {r["decoder"]: r for r in json.load(handle)["results"]}
    assert results["lm"]["alnum_word_accuracy"] >= 0.9
    assert results["lm"]["alnum_word_accuracy"] >= results["greedy"]["alnum_word_accuracy"] - 1 / len(TINY_WORDS)


def test_evaluate_errors_are_clean(trained_tiny, tmp_path):
    root, _ = trained_tiny
    export = root / "model" / "export" / "latest"
    assert_clean_error(run_module("tf_crnn.evaluate", export, tmp_path / "missing.tsv"), "missing.tsv")
    bad = tmp_path / "bad.tsv"
    bad.write_text("nothere.png\tword\n", encoding="utf-8")
    assert_clean_error(run_module("tf_crnn.evaluate", export, bad), "bad.tsv:1", "image not found")
    assert_clean_error(run_module("tf_crnn.evaluate", export, bad, "--decoders", "viterbi"), "viterbi")
    good = tmp_path / "good.tsv"
    render_text("cat").save(tmp_path / "cat.png")
    good.write_text("cat.png\tcat\n", encoding="utf-8")
    assert_clean_error(run_module("tf_crnn.evaluate", export, good, "--decoders", "lexicon"), "--lexicon")
    assert_clean_error(run_module("tf_crnn.evaluate", export, good, "--lexicon", tmp_path / "nowords.txt"),
                       "nowords.txt", "not found")
    assert_clean_error(run_module("tf_crnn.evaluate", export, good, "--decoders", "lm"), "--language_model")
    assert_clean_error(run_module("tf_crnn.evaluate", export, good, "--language_model", tmp_path / "notext.txt"),
                       "notext.txt", "not found")
    # A shard cut short (a copy interrupted): named, with what to do, no DataLossError traceback.
    shard = sorted((root / "shards").glob("tiny-val-*.tfrecord"))[0]
    cut = tmp_path / "cut.tfrecord"
    data = shard.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    assert_clean_error(run_module("tf_crnn.evaluate", export, cut), "cut.tfrecord: not a whole TFRecord shard",
                       "python -m tf_crnn.data.convert")
