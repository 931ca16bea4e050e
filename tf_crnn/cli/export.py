"""`tf-crnn export MODEL_DIR --output_dir DIR` (also `python export_model.py` and
`python -m tf_crnn.export`): a trained model dir -> a serving SavedModel
(tf_crnn/export/saved_model.py)."""

import os

from tf_crnn.cli import ArgumentParser
from tf_crnn.config import EXPORT_PRECISIONS
from tf_crnn.errors import ConfigError, exit_on_user_error
from tf_crnn.export.saved_model import export_saved_model


@exit_on_user_error
def main(argv=None, prog: str = "python export_model.py"):
    parser = ArgumentParser(prog=prog,
                            description="Export a trained model dir to a serving SavedModel.")
    parser.add_argument("model_dir", help="model dir written by python -m tf_crnn.train")
    parser.add_argument("--output_dir", required=True,
                        help="model base path; the SavedModel goes to a numbered version folder inside it")
    parser.add_argument("--checkpoint", default=None, help="checkpoint prefix (default: the latest)")
    parser.add_argument("--decoder", choices=("greedy", "beam"), default=None, help="default: as trained")
    parser.add_argument("--beam_width", type=int, default=None)
    parser.add_argument("--top_paths", type=int, default=None,
                        help="alternative readings in top_words (0: none, and a greedy graph runs no beam search)")
    parser.add_argument("--precision", choices=EXPORT_PRECISIONS, default=None,
                        help="what the serving graph computes in (default: the config's export_precision, "
                             "float32 unless set); mixed_bfloat16 is fast only on CPUs with AVX512-BF16 or AMX")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.model_dir):
        raise ConfigError(f"model dir not found: {args.model_dir}")
    path = export_saved_model(args.model_dir, args.output_dir, args.checkpoint, args.decoder,
                              args.beam_width, args.top_paths, args.precision)
    print(path)

