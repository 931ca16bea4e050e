"""Rewrites the image paths of annotation files (CSV or plain lists) to absolute paths.

    python hlp/csv_path_convertor.py data/examples/labels.tsv

The command `tf-crnn absolute-paths` (tf_crnn/cli/absolute_paths.py) under the name earlier releases gave
it; `--help` lists its arguments. It needs the package installed (`make setup`, or `pip install -e .`
in the project), as every command does.
"""

import sys

try:
    from tf_crnn.cli.absolute_paths import main
except ImportError as err:  # tf_crnn itself, not one of its dependencies
    if getattr(err, "name", None) != "tf_crnn":
        raise
    sys.exit("error: the tf_crnn package is not installed here: run `make setup` (or `pip install -e .`) in "
             "the project first")

if __name__ == "__main__":
    sys.exit(main())
