"""`tf-crnn tflite-convert MODEL_DIR --output_dir DIR` (also `python -m tf_crnn.tflite_convert`): TFLite models of a trained CRNN
(the forms and their files: tf_crnn/export/tflite.py)."""

import os

from tf_crnn.cli import ArgumentParser
from tf_crnn.errors import ConfigError, exit_on_user_error
from tf_crnn.export.tflite import FORMS, convert, parse_forms, parse_widths


@exit_on_user_error
def main(argv=None, prog: str = "python -m tf_crnn.tflite_convert"):
    parser = ArgumentParser(prog=prog,
                            description="Convert a trained model dir to TFLite (fp32, fp16, int8 core; "
                                        "bytes-in model with Select TF ops).")
    parser.add_argument("model_dir", help="model dir written by python -m tf_crnn.train")
    parser.add_argument("--output_dir", required=True, help="folder for the .tflite files and tf_crnn.json")
    parser.add_argument("--width", type=parse_widths, default=(128,),
                        help="the core's fixed image width in pixels, a multiple of 4 (default 128); several, "
                             "comma-separated (64,128,256), give one signature each over the same weights, and "
                             "readers run each image on the narrowest that holds it: faster on narrow crops")
    parser.add_argument("--representative", action="append", default=None, metavar="SHARDS_GLOB",
                        help="shards to calibrate int8 on (repeatable; default: the model's train_files)")
    parser.add_argument("--samples", type=int, default=200, help="calibration images for int8 (default 200)")
    parser.add_argument("--checkpoint", default=None, help="checkpoint prefix (default: the latest)")
    parser.add_argument("--forms", default=",".join(FORMS), help=f"comma-separated subset of {', '.join(FORMS)}")
    args = parser.parse_args(argv)
    forms = parse_forms(args.forms)
    if args.samples < 1:
        raise ConfigError(f"--samples must be at least 1, not {args.samples}")
    written = convert(args.model_dir, args.output_dir, args.width, args.representative, args.samples,
                      args.checkpoint, forms)
    for form, path in written.items():
        print(f"{form}\t{os.path.getsize(path)} bytes\t{path}")

