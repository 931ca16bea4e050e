"""Numbers written with random MNIST digits, as PNG images with labels.tsv or TFRecord shards.

    python hlp/numbers_mnist_generator.py --output_dir data/mnist_numbers --count 1000

The command `tf-crnn mnist-numbers` (tf_crnn/cli/mnist_numbers.py) under the name earlier releases gave
it; `--help` lists its arguments. It needs the package installed (`make setup`, or `pip install -e .`
in the project), as every command does.
"""

import sys

try:
    from tf_crnn.cli.mnist_numbers import main
except ImportError as err:  # tf_crnn itself, not one of its dependencies
    if getattr(err, "name", None) != "tf_crnn":
        raise
    sys.exit("error: the tf_crnn package is not installed here: run `make setup` (or `pip install -e .`) in "
             "the project first")

if __name__ == "__main__":
    sys.exit(main())
