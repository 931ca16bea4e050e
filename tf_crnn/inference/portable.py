"""Portable forms that read image bytes: TFLite cores, ONNX cores and the bytes-in TFLite
(Flex) model, each behind one `Reader` interface with the SavedModel as the reference.

A core prepares images as in training (tf_crnn/export/portable.py's FixedWidthInputs),
runs its runtime and decodes in numpy (tf_crnn/decoding/decoders.py, numpy engine); the
Flex model decodes inside its own graph.
"""

import os
from dataclasses import dataclass
from typing import List

from tf_crnn.config import GRAPH_DECODERS
from tf_crnn.errors import DataError
from tf_crnn.model_files import METADATA, alphabet_from_metadata, read_onnx_metadata, read_tflite_metadata


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
        from tf_crnn.inference.saved_model import LogitsModel

        self.model = LogitsModel(path)
        self.beam_width = beam_width or self.model.metadata.get("beam_width", 10)
        super().__init__("SavedModel", self.model.path, folder_size(self.model.path), "TensorFlow", GRAPH_DECODERS)

    def read(self, encoded, decoder):
        log_probs, lengths = self.model.logits(encoded)
        return self.model.decode(log_probs, lengths, decoder, self.beam_width)


class CoreReader(Reader):
    """A portable core: training preprocessing to the fixed width, the runtime, numpy decoding."""

    def __init__(self, label, path, runtime, metadata, beam_width=None, inputs=None):
        """`inputs`: preprocessors by input size, shared between cores (tracing one takes seconds)."""
        from tf_crnn.export.portable import FixedWidthInputs

        widths = "/".join(metadata.get("signatures", {str(metadata["width"]): None}))
        super().__init__(f"{label} ({widths} px)", path, folder_size(path), runtime, GRAPH_DECODERS)
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
        from tf_crnn.decoding import numpy_ctc
        from tf_crnn.decoding.decoders import decode_words

        images, widths = self.prepare(encoded)
        log_probs = numpy_ctc.log_softmax(self.logits(images, widths))
        return decode_words(decoder, log_probs, numpy_ctc.frame_counts(widths), self.alphabet, self.beam_width,
                            engine="numpy")


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
    """A TFLite core; one of several widths runs a batch on its narrowest signature that holds
    the batch's widest image (tf_crnn/export/portable.py)."""

    def __init__(self, label, path, metadata, threads, runtime="tensorflow", beam_width=None, inputs=None):
        import numpy as np

        super().__init__(label, path, f"TFLite ({runtime})", metadata, beam_width, inputs)
        interpreter = _interpreter(path, threads, runtime)
        # (width, runner), narrowest first: tf_crnn.json's `signatures` (the widest is
        # serving_default), or a single-width file's one signature, whatever its name.
        signatures = metadata.get("signatures") or {str(metadata["width"]): None}
        try:
            self.runners = sorted((int(width), interpreter.get_signature_runner(key))
                                  for width, key in signatures.items())
        except ValueError as err:
            raise DataError(f"{path}: a signature of its tf_crnn.json is not in the model ({err})") from None
        for width, runner in self.runners:
            if tuple(runner.get_input_details()["images"]["shape"][1:3]) != (metadata["image_height"], width):
                raise DataError(f"{path}: its input size does not match {os.path.dirname(path) or '.'}/tf_crnn.json "
                                "(converted with another --width?)")
        # The first invoke of a signature sets up its tensors and XNNPACK, tens of milliseconds:
        # here, not on the first image of each width.
        for width, runner in self.runners:
            shape = (1, metadata["image_height"], width, metadata["channels"])
            runner(images=np.zeros(shape, np.float32), widths=np.array([width], np.int32))

    def logits(self, images, widths):
        import numpy as np

        widest = int(np.max(widths)) if len(widths) else 0
        width, runner = next(((w, r) for w, r in self.runners if widest <= w), self.runners[-1])
        return runner(images=np.ascontiguousarray(images[:, :, :width]), widths=widths)["logits"]


class OnnxCoreReader(CoreReader):
    def __init__(self, path, threads, beam_width=None, inputs=None):
        try:
            import onnxruntime
        except ImportError:
            raise DataError(f"{path}: evaluating ONNX models needs onnxruntime (pip install -e .[onnx])") from None
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


def tflite_reader(path, threads, runtime, beam_width, inputs):
    metadata = read_tflite_metadata(path)
    form = {name: form for form, name in metadata.get("files", {}).items()}.get(os.path.basename(path))
    if form == "flex":
        return FlexReader(path, metadata, threads)
    label = FORM_LABELS.get(form, f"TFLite {os.path.basename(path)}")
    return TFLiteCoreReader(label, path, metadata, threads, runtime, beam_width, inputs)


def open_models(paths: List[str], threads: int, runtime: str, beam_width: int = None) -> List[Reader]:
    """Each path as a reader; a tflite_convert folder gives all the models it lists."""
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
