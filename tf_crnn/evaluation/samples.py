"""Labelled samples to evaluate on: annotation files and TFRecord shards -> (source, image
bytes, label), and reading them in batches with any model."""

import os
import sys
from typing import List, Tuple

from tf_crnn.errors import DataError
from tf_crnn.inference.files import read_in_batches


def load_samples(path: str) -> List[Tuple[str, bytes, str]]:
    """(source, image bytes, label) of an annotation file or a TFRecord shard.

    Images are checked as the converter checks them (formats TensorFlow does not decode
    become PNG); one that does not decode gets bytes None, is named on stderr, and counts
    as unreadable (and as a miss) in the scores. A missing image is an error: the list's
    paths are more likely wrong than the image gone.
    """
    if path.endswith(".tfrecord"):
        from tf_crnn.data.schema import read_examples

        return [(source or f"{path}#{i}", image, label) for i, (image, label, source) in enumerate(read_examples(path))]
    from tf_crnn.data.formats.list_file import read_list_file
    from tf_crnn.data.images import BadImage, read_checked_image

    samples = []
    for sample in read_list_file(path, image_root=os.path.dirname(os.path.abspath(path))):
        if sample.error:
            raise DataError(f"{sample.where}: {sample.error}")
        try:
            image = read_checked_image(sample.image_path)
        except BadImage as bad:
            print(f"{sample.where}: {sample.image_path}: {bad} (counted as unreadable)", file=sys.stderr)
            image = None
        samples.append((sample.image_path, image, sample.label))
    if not samples:
        raise DataError(f"{path}: no samples")
    return samples


def read_samples(read, samples, batch_size: int, bad_image_errors: tuple) -> List[tuple]:
    """(text, error) for every sample, reading `batch_size` images at a time with `read`.

    A sample whose image was unreadable at loading gets (None, None) without reaching the
    model; one the model refuses gets (None, its error).
    """
    readable = [image for _, image, _ in samples if image is not None]
    rows = iter(list(read_in_batches(read, readable, batch_size, bad_image_errors)))
    return [next(rows) if image is not None else (None, None) for _, image, _ in samples]
