"""`tf-crnn convert ANNOTATIONS... --output_dir DIR` (also `python -m tf_crnn.data.convert`):
annotation files or folders of images -> sharded TFRecords (how: tf_crnn/data/convert.py)."""

import argparse
import os

from tf_crnn.cli import ArgumentParser
from tf_crnn.data.convert import FORMAT_CHOICES, POLICIES, InputSize, convert
from tf_crnn.data.formats.csv_file import DEFAULT_DELIMITER
from tf_crnn.errors import DataError, exit_on_user_error


def _delimiter(text: str) -> str:
    named = {"tab": "\t", "\\t": "\t", "space": " "}
    value = named.get(text, text)
    if len(value) != 1:
        raise argparse.ArgumentTypeError(f"must be one character (or tab, space), not {text!r}")
    return value


def parse_args(argv=None, prog: str = "python -m tf_crnn.data.convert"):
    parser = ArgumentParser(prog=prog,
                            description="Convert annotation files (or folders of images) and their "
                                        "images into sharded TFRecords.")
    parser.add_argument("annotations", nargs="+", help="annotation files, or folders of images named by their labels")
    parser.add_argument("--output_dir", required=True, help="folder for the shards and the report")
    parser.add_argument("--prefix", default="data", help="shard name prefix (default: data)")
    parser.add_argument("--format", default="auto", choices=FORMAT_CHOICES,
                        help="annotation format (default: auto, detected per input)")
    parser.add_argument("--image_root", default=None,
                        help="folder relative image paths start from (default: each annotation file's folder)")
    parser.add_argument("--delimiter", type=_delimiter, default=DEFAULT_DELIMITER,
                        help="csv: field delimiter, one character or 'tab' (default: ;)")
    parser.add_argument("--header", action="store_true", help="skip the first line of each annotation file")
    parser.add_argument("--lexicon", default=None,
                        help="mjsynth: lexicon.txt; lines whose word is not their lexicon entry are bad input")
    parser.add_argument("--label_regex", default=None,
                        help="folder: regex matched against each file name without extension; the label is its "
                             "group 'label', else its first group (default: optional DIGITS_ prefix and _DIGITS "
                             "suffix stripped)")
    parser.add_argument("--examples_per_shard", type=int, default=1000)
    parser.add_argument("--val_ratio", type=float, default=0.0,
                        help="fraction written to PREFIX-val shards (train goes to PREFIX-train)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/validation split")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--alphabet_file", default=None, help="labels with units outside it are bad input")
    parser.add_argument("--lowercase", action="store_true", help="check labels lower-cased against the alphabet")
    size = InputSize()
    parser.add_argument("--image_height", type=int, default=size.image_height,
                        help="the model's image_height, to count labels too long for their image (default: %(default)s)")
    parser.add_argument("--min_image_width", type=int, default=size.min_image_width,
                        help="the model's min_image_width (default: %(default)s)")
    parser.add_argument("--max_image_width", type=int, default=size.max_image_width,
                        help="the model's max_image_width (default: %(default)s)")
    parser.add_argument("--on_bad_input", default="skip", choices=POLICIES,
                        help="skip bad lines/images (listed in the report) or stop at the first one")
    args = parser.parse_args(argv)
    if args.examples_per_shard < 1:
        parser.error("--examples_per_shard must be at least 1")
    if not 0.0 <= args.val_ratio < 1.0:
        parser.error("--val_ratio must be in [0, 1)")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if min(args.image_height, args.min_image_width) < 1 or args.min_image_width > args.max_image_width:
        parser.error("--image_height and --min_image_width must be at least 1, and --min_image_width at most "
                     "--max_image_width")
    if os.path.exists(args.output_dir) and not os.path.isdir(args.output_dir):
        parser.error(f"--output_dir: {args.output_dir} is a file, not a folder")
    if args.lexicon is not None and not os.path.isfile(args.lexicon):
        parser.error(f"--lexicon: file not found: {args.lexicon}")
    if args.label_regex is not None:
        from tf_crnn.data.formats.folder import compile_label_regex

        try:
            compile_label_regex(args.label_regex)
        except DataError as err:
            parser.error(str(err))
    return args


@exit_on_user_error
def main(argv=None, prog: str = "python -m tf_crnn.data.convert"):
    convert(parse_args(argv, prog))
