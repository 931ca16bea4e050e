"""`python -m tf_crnn.portable_evaluate MODELS... --annotations FILES...`: the portable forms next to the SavedModel.

The older name of `tf-crnn evaluate MODELS... --annotations FILES...` (tf_crnn/cli/evaluate.py), kept for
the scripts and pages that use it: the same command, with its arguments, writing
portable_evaluation.md/.json instead of evaluation.md/.json. MODELS may be .tflite files
(with the tf_crnn.json written next to them), a folder written by tf_crnn.tflite_convert
(all its models), .onnx files, and SavedModel folders or model base paths.

    python -m tf_crnn.portable_evaluate exports/tflite exports/crnn.onnx exports/crnn \\
        --annotations data/val_list.txt
"""

import sys

from tf_crnn.cli import evaluate


def main(argv=None):
    evaluate.main(argv, prog="python -m tf_crnn.portable_evaluate", models_form=True)


if __name__ == "__main__":
    main(sys.argv[1:])
