"""`python -m tf_crnn.evaluate`: the command `tf-crnn evaluate` (tf_crnn/cli/evaluate.py)."""

from tf_crnn.cli.evaluate import main

if __name__ == "__main__":
    main()
