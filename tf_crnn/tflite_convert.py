"""`python -m tf_crnn.tflite_convert`: the command `tf-crnn tflite-convert` (tf_crnn/cli/tflite_convert.py)."""

from tf_crnn.cli.tflite_convert import main

if __name__ == "__main__":
    main()
