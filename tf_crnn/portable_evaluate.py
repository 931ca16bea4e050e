"""`python -m tf_crnn.portable_evaluate MODELS... --annotations FILES...`: the portable forms next to the SavedModel.

For each model (TFLite cores and the Flex bytes-in model of tf_crnn.tflite_convert,
ONNX cores of tf_crnn.onnx_export, and any SavedModel for reference), each annotation
file and each decoder, it reports the metrics of tf_crnn/evaluation/scoring.py (exact and
alphanumeric word accuracy, normalized edit distance, CER), the model's size on disk and
words/s. Words/s is end to end from the encoded image bytes, as the SavedModel's:
decode and resize (TensorFlow ops, for the cores), the model, and the CTC decoder (numpy
for the cores, TensorFlow's inside the SavedModel and the Flex model).

MODELS may be .tflite files (with the tf_crnn.json written next to them), a folder
written by tf_crnn.tflite_convert (all its models), .onnx files, and SavedModel
folders or model base paths.

    python -m tf_crnn.portable_evaluate exports/tflite exports/crnn.onnx exports/crnn \\
        --annotations data/val_list.txt
"""

import argparse
import os
import sys

from tf_crnn.config import GRAPH_DECODERS
from tf_crnn.errors import DataError, exit_on_user_error
from tf_crnn.evaluation.portable import evaluate, models_table, results_table, write_outputs
from tf_crnn.inference.portable import open_models


@exit_on_user_error
def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tf_crnn.portable_evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+",
                        help=".tflite/.onnx files, tflite_convert output folders, SavedModel folders or base paths")
    parser.add_argument("--annotations", nargs="+", required=True, help="path<TAB>label files or .tfrecord shards")
    parser.add_argument("--decoders", default="greedy,beam", help="comma-separated: greedy, beam")
    parser.add_argument("--beam_width", type=int, default=None, help="default: the model's")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads of the TFLite and ONNX runtimes (default: all cores, as TensorFlow)")
    parser.add_argument("--tflite_runtime", choices=("tensorflow", "ai-edge-litert"), default="tensorflow",
                        help="interpreter for the TFLite cores (the Flex model always uses TensorFlow's)")
    parser.add_argument("--output_dir", default="evaluation", help="where portable_evaluation.md/.json go")
    args = parser.parse_args(argv)
    decoders = [d.strip() for d in args.decoders.split(",") if d.strip()]
    unknown = [d for d in decoders if d not in GRAPH_DECODERS]
    if unknown or not decoders:
        raise DataError(f"--decoders: unknown decoder(s) {', '.join(unknown) or '(none given)'}; "
                        "use greedy and/or beam")
    if args.batch_size < 1 or args.threads < 1:
        raise DataError("--batch_size and --threads must be at least 1")
    for path in args.annotations:
        if not os.path.isfile(path):
            raise DataError(f"annotation file not found: {path}")
    for path in args.models:
        if not os.path.exists(path):
            raise DataError(f"model not found: {path}")
    models = open_models(args.models, args.threads, args.tflite_runtime, args.beam_width)
    results = evaluate(models, args.annotations, decoders, args.batch_size)
    write_outputs(models, results, args.output_dir)
    print(models_table(models) + "\n" + results_table(results), end="")
    print(f"written to {os.path.join(args.output_dir, 'portable_evaluation.md')} and portable_evaluation.json")


if __name__ == "__main__":
    main(sys.argv[1:])
