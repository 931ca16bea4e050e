"""`tf-crnn generate --output_dir DIR [--count N]` (also `python -m tf_crnn.synth.generate`):
render synthetic word images into sharded TFRecords (how: tf_crnn/synth/generate.py)."""

import argparse
import os

from tf_crnn.cli import ArgumentParser
from tf_crnn.errors import exit_on_user_error
from tf_crnn.synth.generate import DEFAULT_CHARSET, FORMATS, generate, read_charset, summary_line
from tf_crnn.synth.words import CASES


def parse_args(argv=None, prog: str = "python -m tf_crnn.synth.generate") -> argparse.Namespace:
    parser = ArgumentParser(prog=prog, description="Render synthetic word images into sharded TFRecords.")
    parser.add_argument("--output_dir", required=True, help="where the shards go")
    parser.add_argument("--prefix", default="synth", help="shard names: PREFIX-train-*, PREFIX-val-*")
    parser.add_argument("--count", type=int, default=100000, help="training images")
    parser.add_argument("--val_count", type=int, default=2000, help="validation images (separate seed stream)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--charset", help="the characters of the labels, or an alphabet file (one unit a line); default: "
        f"{DEFAULT_CHARSET}, or the characters of --words"
    )
    parser.add_argument("--words", dest="words_file", metavar="FILE",
                        help="a word list to draw instead of English words: one word or phrase a line, UTF-8")
    parser.add_argument("--fonts", nargs="+", metavar="DIR_OR_FILE",
                        help="font files or folders to draw with instead of the system fonts")
    parser.add_argument("--case", help=f"label case: {' or '.join(CASES)} (default: lower; as_written with --words)")
    parser.add_argument("--min_length", type=int, default=1, help="shortest label, in units (characters)")
    parser.add_argument("--max_length", type=int, default=20, help="longest label, in units (characters)")
    parser.add_argument("--examples_per_shard", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="rendering processes")
    parser.add_argument("--format", dest="image_format", default="jpeg", help=f"image encoding: {' or '.join(FORMATS)}")
    parser.add_argument("--color", action="store_true", help="RGB images (default: grey)")
    parser.add_argument("--midground", type=float, default=0.0, metavar="SHARE",
                        help="share of the words drawn with stray letters behind them, 0 to 1 (default: 0)")
    parser.add_argument("--images_dir", help="also write the validation images as files with a labels.tsv")
    return parser.parse_args(argv)


@exit_on_user_error
def main(argv=None, prog: str = "python -m tf_crnn.synth.generate"):
    args = parse_args(argv, prog)
    summary = generate(
        args.output_dir,
        prefix=args.prefix,
        count=args.count,
        val_count=args.val_count,
        seed=args.seed,
        charset=read_charset(args.charset) if args.charset else None,
        case=args.case,
        min_length=args.min_length,
        max_length=args.max_length,
        examples_per_shard=args.examples_per_shard,
        workers=args.workers,
        image_format=args.image_format,
        color=args.color,
        images_dir=args.images_dir,
        words_file=args.words_file,
        fonts=args.fonts,
        midground=args.midground,
    )
    print(summary_line(summary))
