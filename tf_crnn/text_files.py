"""How every text file a user writes is read: alphabets, annotation lists, word lists.

One rule, so a file one command accepts reads the same in the others: UTF-8, a leading
byte-order mark dropped (editors on Windows write one), lines ending in "\\n" or "\\r\\n".
A file in UTF-16 or UTF-32 (PowerShell's `>` writes UTF-16) is refused as a whole with a
line that says what to do, since every line of it would otherwise be misread; and a
line with a NUL byte is refused by itself (a NUL cannot be part of a path or a label;
it means a binary file, or wide text without its mark).
"""

from tf_crnn.errors import DataError

BYTE_ORDER_MARK = "\ufeff"
# Longest first: UTF-32 LE starts with UTF-16 LE's mark.
_WIDE_MARKS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
               (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))


class BadText(ValueError):
    """One line that is not text this project reads; the message says why."""


def refuse_wide_encoding(path: str, head: bytes) -> None:
    """Raises DataError if `head`, the first bytes of `path`, start with a UTF-16/32 mark."""
    for mark, name in _WIDE_MARKS:
        if head.startswith(mark):
            raise DataError(f"{path}: {name} text; save it as UTF-8 (for example: "
                            f"iconv -f {name} -t UTF-8 {path} > fixed.txt)")


def decode_line(raw: bytes, first: bool) -> str:
    """The text of one line's bytes, without its line end (and its mark if `first`).

    Raises BadText for bytes that are not UTF-8, or hold a NUL.
    """
    nul = raw.find(b"\0")
    if nul >= 0:
        raise BadText(f"holds a NUL byte at byte {nul} (a binary file, or UTF-16 text?)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadText(f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    text = text.rstrip("\r\n")
    return text[len(BYTE_ORDER_MARK):] if first and text.startswith(BYTE_ORDER_MARK) else text


def open_text_file(path: str, what: str, folder_hint: str = ""):
    """Opens a user's text file for binary reading, or says in one line why it cannot;
    `what` names it ("alphabet file"), `folder_hint` says what to do when it is a folder."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise DataError(f"{what} is a folder: {path}{folder_hint}") from None
    except OSError as err:
        raise DataError(f"{what} cannot be read: {path}: {err.strerror}") from None


def read_lines(path: str, what: str) -> list:
    """Every line of the text file `path` (`what` names it in messages), by the rule above."""
    with open_text_file(path, what) as handle:
        data = handle.read()
    refuse_wide_encoding(path, data[:4])
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    result = []
    for number, raw in enumerate(lines, start=1):
        try:
            result.append(decode_line(raw, first=number == 1))
        except BadText as bad:
            raise DataError(f"{path}:{number}: {bad}") from None
    return result
