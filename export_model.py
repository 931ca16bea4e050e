"""Export a trained tf_crnn model dir to a serving SavedModel; see `python export_model.py --help`."""

import sys

from tf_crnn.export.__main__ import main

if __name__ == "__main__":
    main(sys.argv[1:])
