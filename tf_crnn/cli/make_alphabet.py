"""`tf-crnn make-alphabet OUT.txt LABEL_FILES...` (also `python -m tf_crnn.data.make_alphabet`):
an alphabet file (one unit a line) derived from the labels of annotation files or TFRecord shards."""

from tf_crnn.cli import ArgumentParser
from tf_crnn.data.make_alphabet import alphabet_of_files
from tf_crnn.errors import exit_on_user_error


@exit_on_user_error
def main(argv=None, prog: str = "python -m tf_crnn.data.make_alphabet"):
    parser = ArgumentParser(
        prog=prog,
        description="Derive an alphabet file (one unit a line) from the labels of list files or TFRecord shards.",
    )
    parser.add_argument("output", help="alphabet file to write")
    parser.add_argument("inputs", nargs="+", help="annotation files (path label) or .tfrecord shards")
    parser.add_argument("--lowercase", action="store_true", help="fold labels to lower case first")
    args = parser.parse_args(argv)
    alphabet = alphabet_of_files(args.inputs, args.lowercase)
    alphabet.to_file(args.output)
    print(f"wrote {len(alphabet.units)} units to {args.output}")
