"""Exports compute in float32 whatever precision trained the model; bfloat16 only when asked.

A tiny CRNN trained in mixed bfloat16 is exported by default and with `--precision
mixed_bfloat16`; the serving graphs (saved_model.pb, function library included) are
read for the dtype of their Conv2D/MatMul nodes, and both exports read the same words.
The emulated-bfloat16 warning is tested with the CPU check patched.
"""

import collections
import json
import os
import shutil

import pytest

from conftest import (TINY_STEPS, TINY_WORDS, assert_clean_error, render_text, run_module, tiny_model_fields,
                      write_config)
from tf_crnn import precision
from tf_crnn.config import ConfigError, load_config

COMPUTE_OPS = ("Conv2D", "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")


def compute_dtypes(saved_model_dir) -> collections.Counter:
    """(op, dtype name) -> count of the compute nodes in a SavedModel's graphs and functions."""
    from tensorflow.core.framework import types_pb2
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as handle:
        saved_model.ParseFromString(handle.read())
    counts = collections.Counter()
    for meta_graph in saved_model.meta_graphs:
        graph = meta_graph.graph_def
        for node in list(graph.node) + [n for f in graph.library.function for n in f.node_def]:
            if node.op in COMPUTE_OPS:
                counts[node.op, types_pb2.DataType.Name(node.attr["T"].type)] += 1
    return counts


def bfloat16_nodes(counts) -> dict:
    return {key: count for key, count in counts.items() if key[1] == "DT_BFLOAT16"}


def versions(base_path) -> list:
    return [os.path.join(base_path, d) for d in sorted(os.listdir(base_path)) if d.isdigit()]


def metadata_of(saved_model_dir) -> dict:
    with open(os.path.join(saved_model_dir, "assets.extra", "tf_crnn.json"), encoding="utf-8") as handle:
        return json.load(handle)


def emulating_without_bfloat16() -> bool:
    """ONEDNN_MAX_CPU_ISA set below bfloat16: an AVX-512 machine standing in for an AVX2 one."""
    return precision.bfloat16_capped_off()


@pytest.fixture(scope="module")
def trained_bf16(trained_tiny, tmp_path_factory):
    """A tiny CRNN whose checkpoint comes from mixed-bfloat16 training; returns its root.

    trained_tiny's checkpoint (float32 variables under either policy) is trained on for 5
    steps with `precision: mixed_bfloat16`: the weights an export gets come from bfloat16
    arithmetic, without the cost of a bfloat16 training on CPUs that emulate it (with oneDNN
    capped at AVX2, 100 tiny steps took over 15 minutes against about a minute for 700 in
    float32)."""
    if emulating_without_bfloat16():
        pytest.skip("ONEDNN_MAX_CPU_ISA caps oneDNN below bfloat16 on a CPU that has it: bfloat16 then runs "
                    "through its reference kernels, minutes a step (a CPU without bfloat16 uses TensorFlow's own)")
    tiny_root, _ = trained_tiny
    root = tmp_path_factory.mktemp("bf16")
    source, model = tiny_root / "model", root / "model"
    model.mkdir()
    for name in os.listdir(source):
        if name == "config.json" or name.startswith(f"model.ckpt-{TINY_STEPS}."):
            shutil.copy(source / name, model / name)
    (model / "checkpoint").write_text(f'model_checkpoint_path: "model.ckpt-{TINY_STEPS}"\n', encoding="utf-8")
    fields = tiny_model_fields(tiny_root, model_dir=str(model), precision="mixed_bfloat16",
                               train_steps=TINY_STEPS + 5, save_checkpoints_steps=TINY_STEPS // 2,
                               learning_rate_schedule="cosine", decay_steps=TINY_STEPS, decay_rate=0.05)
    run_module("tf_crnn.train", write_config(root / "params.json", **fields), check=True, timeout=900)
    return root


@pytest.fixture(scope="module")
def exports(trained_bf16):
    """{'default': path, 'mixed_bfloat16': path} of `python -m tf_crnn.export` without and with --precision."""
    paths = {}
    for name, extra in (("default", ()), ("mixed_bfloat16", ("--precision", "mixed_bfloat16"))):
        result = run_module("tf_crnn.export", trained_bf16 / "model", "--output_dir", trained_bf16 / name, *extra,
                            check=True)
        paths[name] = result.stdout.strip().splitlines()[-1]
    return paths


def test_default_export_of_a_bfloat16_model_computes_in_float32(exports):
    counts = compute_dtypes(exports["default"])
    assert bfloat16_nodes(counts) == {}, counts
    # The 7 convolutions twice: a serving batch's first width group, then the loop over the
    # others (tf_crnn/model/model_fn.py in_width_groups).
    assert counts["Conv2D", "DT_FLOAT"] == 14 and counts["MatMul", "DT_FLOAT"] > 0, counts
    metadata = metadata_of(exports["default"])
    assert metadata["precision"] == "float32"
    assert metadata["training_precision"] == "mixed_bfloat16"
    assert precision.bfloat16_compute_ops(exports["default"]) == []


def test_bfloat16_export_on_request(exports):
    counts = compute_dtypes(exports["mixed_bfloat16"])
    assert counts["Conv2D", "DT_BFLOAT16"] == 14 and counts["MatMul", "DT_BFLOAT16"] > 0, counts
    assert metadata_of(exports["mixed_bfloat16"])["precision"] == "mixed_bfloat16"
    assert len(precision.bfloat16_compute_ops(exports["mixed_bfloat16"])) == sum(bfloat16_nodes(counts).values())


def test_float32_export_reads_the_words_of_the_bfloat16_one(exports):
    """The words the model was trained on. Words it never saw ("quiz", "7x9") get readings it
    is unsure of (confidence under 0.2), which bfloat16's rounding may flip: with the tiny
    model of 300 steps, 2 of 6 did (24 of 4,662 benchmark readings of the shipped model did)."""
    import io

    import tensorflow as tf

    encoded = []
    for word in TINY_WORDS:
        buffer = io.BytesIO()
        render_text(word).save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    readings = {}
    for name, path in exports.items():
        serve = tf.saved_model.load(path).signatures["serving_default"]
        readings[name] = [w.decode() for w in serve(images=tf.constant(encoded))["words"].numpy()]
    assert readings["default"] == readings["mixed_bfloat16"], readings
    assert sum(r == w for r, w in zip(readings["default"], TINY_WORDS)) >= 8, readings  # the model reads


def test_exports_written_during_training_are_float32(trained_bf16):
    for exporter in ("latest", "best"):
        found = versions(trained_bf16 / "model" / "export" / exporter)
        assert found, exporter
        for path in found:
            assert bfloat16_nodes(compute_dtypes(path)) == {}, path
            assert metadata_of(path)["precision"] == "float32", path


def test_export_precision_is_validated(tmp_path, trained_bf16):
    fields = tiny_model_fields(tmp_path, export_precision="bfloat16")
    with pytest.raises(ConfigError, match="field 'export_precision' must be one of float32, mixed_bfloat16"):
        load_config(write_config(tmp_path / "p.json", **fields))
    assert_clean_error(run_module("tf_crnn.export", trained_bf16 / "model", "--output_dir", tmp_path / "x",
                                  "--precision", "fp16"), "--precision")


@pytest.fixture
def fresh_warning(monkeypatch):
    """The warning not yet given in this process, on a CPU without native bfloat16."""
    monkeypatch.setattr(precision, "_warned", False)
    monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: False)


def test_warning_for_bfloat16_on_an_emulating_cpu_is_one_line_once(fresh_warning, capsys):
    assert precision.warn_if_emulated_bfloat16({"precision": "float32"}) is False
    assert capsys.readouterr().err == ""
    assert precision.warn_if_emulated_bfloat16({"precision": "mixed_bfloat16"}) is True
    assert precision.warn_if_emulated_bfloat16({"precision": "mixed_bfloat16"}) is False
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: ") and "bfloat16" in err, err


def test_no_warning_where_bfloat16_is_native(monkeypatch, capsys):
    monkeypatch.setattr(precision, "_warned", False)
    monkeypatch.setattr(precision, "cpu_has_bfloat16", lambda: True)
    assert precision.warn_if_emulated_bfloat16({"precision": "mixed_bfloat16"}) is False
    assert capsys.readouterr().err == ""


def test_warning_reads_an_export_folder(fresh_warning, exports, tmp_path, capsys):
    assert precision.warn_if_emulated_bfloat16(exports["default"]) is False
    assert precision.warn_if_emulated_bfloat16(exports["mixed_bfloat16"]) is True
    assert capsys.readouterr().err.startswith("warning: ")
    # An export from before the metadata recorded its precision is judged by its graph.
    legacy = tmp_path / "legacy"
    shutil.copytree(exports["mixed_bfloat16"], legacy)
    metadata = metadata_of(legacy)
    del metadata["precision"], metadata["training_precision"]
    (legacy / "assets.extra" / "tf_crnn.json").write_text(json.dumps(metadata), encoding="utf-8")
    assert precision.saved_model_precision(str(legacy)) == "mixed_bfloat16"
    assert precision.saved_model_precision(exports["default"]) == "float32"


def test_onednn_capped_below_bfloat16_counts_as_emulated(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert precision.cpu_has_bfloat16() is False
    assert precision.resolve_precision("auto") == "float32"


def test_reexport_of_the_shipped_model_is_float32_with_its_own_weights(tmp_path):
    """scripts/reexport_shipped_model.py: the shipped weights, byte for byte, in a float32 graph."""
    import filecmp
    import subprocess
    import sys

    from conftest import REPO
    from tf_crnn.model_files import SHIPPED_MODEL, resolve_saved_model

    result = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "reexport_shipped_model.py"),
                             "--output_dir", str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    path = result.stdout.strip().splitlines()[-1]
    assert bfloat16_nodes(compute_dtypes(path)) == {}
    shipped = resolve_saved_model(SHIPPED_MODEL)
    metadata = metadata_of(path)
    assert metadata["precision"] == "float32"
    # What the shipped weights were trained in, kept (stage 1: mixed_bfloat16; stage 2: float32).
    assert metadata["training_precision"] == metadata_of(shipped)["training_precision"]
    assert metadata["alphabet"] == metadata_of(shipped)["alphabet"]
    data = os.path.join("variables", "variables.data-00000-of-00001")
    assert filecmp.cmp(os.path.join(path, data), os.path.join(shipped, data), shallow=False)


def test_reexport_replace_puts_the_new_export_in_place_of_its_source(tmp_path):
    """`--replace` swaps the new export in for the `--source` it was made from (here a copy
    of crnn_words_cased), whole, and leaves the other shipped model alone."""
    import filecmp
    import shutil
    import subprocess
    import sys

    from conftest import REPO
    from tf_crnn.model_files import PRETRAINED_DIR, SHIPPED_MODEL, resolve_saved_model

    source = tmp_path / "cased" / "1"
    shutil.copytree(resolve_saved_model(os.path.join(PRETRAINED_DIR, "crnn_words_cased")), source)
    (source / "stale.txt").write_text("from the old export", encoding="utf-8")
    shipped_graph = os.path.join(resolve_saved_model(SHIPPED_MODEL), "saved_model.pb")
    before = open(shipped_graph, "rb").read()
    result = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "reexport_shipped_model.py"),
                             "--source", str(source), "--output_dir", str(tmp_path / "out"), "--replace"],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    new = result.stdout.strip().splitlines()[-2]
    replaced = result.stdout.strip().splitlines()[-1]
    assert replaced.startswith("replaced ") and replaced.endswith(os.path.join("cased", "1")), replaced
    assert not (source / "stale.txt").exists() and sorted(os.listdir(tmp_path / "cased")) == ["1"]
    data = os.path.join("variables", "variables.data-00000-of-00001")
    assert filecmp.cmp(os.path.join(new, data), source / data, shallow=False)
    assert metadata_of(str(source))["alphabet"] == metadata_of(new)["alphabet"]
    assert open(shipped_graph, "rb").read() == before
