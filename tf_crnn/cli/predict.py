"""`tf-crnn predict [SAVED_MODEL] PATHS...` (also `python -m tf_crnn.predict`): read the text in
image files or folders.

The model is `--model DIR`, or the first argument when it is meant as one (a SavedModel
folder, a base path with numbered versions, a model dir of `python -m tf_crnn.train` or its
`export/` folder), or else the word recognizer shipped with the package
(tf_crnn/pretrained/crnn_words, trained by scripts/train_recipe.py), so words can be read
right after set-up, before any training. stderr names the SavedModel that read the images.

Prints one line per image (path, text, confidence), or a JSON list with `--json`, which
also gives what each reading is made of (`chars`: each unit's text, probability and x range
in the image's pixels) when the export has it (tf_crnn exports since 2026-12-02).
Images are checked and read as bytes, then decoded inside the SavedModel, exactly as TF
Serving would receive them. With `--language_model english` (or a text file of the user's own
words, one a line) the words come from the beam search with a character language model
(tf_crnn/decoding/lm_beam.py), run here in Python on the export's `logits` signature; the
confidence is then the CTC probability of the word read.
"""

import json
import os
import sys

from tf_crnn.cli import ArgumentParser
from tf_crnn.errors import DataError, exit_on_user_error
from tf_crnn.inference.files import find_images
from tf_crnn.inference.recognizer import Recognizer
from tf_crnn.model_files import SHIPPED_MODEL, looks_like_model, resolve_saved_model


@exit_on_user_error
def main(argv=None, prog: str = "python -m tf_crnn.predict"):
    parser = ArgumentParser(prog=prog,
                            description="Read the text in images with an exported SavedModel.")
    parser.add_argument("paths", nargs="+", metavar="[SAVED_MODEL] PATHS",
                        help="image files or folders, optionally after a SavedModel folder or model base path")
    parser.add_argument("--model", default=None,
                        help="SavedModel folder or base path, or a shipped model's name (default: the first "
                             "argument if it is one, else the shipped word recognizer crnn_words)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--language_model", default=None, metavar="FILE",
                        help="read with the beam search and a character language model fitted on this text (one "
                             "word a line); 'english' is the built-in English text (about 20 s to fit)")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f"--batch_size must be 1 or more, got {args.batch_size}")
    paths = args.paths
    model = args.model
    if model is None and looks_like_model(paths[0]):
        model, paths = paths[0], paths[1:]
        if not paths:
            raise DataError(f"{model} is a model; give the images to read after it")
    if model is None:
        if not looks_like_model(SHIPPED_MODEL):
            raise DataError(f"no model given and no shipped model in {SHIPPED_MODEL}; pass --model SAVED_MODEL")
        model = SHIPPED_MODEL
    saved_model = resolve_saved_model(model)
    images = find_images(paths)
    if not images:
        raise DataError("no image files found in " + ", ".join(paths))
    shipped = " (the shipped word recognizer)" if os.path.abspath(model) == SHIPPED_MODEL else ""
    print(f"model: {saved_model}{shipped}", file=sys.stderr)
    recognizer = Recognizer(saved_model, args.language_model)
    rows = list(recognizer.read_files(images, args.batch_size))
    if args.json:
        print(json.dumps([{"path": r.path, "text": r.text, "confidence": r.confidence,
                           **({"error": r.error} if r.error else {}),
                           **({"chars": r.chars} if r.chars is not None else {})}
                          for r in rows], ensure_ascii=False, indent=2))
    else:
        for r in rows:
            print(f"{r.path}\t{'ERROR: ' + r.error if r.error else r.text}\t{'' if r.error else f'{r.confidence:.3f}'}")
    if any(r.error for r in rows):
        print(f"{sum(1 for r in rows if r.error)} image(s) could not be read", file=sys.stderr)

