"""`tf-crnn absolute-paths FILE...` (also `python hlp/csv_path_convertor.py`): rewrite the
image paths of annotation files (CSV or plain lists) as absolute paths, into NAME_abs.EXT
(how: tf_crnn/data/absolute_paths.py)."""

import argparse
import os
from typing import Optional, Sequence

from tf_crnn.atomic_files import write_atomically
from tf_crnn.cli import ArgumentParser
from tf_crnn.data.absolute_paths import (DEFAULT_SUFFIX, check_inputs, convert_file, output_path_for, parse_delimiter,
                                         plural, report_missing, report_summary)
from tf_crnn.errors import ConfigError, DataError, exit_on_user_error


def build_parser(prog: str = "python hlp/csv_path_convertor.py") -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=prog,
        description="Make the image paths (first field) of CSV / list files absolute; "
        "writes NAME_abs.EXT beside each input or into --output_dir."
    )
    parser.add_argument("inputs", nargs="+", metavar="FILE", help="annotation files to convert")
    parser.add_argument(
        "--root",
        metavar="DIR",
        default=None,
        help="folder the relative paths are relative to (default: each file's own folder)",
    )
    parser.add_argument(
        "--delimiter",
        default="auto",
        help="field delimiter: auto (default; tab, ';', ',' or space, per file), "
        "tab, space, comma, semicolon, the literal character(s), or none (each "
        "whole line is a path, for lists whose paths contain spaces)",
    )
    parser.add_argument(
        "--output_dir", default=None, help="write the outputs here instead of beside the inputs"
    )
    parser.add_argument(
        "--suffix",
        default=DEFAULT_SUFFIX,
        help=f"added to each output's name before the extension (default: {DEFAULT_SUFFIX})",
    )
    parser.add_argument(
        "--header", action="store_true", help="the first line is a header: copy it unchanged"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="a path that does not exist is an error (exit 2, nothing written)",
    )
    return parser



@exit_on_user_error
def main(argv: Optional[Sequence[str]] = None, prog: str = "python hlp/csv_path_convertor.py") -> int:
    args = build_parser(prog).parse_args(argv)
    delimiter = parse_delimiter(args.delimiter)
    if (
        args.output_dir is not None
        and os.path.exists(args.output_dir)
        and not os.path.isdir(args.output_dir)
    ):
        raise ConfigError(f"--output_dir {args.output_dir} exists and is not a folder")
    outputs = [output_path_for(source, args.output_dir, args.suffix) for source in args.inputs]
    check_inputs(args.inputs, outputs, args.root)
    results = []
    for source, output in zip(args.inputs, outputs):
        try:
            results.append(convert_file(source, output, args.root, delimiter, args.header))
        except OSError as err:
            raise ConfigError(f"cannot read {source}: {err.strerror}") from err
    for result in results:
        report_missing(result, args.header)
    missing = sum(len(result.missing) for result in results)
    if args.strict and missing:
        raise DataError(
            f"{missing} missing {plural(missing, 'path')} (listed above); "
            "nothing written because of --strict"
        )
    if args.output_dir is not None:
        os.makedirs(args.output_dir, exist_ok=True)
    for result in results:
        try:
            write_atomically(result.output, result.content)
        except OSError as err:
            raise ConfigError(f"cannot write {result.output}: {err.strerror}") from err
        report_summary(result)
    return 0
