"""The CRNN core as an ONNX model (`python -m tf_crnn.onnx_export MODEL_DIR --output FILE.onnx`).

Exports the core of tf_crnn/export/portable.py (float images of one fixed width and their
true widths in, per-frame `logits` out, batch size free) with tf2onnx, for ONNX
Runtime and the other ONNX back ends; decoding is tf_crnn/decoding/numpy_ctc.py. The
alphabet, image height, fixed width and the rest of the export metadata travel inside
the file, as the JSON string of its `tf_crnn` metadata property, so the .onnx file is
all a user needs:

    import json, onnxruntime
    session = onnxruntime.InferenceSession("crnn.onnx")
    metadata = json.loads(session.get_modelmeta().custom_metadata_map["tf_crnn"])

Needs the `onnx` extra (`pip install -e .[onnx]`: tf2onnx, onnx, onnxruntime, pinned
to versions that keep TensorFlow 2.15's numpy and protobuf).
"""

import json
import os

from tf_crnn.errors import ConfigError
from tf_crnn.model_files import ONNX_METADATA_KEY
DEFAULT_OPSET = 17


def require_tf2onnx():
    """tf2onnx, or a user error saying how to install it."""
    try:
        import onnx  # noqa: F401
        import tf2onnx
    except ImportError as err:
        raise ConfigError(f"ONNX export needs the onnx extra ({err.name} is missing): pip install -e .[onnx]") from None
    return tf2onnx


def export_onnx(model_dir: str, output: str, width: int = 128, checkpoint: str = None,
                opset: int = DEFAULT_OPSET) -> str:
    """Writes the core of `model_dir` for images `width` pixels wide to `output`; returns its path."""
    from tf_crnn.export.portable import build_core, check_width, load_model_config

    check_width(load_model_config(model_dir), width)  # bad input first, before anything slow
    tf2onnx = require_tf2onnx()
    core = build_core(model_dir, width, checkpoint)
    model, _ = tf2onnx.convert.from_function(core.function(), input_signature=core.input_signature(), opset=opset)
    metadata = core.metadata()
    metadata["checkpoint"] = os.path.basename(core.checkpoint)
    entry = model.metadata_props.add()
    entry.key, entry.value = ONNX_METADATA_KEY, json.dumps(metadata, ensure_ascii=False)
    folder = os.path.dirname(os.path.abspath(output))
    os.makedirs(folder, exist_ok=True)
    with open(output + ".tmp", "wb") as handle:
        handle.write(model.SerializeToString())
    os.replace(output + ".tmp", output)
    return output
