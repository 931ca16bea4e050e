"""The shipped word recognizer exported again from its own weights, in float32 by default.

    python scripts/reexport_shipped_model.py --output_dir /tmp/crnn_words_f32 [--precision float32] [--top_paths N] [--replace]

tf_crnn/pretrained/crnn_words/1 came out of training (scripts/train_recipe.py --ship),
whose exports then computed in the training precision: bfloat16, slow on CPUs that
emulate it. Its model dir is not shipped, but its `variables/` folder is a TF checkpoint
(prefix `variables/variables`) with the Estimator graph's variable names, so a model dir
holding only a config.json rebuilt from the export's metadata and
scripts/recipe_params.json (the config it was trained with) lets `export_saved_model`
rebuild the export from that checkpoint. The training precision goes into the config
as it was (the export's metadata, or, for exports older than that field, the dtype its
graph computes in), so the new metadata records it.

Writes a numbered version under `--output_dir` and prints its path; `--replace` then
puts it in place of `--source` (default tf_crnn/pretrained/crnn_words/1; e.g.
`--source tf_crnn/pretrained/crnn_words_cased/1`). Nothing is trained or tuned.
"""

import argparse
import json
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tf_crnn.config import EXPORT_PRECISIONS, config_from_dict, write_resolved  # noqa: E402
from tf_crnn.errors import ConfigError, exit_on_user_error  # noqa: E402

SHIPPED = os.path.join(REPO, "tf_crnn", "pretrained", "crnn_words", "1")
RECIPE = os.path.join(REPO, "scripts", "recipe_params.json")
# Fields of the export's metadata that are config fields: the export's own values win.
METADATA_FIELDS = ("alphabet", "image_height", "channels", "min_image_width", "max_image_width", "decoder",
                   "beam_width", "top_paths", "backbone", "width_multiplier", "conv_channels", "lstm_units",
                   "spatial_transformer", "lowercase_labels")
# Recipe fields that name files of the training run, which an export does not need.
RUN_FILES = ("train_files", "eval_files", "model_dir", "alphabet_file")


def training_precision(saved_model_dir: str, metadata: dict) -> str:
    """What the export's weights were trained in."""
    from tf_crnn.precision import bfloat16_compute_ops

    if "training_precision" in metadata:
        return metadata["training_precision"]
    # Exports made before the metadata recorded it computed in the training precision.
    return "mixed_bfloat16" if bfloat16_compute_ops(saved_model_dir) else "float32"


def rebuilt_config(saved_model_dir: str):
    """The config the export was trained with: scripts/recipe_params.json with the export's
    metadata (alphabet, input, decoder, network) and training precision."""
    from tf_crnn.model_files import read_metadata

    metadata = read_metadata(saved_model_dir)
    with open(RECIPE, encoding="utf-8") as handle:
        fields = {key: value for key, value in json.load(handle).items() if key not in RUN_FILES}
    fields.update({key: metadata[key] for key in METADATA_FIELDS if key in metadata})  # older exports lack some
    fields["precision"] = training_precision(saved_model_dir, metadata)
    if metadata.get("unknown_token") is not None:
        fields.update(unknown_label_policy="unknown", unknown_token=metadata["unknown_token"])
    return config_from_dict(fields)


def stand_in_model_dir(saved_model_dir: str, model_dir: str) -> str:
    """Makes `model_dir` a model dir of the export's weights for the tools that take one
    (export, tflite_convert): only the rebuilt config.json; returns the checkpoint prefix
    to pass them, the export's variables."""
    config = rebuilt_config(saved_model_dir)
    config.model_dir = model_dir
    write_resolved(config, model_dir)
    return os.path.join(saved_model_dir, "variables", "variables")


def reexport(saved_model_dir: str, output_dir: str, precision: str = "float32", top_paths: int = None) -> str:
    """Exports the weights of `saved_model_dir` again to a numbered version under `output_dir`
    (`top_paths`: alternative readings, default the source's)."""
    from tf_crnn.export.saved_model import export_saved_model

    with tempfile.TemporaryDirectory() as model_dir:
        checkpoint = stand_in_model_dir(saved_model_dir, model_dir)
        return export_saved_model(model_dir, output_dir, checkpoint=checkpoint, precision=precision,
                                  top_paths=top_paths)


@exit_on_user_error
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=SHIPPED, help="the export whose weights are re-exported "
                                                          "(default: the shipped model)")
    parser.add_argument("--output_dir", required=True, help="model base path for the new export")
    parser.add_argument("--precision", choices=EXPORT_PRECISIONS, default="float32",
                        help="what the new serving graph computes in (default float32)")
    parser.add_argument("--top_paths", type=int, default=None,
                        help="alternative readings in top_words (default: as the source; 0: none, and no beam "
                             "search in the greedy graph)")
    parser.add_argument("--replace", action="store_true", help="put the new export in place of --source "
                                                               f"(default {os.path.relpath(SHIPPED, REPO)})")
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(args.source, "variables", "variables.index")):
        raise ConfigError(f"{args.source} is not a SavedModel with a variables/ checkpoint")
    path = reexport(args.source, args.output_dir, args.precision, args.top_paths)
    print(path)
    if args.replace:
        from tf_crnn.model_files import install_export

        install_export(path, os.path.abspath(args.source))
        print(f"replaced {os.path.relpath(os.path.abspath(args.source), REPO)}")


if __name__ == "__main__":
    main(sys.argv[1:])
