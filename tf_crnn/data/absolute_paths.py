"""Rewrites the image paths of annotation files (CSV or plain lists) to absolute paths.

Annotation files usually name images relative to the file's own folder, which breaks as
soon as the file is read from somewhere else (a training run in another working
directory, a copy of the list). This tool makes the paths absolute once, so the file can
be used from anywhere.

The path is the first field of each line. Everything after the first delimiter (the
label, any further columns, the line ending) is copied byte for byte: only the path
changes. The delimiter is detected per file among tab, `;`, `,` and space unless
--delimiter names it; a file with none of them is a list of paths, one a line.

For `a.csv` the output is `a_abs.csv` beside it, or in --output_dir. An input is never
overwritten. Paths that do not exist are reported with file:line on stderr; with
--strict they are an error and nothing is written.

The library under `tf-crnn absolute-paths` and `python hlp/csv_path_convertor.py` (their
command line: tf_crnn/cli/absolute_paths.py):

    tf-crnn absolute-paths data/examples/labels.tsv
"""

import os
import sys
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from tf_crnn.errors import ConfigError, DataError

CANDIDATE_DELIMITERS = (b"\t", b";", b",", b" ")
DELIMITER_NAMES = {"tab": b"\t", "semicolon": b";", "comma": b",", "space": b" ", "\\t": b"\t"}
UTF8_BOM = b"\xef\xbb\xbf"
MAX_REPORTED_PER_FILE = 20
DEFAULT_SUFFIX = "_abs"
NO_DELIMITER = b""  # --delimiter none: each whole line is a path, even one with spaces


@dataclass
class Conversion:
    """One input file converted in memory, with what was found on the way."""

    source: str
    output: str
    delimiter: Optional[bytes]
    content: bytes = b""
    converted: int = 0
    already_absolute: int = 0
    missing: List[Tuple[int, str]] = field(default_factory=list)


# --- arguments and file names ---------------------------------------------------------


def parse_delimiter(value: str) -> Optional[bytes]:
    """None means auto-detect, NO_DELIMITER a list file; names spare the user shell quoting."""
    if value == "auto":
        return None
    if value == "none":
        return NO_DELIMITER
    if value in DELIMITER_NAMES:
        return DELIMITER_NAMES[value]
    if not value:
        raise ConfigError("--delimiter must not be empty")
    return value.encode("utf-8")


def output_path_for(source: str, output_dir: Optional[str], suffix: str) -> str:
    stem, ext = os.path.splitext(os.path.basename(source))
    folder = output_dir if output_dir is not None else os.path.dirname(source)
    return os.path.join(folder, f"{stem}{suffix}{ext}")


def check_inputs(inputs: Sequence[str], outputs: Sequence[str], root: Optional[str]) -> None:
    """Refuses anything that would read a missing file or overwrite an input or another output."""
    for source in inputs:
        if not os.path.isfile(source):
            raise ConfigError(f"{source} is not a file")
    if root is not None and not os.path.isdir(root):
        raise ConfigError(f"--root {root} is not a folder")
    real_inputs = {os.path.realpath(source): source for source in inputs}
    seen = {}
    for source, output in zip(inputs, outputs):
        real_output = os.path.realpath(output)
        if real_output in real_inputs:
            raise ConfigError(
                f"output {output} for {source} would overwrite the input {real_inputs[real_output]}"
            )
        if real_output in seen:
            raise ConfigError(f"{seen[real_output]} and {source} would both be written to {output}")
        seen[real_output] = source


# --- reading lines --------------------------------------------------------------------


def split_line_ending(line: bytes) -> Tuple[bytes, bytes]:
    body = line.rstrip(b"\r\n")
    return body, line[len(body) :]


def detect_delimiter(lines: Sequence[bytes]) -> Optional[bytes]:
    """The first candidate found in every non-empty line; None for a plain list of paths."""
    bodies = [split_line_ending(line)[0] for line in lines]
    bodies = [body for body in bodies if body.strip()]
    for candidate in CANDIDATE_DELIMITERS:
        if bodies and all(candidate in _without_quoted_path(body) for body in bodies):
            return candidate
    return None


def _without_quoted_path(body: bytes) -> bytes:
    """A quoted first field may hold the delimiter; it must not count when detecting it."""
    if not body.startswith(b'"'):
        return body
    end = _closing_quote(body)
    return body[end + 1 :] if end is not None else body


def _closing_quote(body: bytes) -> Optional[int]:
    """Index of the quote that ends a CSV-quoted first field ("" is an escaped quote)."""
    i = 1
    while i < len(body):
        if body[i : i + 1] == b'"':
            if body[i + 1 : i + 2] == b'"':
                i += 2
                continue
            return i
        i += 1
    return None


def split_path_field(body: bytes, delimiter: Optional[bytes]) -> Tuple[bytes, bool, bytes]:
    """(path bytes, whether it was CSV-quoted, the rest of the line from the delimiter on)."""
    if body.startswith(b'"'):
        end = _closing_quote(body)
        after = body[end + 1 :] if end is not None else None
        if after == b"" or (
            after is not None and delimiter is not None and after.startswith(delimiter)
        ):
            return body[1:end].replace(b'""', b'"'), True, after
    if delimiter is None:
        return body, False, b""
    cut = body.find(delimiter)
    if cut < 0:
        return body, False, b""
    return body[:cut], False, body[cut:]


def decode_path(raw: bytes, source: str, line_number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(
            f"{source}:{line_number}: the path is not valid UTF-8 ({err.reason})"
        ) from err


# --- converting -----------------------------------------------------------------------


def absolute_path(path: str, base: str) -> str:
    return os.path.normpath(os.path.join(base, path))


def encode_path(path: str, quoted: bool) -> bytes:
    raw = path.encode("utf-8")
    return b'"' + raw.replace(b'"', b'""') + b'"' if quoted else raw


def convert_file(
    source: str, output: str, root: Optional[str], delimiter: Optional[bytes], header: bool
) -> Conversion:
    """Converts one file in memory; nothing is written here."""
    with open(source, "rb") as handle:
        data = handle.read()
    bom = UTF8_BOM if data.startswith(UTF8_BOM) else b""
    lines = data[len(bom) :].splitlines(keepends=True)
    first_data_line = 1 if header and lines else 0
    if delimiter is None:
        delimiter = detect_delimiter(lines[first_data_line:])
    elif delimiter == NO_DELIMITER:
        delimiter = None
    base = os.path.abspath(root if root is not None else os.path.dirname(source) or ".")
    result = Conversion(source=source, output=output, delimiter=delimiter)
    out = [bom] + lines[:first_data_line]
    for number, line in enumerate(lines[first_data_line:], start=first_data_line + 1):
        out.append(convert_line(line, number, base, result))
    result.content = b"".join(out)
    return result


def convert_line(line: bytes, number: int, base: str, result: Conversion) -> bytes:
    body, ending = split_line_ending(line)
    if not body.strip():
        return line
    raw_path, quoted, rest = split_path_field(body, result.delimiter)
    path = decode_path(raw_path, result.source, number)
    if os.path.isabs(path):
        result.already_absolute += 1
        new_path = path
    else:
        result.converted += 1
        new_path = absolute_path(path, base)
    if not os.path.exists(new_path):
        result.missing.append((number, new_path))
    if new_path == path:
        return line
    return encode_path(new_path, quoted) + rest + ending


# --- reporting and writing ------------------------------------------------------------


def plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"


def describe_delimiter(delimiter: Optional[bytes]) -> str:
    names = {b"\t": "tab", b" ": "space", b",": "comma", b";": "semicolon"}
    if delimiter is None:
        return "none, one path a line"
    return names.get(delimiter, repr(delimiter.decode("utf-8", "replace")))


def report_missing(result: Conversion, header: bool) -> None:
    for number, path in result.missing[:MAX_REPORTED_PER_FILE]:
        hint = ""
        if number == 1 and not header:
            hint = " (a header line? pass --header)"
        elif result.delimiter == b" ":
            hint = " (a path with spaces? pass --delimiter none or the real delimiter)"
        print(f"{result.source}:{number}: warning: no such file: {path}{hint}", file=sys.stderr)
    hidden = len(result.missing) - MAX_REPORTED_PER_FILE
    if hidden > 0:
        print(f"{result.source}: warning: {hidden} more missing paths not listed", file=sys.stderr)


def report_summary(result: Conversion) -> None:
    print(
        f"{result.source} -> {result.output}: "
        f"{result.converted} {plural(result.converted, 'path')} made absolute, "
        f"{result.already_absolute} already absolute, {len(result.missing)} missing "
        f"(delimiter: {describe_delimiter(result.delimiter)})",
        file=sys.stderr,
    )

