"""`tf-crnn onnx-export MODEL_DIR --output FILE.onnx` (also `python -m tf_crnn.onnx_export`): the CRNN core as an ONNX model
(what the file holds: tf_crnn/export/onnx.py)."""

import os

from tf_crnn.cli import ArgumentParser
from tf_crnn.errors import ConfigError, exit_on_user_error
from tf_crnn.export.onnx import DEFAULT_OPSET, export_onnx


@exit_on_user_error
def main(argv=None, prog: str = "python -m tf_crnn.onnx_export"):
    parser = ArgumentParser(prog=prog,
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

