"""An alphabet (one unit a line) derived from the labels of annotation files or TFRecord
shards: the library under `tf-crnn make-alphabet` and `python -m tf_crnn.data.make_alphabet`
(its command line: tf_crnn/cli/make_alphabet.py)."""

import os
from typing import Iterable, Sequence

from tf_crnn.alphabet import Alphabet
from tf_crnn.data.formats.list_file import read_list_file


def labels_of_file(path: str) -> Iterable[str]:
    """Labels of an annotation file (`path<TAB or space>label`) or of a TFRecord shard."""
    if path.endswith(".tfrecord"):
        from tf_crnn.data.schema import read_labels  # TensorFlow: only when a shard is given

        yield from read_labels(path)
        return
    for sample in read_list_file(path, image_root=os.path.dirname(path), check_exists=False):
        if sample.label is not None:
            yield sample.label


def alphabet_of_files(paths: Sequence[str], lowercase: bool = False) -> Alphabet:
    """The alphabet of every unit in the labels of `paths` (folded to lower case first if asked)."""
    return Alphabet.from_labels(label.lower() if lowercase else label for path in paths for label in labels_of_file(path))


if __name__ == "__main__":
    from tf_crnn.cli.make_alphabet import main

    main()
