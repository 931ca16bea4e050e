"""`python -m tf_crnn.onnx_export MODEL_DIR --output FILE.onnx`: the CRNN core as an ONNX model.

Exports the core of tf_crnn/portable.py (float images of one fixed width and their
true widths in, per-frame `logits` out, batch size free) with tf2onnx, for ONNX
Runtime and the other ONNX back ends; decoding is tf_crnn/numpy_decode.py. The
alphabet, image height, fixed width and the rest of the export metadata travel inside
the file, as the JSON string of its `tf_crnn` metadata property, so the .onnx file is
all a user needs:

    import json, onnxruntime
    session = onnxruntime.InferenceSession("crnn.onnx")
    metadata = json.loads(session.get_modelmeta().custom_metadata_map["tf_crnn"])

Needs the `onnx` extra (`pip install -e .[onnx]`: tf2onnx, onnx, onnxruntime, pinned
to versions that keep TensorFlow 2.15's numpy and protobuf).
"""

import argparse
import json
import os
import sys

from tf_crnn.errors import ConfigError, exit_on_user_error

METADATA_KEY = "tf_crnn"
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
    from tf_crnn.portable import build_core, check_width, load_model_config

    check_width(load_model_config(model_dir), width)  # bad input first, before anything slow
    tf2onnx = require_tf2onnx()
    core = build_core(model_dir, width, checkpoint)
    model, _ = tf2onnx.convert.from_function(core.function(), input_signature=core.input_signature(), opset=opset)
    metadata = core.metadata()
    metadata["checkpoint"] = os.path.basename(core.checkpoint)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(metadata, ensure_ascii=False)
    folder = os.path.dirname(os.path.abspath(output))
    os.makedirs(folder, exist_ok=True)
    with open(output + ".tmp", "wb") as handle:
        handle.write(model.SerializeToString())
    os.replace(output + ".tmp", output)
    return output


def read_onnx_metadata(session) -> dict:
    """The tf_crnn metadata of an onnxruntime session's model (see export_onnx)."""
    properties = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in properties:
        raise ConfigError("the ONNX model has no tf_crnn metadata: was it written by python -m tf_crnn.onnx_export?")
    return json.loads(properties[METADATA_KEY])


@exit_on_user_error
def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tf_crnn.onnx_export",
                                     description="Export a trained model dir's image-to-logits core to ONNX.")
    parser.add_argument("model_dir", help="model dir written by python -m tf_crnn.train")
    parser.add_argument("--output", required=True, help="the .onnx file to write")
    parser.add_argument("--width", type=int, default=128,
                        help="the core's fixed image width in pixels, a multiple of 4 (default 128)")
    parser.add_argument("--checkpoint", default=None, help="checkpoint prefix (default: the latest)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    args = parser.parse_args(argv)
    if not args.output.endswith(".onnx"):
        raise ConfigError(f"--output {args.output}: give a file name ending in .onnx")
    path = export_onnx(args.model_dir, args.output, args.width, args.checkpoint, args.opset)
    print(f"{os.path.getsize(path)} bytes\t{path}")


if __name__ == "__main__":
    main(sys.argv[1:])
