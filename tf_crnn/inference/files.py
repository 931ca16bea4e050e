"""Images to read: files and folders expanded into image files, and reading in batches
so that one image that does not decode costs only itself."""

import os
import re
import sys
from typing import List

from tf_crnn.data.images import IMAGE_EXTENSIONS
from tf_crnn.errors import DataError


def find_images(paths: List[str]) -> List[str]:
    """Expands folders (recursively, sorted) into image files; a missing path is an error.

    In a folder, files count as images by their extension (`IMAGE_EXTENSIONS`, the
    converter's); every other file gets one line on stderr, so nothing is passed over
    without a word. A file named on its own is taken whatever its extension.
    """
    found = []
    for path in paths:
        if os.path.isdir(path):
            for root, _, names in sorted(os.walk(path)):
                for name in sorted(names):
                    file_path = os.path.join(root, name)
                    if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                        found.append(file_path)
                    else:
                        print(f"skipped {file_path}: not an image file (taken: {', '.join(sorted(IMAGE_EXTENSIONS))})",
                              file=sys.stderr)
        elif os.path.isfile(path):
            found.append(path)
        else:
            raise DataError(f"no such file or folder: {path}")
    return found


# What TensorFlow's messages name when an image fails in the graph: a decode op (its node
# name) or the decoders' own words. Any other failure on one image, which the converter's
# check decoded already, is the model's.
_IMAGE_FAILURE = re.compile(r"Decode(Image|Png|Jpeg|Bmp|Gif)|image format|color conversion|Invalid (PNG|JPEG|GIF|BMP)",
                            re.IGNORECASE)


def is_image_failure(error: Exception) -> bool:
    """Whether a runtime error came from decoding an image, not from the model itself."""
    return bool(_IMAGE_FAILURE.search(str(error)))


def read_in_batches(read, items, batch_size: int, bad_input_errors: tuple):
    """Yields (result, error) for every item, reading `batch_size` items at a time.

    `read` maps a list of items to a list of results. One image that does not decode fails
    its whole batch with one of `bad_input_errors`; that batch is then read item by item,
    so only the bad items get (None, error) and the others still count. A failure on one
    item that is not about its image (a broken export: a Reshape that cannot fit) is the
    model's: it raises DataError at once instead of blaming every image in turn.
    """
    for start in range(0, len(items), batch_size):
        batch = items[start:start + batch_size]
        try:
            results = read(batch)
        except bad_input_errors:
            for item in batch:
                try:
                    yield read([item])[0], None
                except bad_input_errors as err:
                    if not is_image_failure(err):
                        summary = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                        raise DataError(f"the model fails on an image that decodes ({summary}): the export is "
                                        "broken, or was made from a checkpoint of another network") from None
                    yield None, err
        else:
            for result in results:
                yield result, None
