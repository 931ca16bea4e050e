"""`python -m tf_crnn.cli COMMAND [ARGS]`: the `tf-crnn` console script without its launcher."""

import sys

from tf_crnn.cli import main

if __name__ == "__main__":
    sys.exit(main())
