"""`python -m tf_crnn.train model_params.json [--flags]`: the command `tf-crnn train`
(tf_crnn/cli/train.py) under the name earlier releases gave it."""

from tf_crnn.cli.train import main

if __name__ == "__main__":
    main()
