"""`python -m tf_crnn.predict`: the command `tf-crnn predict` (tf_crnn/cli/predict.py)."""

from tf_crnn.cli.predict import main

if __name__ == "__main__":
    main()
