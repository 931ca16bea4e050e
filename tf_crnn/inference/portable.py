"""The portable forms as readers: TFLite cores (one width or several), ONNX cores and the
bytes-in TFLite (Flex) model.

A core prepares images as in training (tf_crnn/export/portable.py's FixedWidthInputs) and
runs its runtime to per-frame logits; its words come from tf_crnn/decoding/decoders.py's
numpy engine, as every reader's (tf_crnn/inference/reader.py). The Flex model decodes
inside its own graph.
"""

import os

from tf_crnn.errors import DataError
from tf_crnn.inference.reader import Reader
from tf_crnn.model_files import read_onnx_metadata, read_tflite_metadata


FORM_LABELS = {"fp32": "TFLite fp32", "fp16": "TFLite fp16", "int8": "TFLite int8", "flex": "TFLite flex (bytes in)"}


class CoreReader(Reader):
    """A portable core: training preprocessing to the fixed width, the runtime, numpy decoding."""

    def __init__(self, label, path, runtime, metadata, beam_width=None, inputs=None):
        """`inputs`: preprocessors by input size, shared between cores (tracing one takes seconds)."""
        from tf_crnn.export.portable import FixedWidthInputs

        widths = "/".join(metadata.get("signatures", {str(metadata["width"]): None}))
        super().__init__(f"{label} ({widths} px)", path, runtime, beam_width)
        self.metadata = metadata
        inputs = {} if inputs is None else inputs
        key = (metadata["image_height"], metadata["channels"], metadata["min_image_width"], metadata["width"])
        if key not in inputs:
            inputs[key] = FixedWidthInputs(metadata)
        self.prepare = inputs[key]

    def logits(self, images, widths):
        """The runtime's logits [batch, frames, classes] of prepared images."""
        raise NotImplementedError

    def log_probs(self, encoded):
        from tf_crnn.decoding import numpy_ctc

        images, widths = self.prepare(encoded)
        return numpy_ctc.log_softmax(self.logits(images, widths)), numpy_ctc.frame_counts(widths)


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
    """An ONNX core (tf_crnn.onnx_export), its metadata inside the file."""

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
    """The bytes-in TFLite model: its own in-graph decoder, as exported; no log-probabilities."""

    def __init__(self, path, metadata, threads):
        super().__init__(FORM_LABELS["flex"], path, "TFLite (tensorflow, Flex)")
        self.metadata = metadata
        self.graph_decoder = metadata.get("decoder", "greedy")
        self.runner = _interpreter(path, threads, "tensorflow").get_signature_runner()

    @property
    def decoders(self):
        return (f"{self.graph_decoder} (in graph)",)

    def bad_image_errors(self):
        return (RuntimeError,)  # the Flex delegate reports TensorFlow's decode errors so

    def log_probs(self, encoded):
        raise NotImplementedError(f"{self.label} gives words only")

    def graph_outputs(self, encoded):
        import numpy as np

        return self.runner(images=np.array(encoded, dtype=object))

    def readings(self, encoded, decoder="greedy", lexicon=None, lm_decoder=None):
        if decoder not in (self.graph_decoder,) + self.decoders:
            raise ValueError(f"{self.label} reads with {self.decoders[0]} only, not {decoder}")
        return [(word.decode("utf-8"), None) for word in self.graph_outputs(encoded)["words"]]


def tflite_reader(path, threads, runtime, beam_width, inputs):
    """The reader of one .tflite file, by the form its tf_crnn.json gives it."""
    metadata = read_tflite_metadata(path)
    form = {name: form for form, name in metadata.get("files", {}).items()}.get(os.path.basename(path))
    if form == "flex":
        return FlexReader(path, metadata, threads)
    label = FORM_LABELS.get(form, f"TFLite {os.path.basename(path)}")
    return TFLiteCoreReader(label, path, metadata, threads, runtime, beam_width, inputs)
