"""`python -m tf_crnn.data.make_alphabet OUT.txt LABEL_FILES...`: an alphabet file (one unit a
line) derived from the labels of annotation files or TFRecord shards."""

import argparse
import os
import sys
from typing import Iterable

from tf_crnn.alphabet import Alphabet
from tf_crnn.data.formats.list_file import read_list_file
from tf_crnn.errors import exit_on_user_error


def _labels_from_file(path: str) -> Iterable[str]:
    """Labels of an annotation file (`path<TAB or space>label`) or of a TFRecord shard."""
    if path.endswith(".tfrecord"):
        from tf_crnn.data.schema import read_labels  # TensorFlow: only when a shard is given

        yield from read_labels(path)
        return
    for sample in read_list_file(path, image_root=os.path.dirname(path), check_exists=False):
        if sample.label is not None:
            yield sample.label


@exit_on_user_error
def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tf_crnn.data.make_alphabet",
        description="Derive an alphabet file (one unit a line) from the labels of list files or TFRecord shards.",
    )
    parser.add_argument("output", help="alphabet file to write")
    parser.add_argument("inputs", nargs="+", help="annotation files (path label) or .tfrecord shards")
    parser.add_argument("--lowercase", action="store_true", help="fold labels to lower case first")
    args = parser.parse_args(argv)
    labels = (label.lower() if args.lowercase else label for path in args.inputs for label in _labels_from_file(path))
    alphabet = Alphabet.from_labels(labels)
    alphabet.to_file(args.output)
    print(f"wrote {len(alphabet.units)} units to {args.output}")


if __name__ == "__main__":
    main(sys.argv[1:])
