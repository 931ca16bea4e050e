"""CSV annotation files: `path<delimiter>label`, one record a line.

The delimiter defaults to `;` (the convention of the original tf-crnn CSV files) and is
set with `--delimiter`. Fields are read with the csv module, so a label holding the
delimiter or a quote is written quoted, a quote inside quotes doubled: `img.png;"a;b"`,
`img.png;"a ""b"" c"` (label `a "b" c`). A record must fit on one line (a label cannot contain a line break). `--header` skips the
first line.
"""

import csv
from typing import Iterator, Optional, Tuple

from tf_crnn.data.formats import BadLine, Sample
from tf_crnn.data.formats.lines import LineReader

DEFAULT_DELIMITER = ";"


class CsvReader(LineReader):
    format_name = "csv"

    def __init__(self, path: str, image_root: Optional[str] = None, header: bool = False,
                 check_exists: bool = False, delimiter: str = DEFAULT_DELIMITER):
        super().__init__(path, image_root, header, check_exists)
        self.delimiter = delimiter

    def settings(self) -> dict:
        return dict(super().settings(), delimiter=self.delimiter)

    def parse_line(self, text: str) -> Tuple[str, str]:
        try:
            fields = next(csv.reader([text], delimiter=self.delimiter, strict=True))
        except csv.Error as err:
            raise BadLine("malformed line", f"not a CSV record ({err})") from None
        if len(fields) != 2:
            shown = "tab" if self.delimiter == "\t" else repr(self.delimiter)
            hint = " (is --delimiter right?)" if len(fields) == 1 else " (quote a label that holds the delimiter)"
            raise BadLine("malformed line", f"expected 2 fields (image path, label) separated by {shown}, "
                                            f"found {len(fields)}{hint}")
        path, label = fields
        if not path:
            raise BadLine("malformed line", "empty image path")
        if not label:
            raise BadLine("no label", "empty label")
        return path, label


def read_csv_file(path: str, image_root: Optional[str] = None, delimiter: str = DEFAULT_DELIMITER,
                  header: bool = False, check_exists: bool = False) -> Iterator[Sample]:
    """Yields one Sample per non-blank record."""
    return CsvReader(path, image_root, header, check_exists, delimiter).samples()
