"""The shipped word recognizer exported again from its own weights, in float32 by default.

    python scripts/reexport_shipped_model.py --output_dir /tmp/crnn_words_f32 [--precision float32] [--top_paths N] [--replace]

tf_crnn/pretrained/crnn_words/1 came out of training (scripts/train_recipe.py --ship),
whose exports then computed in the training precision: bfloat16, slow on CPUs that
emulate it. Its model dir is not shipped; tf_crnn/export/from_export.py rebuilds one from
the export's metadata over scripts/recipe_params.json (the config it was trained with)
and exports its `variables/` checkpoint again. The training precision goes into the
config as it was (the export's metadata, or, for exports older than that field, the
dtype its graph computes in), so the new metadata records it.

Writes a numbered version under `--output_dir` and prints its path; `--replace` then
puts it in place of `--source` (default tf_crnn/pretrained/crnn_words/1; e.g.
`--source tf_crnn/pretrained/crnn_words_cased/1`). Nothing is trained or tuned.
"""

import argparse
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tf_crnn.config import EXPORT_PRECISIONS  # noqa: E402
from tf_crnn.errors import ConfigError, exit_on_user_error  # noqa: E402
from tf_crnn.export.from_export import reexport  # noqa: E402

SHIPPED = os.path.join(REPO, "tf_crnn", "pretrained", "crnn_words", "1")
# The recipe the shipped models came from: the fields an export's metadata lacks.
RECIPE = os.path.join(REPO, "scripts", "recipe_params.json")


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
    with open(RECIPE, encoding="utf-8") as handle:
        recipe = json.load(handle)
    path = reexport(args.source, args.output_dir, args.precision, args.top_paths, base_fields=recipe)
    print(path)
    if args.replace:
        from tf_crnn.model_files import install_export

        install_export(path, os.path.abspath(args.source))
        print(f"replaced {os.path.relpath(os.path.abspath(args.source), REPO)}")


if __name__ == "__main__":
    main(sys.argv[1:])
