"""Makes a synthetic text-line data set: numbers written with random MNIST digits.

Each sample is N handwritten MNIST digits (N drawn from --min_digits..--max_digits)
placed side by side, labelled with the digit string. It gives the CRNN a real
handwriting task that needs no data beyond MNIST, which is handy to check a training
set-up end to end before moving to one's own data.

Output is either PNG images plus `labels.tsv` (`relative/path<TAB>label`, paths relative
to the output folder; with --val_ratio > 0 also `train.tsv` and `val.tsv`), or with
--shards TFRecord shards written through tf_crnn.data.writer, split into
`<prefix>_train` and `<prefix>_val`.

Everything is drawn from --seed: sample i depends only on (seed, i), so the same command
gives the same bytes, and a larger --count keeps the first samples unchanged.

The library under `tf-crnn mnist-numbers` and `python hlp/numbers_mnist_generator.py`
(their command line: tf_crnn/cli/mnist_numbers.py):

    tf-crnn mnist-numbers --output_dir data/mnist_numbers --count 1000
"""

import glob
import io
import math
import os
import sys
from typing import Iterator, List, Sequence, Tuple

import numpy as np
from PIL import Image

from tf_crnn.atomic_files import write_atomically
from tf_crnn.errors import ConfigError

ANNOTATION_NAME = "labels.tsv"
SPLIT_ANNOTATION_NAMES = {"train": "train.tsv", "val": "val.tsv"}
IMAGE_FOLDER = "images"
DIGIT_SIZE = 28  # MNIST digits are drawn at this scale, then the line is resized
EDGE_MARGIN = 2  # pixels of background left and right of the number, at digit scale
_SPLIT_SEED = 0x5EED  # a second stream, so the split does not shift the samples


# --- drawing one number ---------------------------------------------------------------


def sample_rng(seed: int, index: int) -> np.random.Generator:
    """A generator of its own per sample, so a sample does not depend on the ones before it."""
    return np.random.default_rng([seed, index])


def pick_digits(
    rng: np.random.Generator, labels: np.ndarray, min_digits: int, max_digits: int
) -> np.ndarray:
    """Indices of the MNIST digits that make up one number."""
    length = int(rng.integers(min_digits, max_digits + 1))
    return rng.integers(0, len(labels), size=length)


def crop_to_ink_columns(digit: np.ndarray) -> np.ndarray:
    """Drops MNIST's empty side columns, so --spacing is the gap between strokes, not boxes."""
    columns = np.flatnonzero(digit.max(axis=0) > 0)
    if columns.size == 0:
        middle = digit.shape[1] // 2  # a blank digit still takes a little room
        return digit[:, max(0, middle - 2) : middle + 2]
    return digit[:, columns[0] : columns[-1] + 1]


def jitter_scale(digit: np.ndarray, rng: np.random.Generator, jitter: int) -> np.ndarray:
    """Brings the digit to MNIST's 28 rows, give or take up to `jitter`, keeping its aspect.

    Sources with other digit sizes (an npz of 20x20 digits, say) end up at the same scale.
    """
    height = DIGIT_SIZE + (int(rng.integers(-jitter, jitter + 1)) if jitter else 0)
    if height == digit.shape[0]:
        return digit
    width = max(1, round(digit.shape[1] * height / digit.shape[0]))
    return np.asarray(Image.fromarray(digit).resize((width, height), Image.BILINEAR))


def layout_digits(
    widths: Sequence[int], rng: np.random.Generator, spacing: int, jitter: int
) -> List[int]:
    """Left edge of each digit: the spacing plus a horizontal jitter, never running backwards."""
    lefts = [EDGE_MARGIN + jitter]
    for previous_width in widths[:-1]:
        gap = spacing + (int(rng.integers(-jitter, jitter + 1)) if jitter else 0)
        lefts.append(max(lefts[-1] + 1, lefts[-1] + previous_width + gap))
    return lefts


def paste_brightest(canvas: np.ndarray, digit: np.ndarray, top: int, left: int) -> None:
    """Adds a digit to white-on-black ink keeping the brighter pixel, so overlaps stay legible."""
    bottom, right = top + digit.shape[0], left + digit.shape[1]
    clip_top, clip_bottom = max(top, 0), min(bottom, canvas.shape[0])
    region = canvas[clip_top:clip_bottom, left:right]
    piece = digit[clip_top - top : digit.shape[0] - (bottom - clip_bottom)]
    np.maximum(region, piece, out=region)


def render_number(
    images: np.ndarray,
    indices: np.ndarray,
    rng: np.random.Generator,
    spacing: int,
    jitter: int,
    height: int,
    invert: bool,
) -> np.ndarray:
    """One text-line image (uint8, `height` rows) of the given digits side by side."""
    digits = [jitter_scale(crop_to_ink_columns(images[i]), rng, jitter) for i in indices]
    lefts = layout_digits([d.shape[1] for d in digits], rng, spacing, jitter)
    canvas_height = DIGIT_SIZE + 2 * jitter
    canvas_width = max(left + d.shape[1] for left, d in zip(lefts, digits)) + EDGE_MARGIN + jitter
    canvas = np.zeros((canvas_height, canvas_width), dtype=np.uint8)
    for digit, left in zip(digits, lefts):
        shift = int(rng.integers(-jitter, jitter + 1)) if jitter else 0
        top = (canvas_height - digit.shape[0]) // 2 + shift
        paste_brightest(canvas, digit, top, left)
    line = resize_to_height(canvas, height)
    return 255 - line if invert else line


def resize_to_height(canvas: np.ndarray, height: int) -> np.ndarray:
    width = max(1, round(canvas.shape[1] * height / canvas.shape[0]))
    return np.asarray(Image.fromarray(canvas).resize((width, height), Image.BILINEAR))


def encode_png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def make_sample(index: int, images: np.ndarray, labels: np.ndarray, args) -> Tuple[bytes, str]:
    """(png bytes, digit string) of sample `index`; depends only on the seed and the index."""
    rng = sample_rng(args.seed, index)
    indices = pick_digits(rng, labels, args.min_digits, args.max_digits)
    image = render_number(images, indices, rng, args.spacing, args.jitter, args.height, args.invert)
    return encode_png(image), "".join(str(int(labels[i])) for i in indices)


def image_relative_path(index: int) -> str:
    return f"{IMAGE_FOLDER}/{index:06d}.png"


# --- splitting and writing ------------------------------------------------------------


def split_train_val(count: int, val_ratio: float, seed: int) -> Tuple[List[int], List[int]]:
    """Sample indices of each part, from a stream of their own so the samples do not move."""
    val_count = int(round(count * val_ratio))
    order = np.random.default_rng([seed, _SPLIT_SEED]).permutation(count)
    val = sorted(int(i) for i in order[:val_count])
    val_set = set(val)
    return [i for i in range(count) if i not in val_set], val


def annotation_paths(output_dir: str, val_ratio: float) -> List[str]:
    names = [ANNOTATION_NAME]
    if val_ratio > 0:
        names += list(SPLIT_ANNOTATION_NAMES.values())
    return [os.path.join(output_dir, name) for name in names]


def refuse_to_overwrite(existing: Sequence[str], overwrite: bool) -> None:
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise ConfigError(
            f"{existing[0]} already exists{more}; "
            "pass --overwrite to replace it or choose another --output_dir"
        )


def write_text_atomically(path: str, text: str) -> None:
    """UTF-8 with "\n" line ends, whole or not at all."""
    write_atomically(path, text.encode("utf-8"))


def write_images(images, labels, args, existing: Sequence[str] = ()) -> None:
    """PNG files first, the annotation files last: they only appear once every image is there."""
    paths = annotation_paths(args.output_dir, args.val_ratio)
    os.makedirs(os.path.join(args.output_dir, IMAGE_FOLDER), exist_ok=True)
    lines = []
    for index in range(args.count):
        png, label = make_sample(index, images, labels, args)
        relative = image_relative_path(index)
        with open(os.path.join(args.output_dir, relative), "wb") as handle:
            handle.write(png)
        lines.append(f"{relative}\t{label}\n")
    train, val = split_train_val(args.count, args.val_ratio, args.seed)
    contents = ["".join(lines)]
    if args.val_ratio > 0:
        contents += ["".join(lines[i] for i in train), "".join(lines[i] for i in val)]
    for path, text in zip(paths, contents):
        write_text_atomically(path, text)
    report(
        f"wrote {args.count} images to {os.path.join(args.output_dir, IMAGE_FOLDER)} and "
        f"{', '.join(paths)} ({len(train)} train, {len(val)} val)"
    )


def shard_count(examples: int, per_shard: int) -> int:
    return max(1, math.ceil(examples / per_shard))


def shard_parts(args) -> List[Tuple[str, List[int]]]:
    """(shard prefix, sample indices) of each non-empty part."""
    train, val = split_train_val(args.count, args.val_ratio, args.seed)
    parts = [(f"{args.prefix}_train", train), (f"{args.prefix}_val", val)]
    return [(prefix, indices) for prefix, indices in parts if indices]


def existing_outputs(args) -> List[str]:
    """The files this run would replace: annotation files, or complete shards of its prefixes."""
    if not args.shards:
        return [
            path
            for path in annotation_paths(args.output_dir, args.val_ratio)
            if os.path.exists(path)
        ]
    from tf_crnn.data.writer import shard_pattern

    found = set()
    for prefix in (f"{args.prefix}_train", f"{args.prefix}_val"):
        found.update(glob.glob(shard_pattern(args.output_dir, prefix)))
    return sorted(found)


def write_shards(images, labels, args, existing: Sequence[str] = ()) -> None:
    """Each part becomes a shard set; `existing` shards not rewritten go only after success."""
    from tf_crnn.data.schema import make_example
    from tf_crnn.data.writer import shard_paths, write_shard

    parts = shard_parts(args)
    os.makedirs(args.output_dir, exist_ok=True)
    written = []
    for prefix, indices in parts:
        chunks = np.array_split(
            np.asarray(indices), shard_count(len(indices), args.examples_per_shard)
        )
        for path, chunk in zip(shard_paths(args.output_dir, prefix, len(chunks)), chunks):
            write_shard(path, _records(chunk, images, labels, args, make_example))
            written.append(path)
    for stale in set(existing) - set(written):
        os.remove(stale)
    report(
        f"wrote {len(written)} shards to {args.output_dir}: "
        + ", ".join(f"{prefix} ({len(indices)} samples)" for prefix, indices in parts)
    )


def _records(indices, images, labels, args, make_example) -> Iterator[bytes]:
    for index in indices:
        png, label = make_sample(int(index), images, labels, args)
        yield make_example(png, label, image_relative_path(int(index)))


def report(message: str) -> None:
    print(message, file=sys.stderr)
