import json
import os

from conftest import TINY_WORDS, assert_clean_error, render_text, run_module
from tf_crnn.evaluate import score


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
    folder = tmp_path / "set"
    folder.mkdir()
    lines = []
    for index, word in enumerate(TINY_WORDS):
        render_text(word).save(folder / f"w{index}.png")
        lines.append(f"w{index}.png\t{word.upper()}\n")
    (folder / "labels.tsv").write_text("".join(lines), encoding="utf-8")
    export = root / "model" / "export" / "latest"
    out = tmp_path / "report"
    shards = sorted(str(p) for p in (root / "shards").glob("tiny-val-*.tfrecord"))
    result = run_module("tf_crnn.evaluate", export, folder / "labels.tsv", *shards, "--output_dir", out, "--errors_csv",
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


def test_evaluate_errors_are_clean(trained_tiny, tmp_path):
    root, _ = trained_tiny
    export = root / "model" / "export" / "latest"
    assert_clean_error(run_module("tf_crnn.evaluate", export, tmp_path / "missing.tsv"), "missing.tsv")
    bad = tmp_path / "bad.tsv"
    bad.write_text("nothere.png\tword\n", encoding="utf-8")
    assert_clean_error(run_module("tf_crnn.evaluate", export, bad), "bad.tsv:1", "image not found")
    assert_clean_error(run_module("tf_crnn.evaluate", export, bad, "--decoders", "viterbi"), "viterbi")
