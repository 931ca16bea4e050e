"""`python -m tf_crnn.portable_evaluate MODELS... --annotations FILES...`: the portable forms next to the SavedModel.

For each model (TFLite cores and the Flex bytes-in model of tf_crnn.tflite_convert,
ONNX cores of tf_crnn.onnx_export, and any SavedModel for reference), each annotation
file and each decoder, it reports the metrics of tf_crnn/evaluate.py (exact and
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
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import List

from tf_crnn.config import DECODERS
from tf_crnn.errors import DataError, exit_on_user_error

FORM_LABELS = {"fp32": "TFLite fp32", "fp16": "TFLite fp16", "int8": "TFLite int8", "flex": "TFLite flex (bytes in)"}


def folder_size(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)


def _tf_decode_errors():
    import tensorflow as tf

    return (tf.errors.InvalidArgumentError,)


@dataclass
class Reader:
    """A loaded model: a label for the tables, its file, size and runtime, and how it reads images."""

    label: str
    path: str
    size: int
    runtime: str
    decoders: tuple  # the decoders it can be evaluated with

    def bad_image_errors(self) -> tuple:
        """What `read` raises when an image does not decode (anything else is a real failure)."""
        return _tf_decode_errors()

    def read(self, encoded: List[bytes], decoder: str) -> List[str]:
        raise NotImplementedError


class SavedModelReader(Reader):
    """The reference: the export's `logits` signature and TensorFlow's decoders (as tf_crnn.evaluate)."""

    def __init__(self, path: str, beam_width: int = None):
        from tf_crnn.evaluate import LogitsModel

        self.model = LogitsModel(path)
        self.beam_width = beam_width or self.model.metadata.get("beam_width", 10)
        super().__init__("SavedModel", self.model.path, folder_size(self.model.path), "TensorFlow", DECODERS)

    def read(self, encoded, decoder):
        log_probs, lengths = self.model.logits(encoded)
        return self.model.decode(log_probs, lengths, decoder, self.beam_width)


class CoreReader(Reader):
    """A portable core: training preprocessing to the fixed width, the runtime, numpy decoding."""

    def __init__(self, label, path, runtime, metadata, beam_width=None, inputs=None):
        """`inputs`: preprocessors by input size, shared between cores (tracing one takes seconds)."""
        from tf_crnn.portable import FixedWidthInputs, alphabet_from_metadata

        super().__init__(f"{label} ({metadata['width']} px)", path, folder_size(path), runtime, DECODERS)
        self.metadata = metadata
        self.alphabet = alphabet_from_metadata(metadata)
        self.beam_width = beam_width or metadata.get("beam_width", 10)
        inputs = {} if inputs is None else inputs
        key = (metadata["image_height"], metadata["channels"], metadata["min_image_width"], metadata["width"])
        if key not in inputs:
            inputs[key] = FixedWidthInputs(metadata)
        self.prepare = inputs[key]

    def logits(self, images, widths):
        raise NotImplementedError

    def read(self, encoded, decoder):
        from tf_crnn import numpy_decode

        images, widths = self.prepare(encoded)
        log_probs = numpy_decode.log_softmax(self.logits(images, widths))
        return numpy_decode.words(log_probs, numpy_decode.frame_counts(widths), self.alphabet, decoder,
                                  self.beam_width)


def _interpreter(path: str, threads: int, runtime: str):
    if runtime == "ai-edge-litert":
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise DataError("--tflite_runtime ai-edge-litert: the package is not installed "
                            "(pip install -e .[tflite])") from None
    else:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    try:
        return Interpreter(model_path=path, num_threads=threads)
    except ValueError as err:
        raise DataError(f"{path}: not a TFLite model ({err})") from None


class TFLiteCoreReader(CoreReader):
    def __init__(self, label, path, metadata, threads, runtime="tensorflow", beam_width=None, inputs=None):
        super().__init__(label, path, f"TFLite ({runtime})", metadata, beam_width, inputs)
        self.runner = _interpreter(path, threads, runtime).get_signature_runner()

    def logits(self, images, widths):
        return self.runner(images=images, widths=widths)["logits"]


class OnnxCoreReader(CoreReader):
    def __init__(self, path, threads, beam_width=None, inputs=None):
        try:
            import onnxruntime
        except ImportError:
            raise DataError(f"{path}: evaluating ONNX models needs onnxruntime (pip install -e .[onnx])") from None
        from tf_crnn.onnx_export import read_onnx_metadata

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types for unreadable files
            raise DataError(f"{path}: not an ONNX model ({str(err).splitlines()[0]})") from None
        super().__init__("ONNX fp32", path, "ONNX Runtime", read_onnx_metadata(self.session), beam_width, inputs)

    def logits(self, images, widths):
        return self.session.run(["logits"], {"images": images, "widths": widths})[0]


class FlexReader(Reader):
    """The bytes-in TFLite model: its own in-graph decoder, as exported."""

    def __init__(self, path, metadata, threads):
        self.decoder = metadata.get("decoder", "greedy")
        super().__init__(FORM_LABELS["flex"], path, folder_size(path), "TFLite (tensorflow, Flex)",
                         (f"{self.decoder} (in graph)",))
        self.runner = _interpreter(path, threads, "tensorflow").get_signature_runner()

    def bad_image_errors(self):
        return (RuntimeError,)  # the Flex delegate reports TensorFlow's decode errors so

    def read(self, encoded, decoder):
        import numpy as np

        words = self.runner(images=np.array(encoded, dtype=object))["words"]
        return [word.decode("utf-8") for word in words]


def read_tflite_metadata(path: str) -> dict:
    from tf_crnn.portable import METADATA

    metadata_path = os.path.join(os.path.dirname(os.path.abspath(path)), METADATA)
    if not os.path.isfile(metadata_path):
        raise DataError(f"{path}: no {METADATA} next to it (written by python -m tf_crnn.tflite_convert)")
    with open(metadata_path, encoding="utf-8") as handle:
        return json.load(handle)


def tflite_reader(path, threads, runtime, beam_width, inputs):
    metadata = read_tflite_metadata(path)
    form = {name: form for form, name in metadata.get("files", {}).items()}.get(os.path.basename(path))
    if form == "flex":
        return FlexReader(path, metadata, threads)
    label = FORM_LABELS.get(form, f"TFLite {os.path.basename(path)}")
    reader = TFLiteCoreReader(label, path, metadata, threads, runtime, beam_width, inputs)
    if tuple(reader.runner.get_input_details()["images"]["shape"][1:3]) != (metadata["image_height"],
                                                                             metadata["width"]):
        raise DataError(f"{path}: its input size does not match {os.path.dirname(path) or '.'}/tf_crnn.json "
                        "(converted with another --width?)")
    return reader


def open_models(paths: List[str], threads: int, runtime: str, beam_width: int = None) -> List[Reader]:
    """Each path as a reader; a tflite_convert folder gives all the models it lists."""
    from tf_crnn.portable import METADATA

    models, inputs = [], {}
    for path in paths:
        if not os.path.exists(path):
            raise DataError(f"model not found: {path}")
        if os.path.isdir(path) and os.path.isfile(os.path.join(path, METADATA)):
            files = read_tflite_metadata(os.path.join(path, METADATA)).get("files", {})
            models.extend(tflite_reader(os.path.join(path, name), threads, runtime, beam_width, inputs)
                          for name in files.values())
        elif path.endswith(".tflite"):
            models.append(tflite_reader(path, threads, runtime, beam_width, inputs))
        elif path.endswith(".onnx"):
            models.append(OnnxCoreReader(path, threads, beam_width, inputs))
        else:
            models.append(SavedModelReader(path, beam_width))
    return models


def predict_set(model: Reader, samples, decoder: str, batch_size: int):
    """Words for every sample (None where the image does not decode) and the seconds taken."""
    from tf_crnn.evaluate import read_samples

    start = time.perf_counter()
    rows = read_samples(lambda batch: model.read(batch, decoder), samples, batch_size, model.bad_image_errors())
    seconds = time.perf_counter() - start
    predictions = [text for text, _ in rows]
    first_error = next((str(err).splitlines()[0] for _, err in rows if err is not None), None)
    if predictions and all(p is None for p in predictions):
        # More likely the model than every image: say so instead of a quiet 0%.
        print(f"warning: {model.label} read none of the images ({first_error})", file=sys.stderr)
    return predictions, seconds


def evaluate(models: List[Reader], annotation_files: List[str], decoders=DECODERS, batch_size: int = 64):
    """(model, SetResult) for every model, set and decoder."""
    from tf_crnn.evaluate import load_samples, score, set_name

    results = []
    for path in annotation_files:
        samples = load_samples(path)
        for model in models:
            try:  # warm-up, so words/s measures steady state
                model.read([next(image for _, image, _ in samples if image is not None)], model.decoders[0])
            except (model.bad_image_errors() + (StopIteration,)):
                pass
            for decoder in [d for d in model.decoders if d in decoders] or model.decoders[:1]:
                predictions, seconds = predict_set(model, samples, decoder, batch_size)
                results.append((model, score(set_name(path), decoder, samples, predictions, seconds)))
    return results


def models_table(models: List[Reader]) -> str:
    lines = ["| model | runtime | size | file |", "|---|---|---|---|"]
    for model in models:
        lines.append(f"| {model.label} | {model.runtime} | {model.size / 1e6:.2f} MB | `{model.path}` |")
    return "\n".join(lines) + "\n"


def results_table(results) -> str:
    """evaluate.py's table, one row per model, set and decoder."""
    from tf_crnn.evaluate import markdown_table

    return markdown_table([dataclasses.replace(result, name=f"{model.label} · {result.name}")
                           for model, result in results])


def write_outputs(models, results, output_dir: str) -> None:
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "portable_evaluation.md"), "w", encoding="utf-8") as handle:
        handle.write(models_table(models) + "\n" + results_table(results))
    summary = {
        "models": [{"label": m.label, "path": m.path, "size_bytes": m.size, "runtime": m.runtime} for m in models],
        "results": [{"model": model.label, **result.summary()} for model, result in results],
    }
    with open(os.path.join(output_dir, "portable_evaluation.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)


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
    unknown = [d for d in decoders if d not in DECODERS]
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
