"""The benchmark scripts run on tiny inputs and produce sane figures (never asserting speed)."""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO


def _run_script(script, *args, timeout=600, status=0):
    result = subprocess.run([sys.executable, os.path.join(REPO, "scripts", script), *map(str, args)],
                            capture_output=True, text=True, cwd=REPO, timeout=timeout,
                            env=dict(os.environ, PYTHONPATH=REPO))
    assert result.returncode == status, result.stderr[-3000:]
    return result


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def test_training_benchmark_compares_estimator_and_keras(trained_tiny, tmp_path):
    _, config = trained_tiny
    out = tmp_path / "train.json"
    run = _run_script("bench_train.py", "--config", config, "--batch_size", 8, "--steps", 3, "--warmup", 1,
                      "--output", out, "--inter_op_threads", 1, "--intra_op_threads", 2)
    result = _read(out)
    assert (result["inter_op_threads"], result["intra_op_threads"], result["xla_auto_jit"]) == (1, 2, False)
    assert result["images_per_second"] > 0 and result["keras_fit_fp32_images_per_second"] > 0
    assert abs(result["speedup_over_keras_fit_fp32"] - result["images_per_second"] /
               result["keras_fit_fp32_images_per_second"]) < 0.02
    assert result["steps_measured"] == 3
    assert "avx2" in result["cpu_features"] and run.stdout.startswith("CPU features: ")


def test_ceiling_counts_the_papers_1_37_gflop_and_a_fifth_of_it_for_mobilenet_v3(tmp_path):
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    from bench_ceiling import forward_flops

    from tf_crnn.config import load_config

    config = load_config(os.path.join(REPO, "model_params.json"))
    vgg = forward_flops(config, "vgg")
    assert 1.3e9 < vgg < 1.45e9  # the paper's network: 2 x multiply-adds of its convolutions, LSTMs and dense layers
    assert 0.15 * vgg < forward_flops(config, "mobilenet_v3") < 0.25 * vgg


def test_ceiling_under_an_avx2_cap_measures_float32_and_skips_bfloat16(tmp_path):
    # Under the cap oneDNN has no bfloat16 matmul and aborts the process: the figures must be skipped.
    out = tmp_path / "ceiling.json"
    subprocess.run([sys.executable, os.path.join(REPO, "scripts", "bench_ceiling.py"), "--output", out],
                   capture_output=True, text=True, cwd=REPO, timeout=600, check=True,
                   env=dict(os.environ, PYTHONPATH=REPO, ONEDNN_MAX_CPU_ISA="AVX2"))
    result = _read(out)
    assert result["onednn_max_cpu_isa"] == "AVX2"
    assert result["matmul_bf16_gflops"] == result["conv3x3_bf16_gflops"] == "skipped under AVX2"
    assert result["matmul_fp32_gflops"] > 0 and result["conv3x3_fp32_gflops"] > 0


@pytest.mark.parametrize("script", ["bench_train.py", "bench_input.py", "bench_ceiling.py", "bench_serving.py"])
def test_a_bad_config_is_named_in_one_line(script, tmp_path):
    config = tmp_path / "params.json"
    config.write_text(json.dumps({"alphabet_file": "no_such_alphabet.txt"}), encoding="utf-8")
    result = _run_script(script, "--config", config, "--output", tmp_path / "out.json", status=2)
    assert "Traceback" not in result.stderr
    assert "alphabet_file" in result.stderr and "no_such_alphabet.txt" in result.stderr
    assert not (tmp_path / "out.json").exists()


def test_serving_benchmark_names_a_missing_saved_model(tmp_path):
    result = _run_script("bench_serving.py", "--saved_model", tmp_path / "no_model", "--output", tmp_path / "out.json",
                         status=2)
    assert "Traceback" not in result.stderr and "no_model" in result.stderr
    assert not (tmp_path / "out.json").exists()


def test_input_and_serving_benchmarks(trained_tiny, tmp_path):
    root, config = trained_tiny
    _run_script("bench_input.py", "--config", config, "--batch_size", 8, "--seconds", 1, "--output", tmp_path / "i.json")
    assert _read(tmp_path / "i.json")["images_per_second"] > 0
    export = root / "model" / "export" / "latest"
    newest = export / max(os.listdir(export), key=lambda d: int(d) if d.isdigit() else -1)
    _run_script("bench_serving.py", "--saved_model", newest, "--repeats", 3, "--format", "jpeg",
                "--output", tmp_path / "s.json")
    report = _read(tmp_path / "s.json")
    results = report["results"]
    assert [r["batch_size"] for r in results] == [1, 64] and "JPEG bytes" in report["input"]
    for r in results:
        assert r["words_per_second"] > 0 and 0 < r["latency_p50_ms"] <= r["latency_p99_ms"]


def test_training_curve_plot(trained_tiny, tmp_path):
    root, _ = trained_tiny
    out = tmp_path / "curve.png"
    _run_script("plot_training.py", root / "model", "--output", out)
    with open(out, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_derived_ratios_and_the_kept_history(tmp_path):
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    import run_benchmarks

    results = {"ceiling": {"crnn_training_gflop_per_image": 4.0, "matmul_fp32_gflops": 400.0,
                           "matmul_bf16_gflops": 800.0},
               "train_bf16": {"images_per_second": 150.0, "keras_fit_fp32_images_per_second": 80.0,
                              "speedup_over_keras_fit_fp32": 1.88}}
    ratios = run_benchmarks.derived(results)
    assert ratios["training_bf16_gflops"] == 600.0
    assert ratios["training_bf16_fraction_of_bf16_matmul_ceiling"] == 0.75
    assert ratios["bf16_matmul_ceiling_fraction_needed_for_2x_keras_fit"] == 0.8  # 2 * 80 * 4 / 800

    page = tmp_path / "BENCHMARKS.md"
    page.write_text("# old figures\n\n" + run_benchmarks.KEPT_MARKER + "\n## History\nbefore/after\n", encoding="utf-8")
    kept = run_benchmarks.kept_section(str(page))
    assert kept.startswith(run_benchmarks.KEPT_MARKER) and "before/after" in kept and "old figures" not in kept
    assert run_benchmarks.kept_section(str(tmp_path / "none.md")) == ""
    # The page is written as tables (nested figures and records flattened), the history kept.
    run_benchmarks.write_markdown(str(page), {"serving": {"results": [{"batch": 1, "words_per_second": 42.4}],
                                                          "input": "png|bytes"}}, ratios, {}, "a CPU", "2026-12-02")
    text = page.read_text(encoding="utf-8")
    assert "| results [0] / words_per_second | 42.4 |" in text and "| input | png\\|bytes |" in text
    assert "```json" not in text and text.endswith("before/after\n") and "old figures" not in text


def test_language_model_tuning_reads_rendered_words_with_every_setting(tmp_path):
    """scripts/tune_language_model.py on 40 rendered words and a small language model text:
    every (order, weight, bonus) of the grid is scored, the best is one of them, and the
    shipped model reads most of the words either way."""
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    import tune_language_model

    out = tmp_path / "lm.json"
    _run_script("tune_language_model.py", "--words", 40, "--texts", 20000, "--data_dir", tmp_path / "data",
                "--output", out)
    result = _read(out)
    grid = result["grid"]
    expected = {(o, w, b) for o in tune_language_model.ORDERS for w in tune_language_model.WEIGHTS
                for b in tune_language_model.BONUSES}
    assert {(row["order"], row["weight"], row["bonus"]) for row in grid} == expected
    assert result["best"] in grid and result["best"]["accuracy"] == max(row["accuracy"] for row in grid)
    assert result["words"] == 40 and 0 < result["held_out_labels"] <= 40
    assert result["greedy_accuracy"] >= 0.7 and min(row["accuracy"] for row in grid) >= 0.5


def test_the_bfloat16_comparison_runs_only_where_bfloat16_is_native(monkeypatch):
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    import common
    import run_benchmarks

    names = {native: [name for name, _ in run_benchmarks.benchmarks(True, native)] for native in (True, False)}
    assert "train_bf16" in names[True] and "train_bf16" not in names[False] and "train_fp32" in names[False]
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    features = common.cpu_features()
    assert set(common.CPU_FEATURES) <= set(features) and features["onednn_max_cpu_isa"] == "AVX2"
    assert common.describe_cpu(features).endswith("ONEDNN_MAX_CPU_ISA=AVX2 (emulated)")


def test_time_to_accuracy_names_an_unknown_candidate_before_rendering_anything(tmp_path):
    result = _run_script("bench_time_to_accuracy.py", "--candidates", "vgg,resnet", "--output", tmp_path / "t.json",
                         status=2)
    assert "unknown candidate(s) resnet" in result.stderr and "mobilenet_v3_0.5" in result.stderr
    assert not (tmp_path / "t.json").exists()
