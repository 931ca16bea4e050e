"""`python -m tf_crnn.onnx_export`: the command `tf-crnn onnx-export` (tf_crnn/cli/onnx_export.py)."""

from tf_crnn.cli.onnx_export import main

if __name__ == "__main__":
    main()
