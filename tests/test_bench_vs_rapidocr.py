"""scripts/bench_vs_rapidocr.py runs on a few real crops without RapidOCR's environment
(skipping that row and saying how to make it), and names bad input in one line.
Its figures are never checked for speed: it is a benchmark."""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, assert_clean_error

BENCHMARKS = os.path.join(os.path.dirname(REPO), "shared", "benchmarks")


def _run(*args):
    return subprocess.run([sys.executable, os.path.join(REPO, "scripts", "bench_vs_rapidocr.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=REPO, timeout=600, env=dict(os.environ, PYTHONPATH=REPO))


@pytest.mark.skipif(not os.path.isfile(os.path.join(BENCHMARKS, "IIIT5K", "labels.tsv")),
                    reason="needs ../shared/benchmarks/IIIT5K")
def test_five_crops_without_the_peer_environment(tmp_path):
    out = tmp_path / "vs.json"
    result = _run("--images", 5, "--repeats", 2, "--peer_env", tmp_path / "no_env", "--output", out,
                  "--tflite_widths", "64,128", "--calibration_words", 20)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "RapidOCR skipped" in result.stdout and "--make_peer_env --peer_env" in result.stdout
    assert "tf_crnn batch 1" in result.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["images"] == 5 and report["ratios"] == {}
    assert [row["system"] for row in report["rows"]] == ["tf_crnn batch 1", "tf_crnn batch 64",
                                                         "tf_crnn TFLite int8 batch 1"]
    assert [row["calls"] for row in report["rows"]] == [10, 2, 10]  # two rounds
    for row in report["rows"]:
        assert row["words_per_second"] > 0 and 0 < row["latency_p50_ms"] <= row["latency_p99_ms"]
        assert len(row["words_per_second_by_pass"]) == 2
        assert 0 <= row["alnum_word_accuracy"] <= 1
    assert report["rows"][2]["calibration"] == "20 rendered words, seed 7"
    # The int8 core carries the shipped weights: it reads those crops about as the SavedModel does.
    accuracy = {row["system"]: row["alnum_word_accuracy"] for row in report["rows"]}
    assert abs(accuracy["tf_crnn TFLite int8 batch 1"] - accuracy["tf_crnn batch 1"]) <= 0.2, accuracy


def test_bad_flags_and_a_missing_benchmark_folder_are_one_line(tmp_path):
    assert_clean_error(_run("--images", 0), "--images")
    assert_clean_error(_run("--no_such_flag"), "--no_such_flag")
    assert_clean_error(_run("--tflite_form", "int4"), "--tflite_form")
    assert_clean_error(_run("--benchmarks", tmp_path / "nowhere", "--output", tmp_path / "vs.json"), "nowhere")
    assert not (tmp_path / "vs.json").exists()


def test_ratios_skip_failed_rows_and_a_tensorflow_error_keeps_its_cause():
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    import bench_vs_rapidocr

    rows = [{"system": "tf_crnn batch 1", "failed": "no primitive"},
            {"system": "tf_crnn batch 64", "words_per_second": 500.0},
            {"system": "RapidOCR batch 1", "words_per_second": 80.0}]
    assert bench_vs_rapidocr.ratios(rows) == {"tf_crnn batch 64 / RapidOCR batch 1": {"ratio": 6.25, "target": 5.0}}
    assert bench_vs_rapidocr.ratios(rows[:2]) == {}
    message = ("Graph execution error:\n\nDetected at node crnn/conv1/Conv2D\n"
               "Operation received an exception:Status: 3, message: could not create a primitive descriptor, "
               "in file mkl_conv_ops.cc:1093\n\t [[{{node crnn/conv1}}]]")
    assert bench_vs_rapidocr.first_cause(message).startswith("could not create a primitive descriptor")


def test_int8_calibration_words_come_from_the_exports_own_alphabet():
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    import bench_vs_rapidocr

    settings = bench_vs_rapidocr.calibration_words_settings
    shipped = settings({"alphabet": list("0123456789abcdefghijklmnopqrstuvwxyz"), "lowercase_labels": True})
    assert shipped == {"charset": "0123456789abcdefghijklmnopqrstuvwxyz", "case": "lower", "max_length": 18}
    cased = settings({"alphabet": list("0123abcABC"), "lowercase_labels": False})
    assert cased["charset"] == "0123abcABC" and cased["case"] == "mixed"
    # Lower-cased labels read an upper-case letter as its lower case: calibrate on lower case.
    assert settings({"alphabet": list("abcABC"), "lowercase_labels": True})["case"] == "lower"
    assert settings({"alphabet": list("aB"), "lowercase_labels": False})["case"] == "lower"  # no letter in both
    cyrillic = settings({"alphabet": list("абвгд") + ["<unk>"], "lowercase_labels": False})
    assert cyrillic["charset"] == "абвгд" and cyrillic["case"] == "lower"
