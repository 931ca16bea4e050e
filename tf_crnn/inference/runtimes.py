"""The runtimes by name, and the one place that opens a model file or folder as readers.

Adding a runtime is one entry in `RUNTIMES`: a function from a path to its readers
(tf_crnn/inference/reader.py). The runtime of a path is inferred from it unless named:
`.tflite` files and tf_crnn.tflite_convert folders (a tf_crnn.json at their top) are
TFLite, `.onnx` files ONNX, anything else a SavedModel folder or model base path.
"""

import os
from dataclasses import dataclass, field
from typing import List, Optional

from tf_crnn.errors import DataError
from tf_crnn.inference.reader import Reader
from tf_crnn.model_files import METADATA, read_tflite_metadata


@dataclass
class RuntimeOptions:
    """How the runtimes run: threads of the TFLite and ONNX runtimes, the TFLite interpreter
    (`tensorflow` or `ai-edge-litert`), the beam width (default: the export's)."""

    threads: int = os.cpu_count()
    tflite_runtime: str = "tensorflow"
    beam_width: Optional[int] = None
    # preprocessors by input size, shared between cores (tracing one takes seconds)
    inputs: dict = field(default_factory=dict, repr=False)


def open_saved_model(path: str, options: RuntimeOptions) -> List[Reader]:
    from tf_crnn.inference.saved_model import SavedModelReader

    return [SavedModelReader(path, options.beam_width)]


def open_tflite(path: str, options: RuntimeOptions) -> List[Reader]:
    """A .tflite file, or every model a tflite_convert folder lists."""
    from tf_crnn.inference.portable import tflite_reader

    if os.path.isdir(path):
        files = read_tflite_metadata(os.path.join(path, METADATA)).get("files", {})
        paths = [os.path.join(path, name) for name in files.values()]
    else:
        paths = [path]
    return [tflite_reader(each, options.threads, options.tflite_runtime, options.beam_width, options.inputs)
            for each in paths]


def open_onnx(path: str, options: RuntimeOptions) -> List[Reader]:
    from tf_crnn.inference.portable import OnnxCoreReader

    return [OnnxCoreReader(path, options.threads, options.beam_width, options.inputs)]


RUNTIMES = {"savedmodel": open_saved_model, "tflite": open_tflite, "onnx": open_onnx}


def runtime_of(path: str) -> str:
    """The runtime a model path is for, by its name or contents."""
    if path.endswith(".tflite") or (os.path.isdir(path) and os.path.isfile(os.path.join(path, METADATA))):
        return "tflite"
    if path.endswith(".onnx"):
        return "onnx"
    return "savedmodel"


def open_readers(paths: List[str], runtime: Optional[str] = None,
                 options: Optional[RuntimeOptions] = None) -> List[Reader]:
    """Each path as readers, with the runtime named (one of `RUNTIMES`) or the one inferred
    from each path; a tflite_convert folder gives all the models it lists."""
    if runtime is not None and runtime not in RUNTIMES:
        raise DataError(f"unknown runtime {runtime!r}; use {', '.join(RUNTIMES)}")
    options = options or RuntimeOptions()
    readers = []
    for path in paths:
        if not os.path.exists(path):
            raise DataError(f"model not found: {path}")
        readers.extend(RUNTIMES[runtime or runtime_of(path)](path, options))
    return readers
