"""`python -m tf_crnn.predict [SAVED_MODEL] PATHS...`: read the text in image files or folders.

The model is `--model DIR`, or the first argument when it is a SavedModel folder (or a
base path with numbered versions), or else the word recognizer shipped with the package
(tf_crnn/pretrained/crnn_words, trained by scripts/train_recipe.py), so words can be read
right after set-up, before any training.

Prints one line per image (path, text, confidence), or a JSON list with `--json`.
Images are read as bytes and decoded inside the SavedModel, exactly as TF Serving
would receive them. With `--language_model english` (or a text file of the user's own
words, one a line) the words come from the beam search with a character language model
(tf_crnn/lm_decode.py), run here in Python on the export's `logits` signature; the
confidence is then the CTC probability of the word read.
"""

import argparse
import json
import os
import sys
from typing import List

from tf_crnn.errors import DataError, exit_on_user_error

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SHIPPED_MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained", "crnn_words")


def find_images(paths: List[str]) -> List[str]:
    """Expands folders (recursively, sorted) into image files; a missing path is an error."""
    found = []
    for path in paths:
        if os.path.isdir(path):
            for root, _, names in sorted(os.walk(path)):
                found.extend(os.path.join(root, n) for n in sorted(names) if n.lower().endswith(IMAGE_EXTENSIONS))
        elif os.path.isfile(path):
            found.append(path)
        else:
            raise DataError(f"no such file or folder: {path}")
    return found


def is_saved_model(path: str) -> bool:
    """Whether `path` is a SavedModel folder or a base path whose newest version is one."""
    try:
        resolve_saved_model(path)
        return True
    except DataError:
        return False


def resolve_saved_model(path: str) -> str:
    """A SavedModel folder, or the newest numbered version inside a model base path."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    versions = sorted((d for d in os.listdir(path) if d.isdigit()), key=int) if os.path.isdir(path) else []
    if not versions or not os.path.isfile(os.path.join(path, versions[-1], "saved_model.pb")):
        raise DataError(f"no SavedModel in {path} (expected saved_model.pb or numbered version folders)")
    return os.path.join(path, versions[-1])


def read_in_batches(read, items, batch_size: int, bad_input_errors: tuple):
    """Yields (result, error) for every item, reading `batch_size` items at a time.

    `read` maps a list of items to a list of results. One image that does not decode fails
    its whole batch with one of `bad_input_errors`; that batch is then read item by item,
    so only the bad items get (None, error) and the others still count.
    """
    for start in range(0, len(items), batch_size):
        batch = items[start:start + batch_size]
        try:
            results = read(batch)
        except bad_input_errors:
            for item in batch:
                try:
                    yield read([item])[0], None
                except bad_input_errors as err:
                    yield None, err
        else:
            for result in results:
                yield result, None


class Recognizer:
    """A loaded serving SavedModel: bytes in, words and confidences out."""

    def __init__(self, saved_model_dir: str):
        import tensorflow as tf

        saved_model_dir = resolve_saved_model(saved_model_dir)
        self.path = saved_model_dir
        self._tf = tf
        self._model = tf.saved_model.load(saved_model_dir)
        self._serve = self._model.signatures["serving_default"]

    def recognize_bytes(self, encoded: List[bytes]) -> dict:
        """Runs `serving_default` on a batch of encoded images; returns numpy outputs."""
        outputs = self._serve(images=self._tf.constant(encoded, dtype=self._tf.string))
        return {key: value.numpy() for key, value in outputs.items()}

    def recognize_files(self, paths: List[str], batch_size: int = 32):
        """Yields (path, word, confidence, error) per file; an undecodable image gets an error."""

        def read(chunk):
            encoded = []
            for path in chunk:
                with open(path, "rb") as handle:
                    encoded.append(handle.read())
            outputs = self.recognize_bytes(encoded)
            return [(word.decode("utf-8"), float(confidence))
                    for word, confidence in zip(outputs["words"], outputs["confidences"])]

        rows = read_in_batches(read, paths, batch_size, (self._tf.errors.InvalidArgumentError,))
        for path, (row, error) in zip(paths, rows):
            if error is None:
                yield path, row[0], row[1], None
            else:
                yield path, None, None, "image does not decode"


class LanguageModelRecognizer(Recognizer):
    """A Recognizer whose words come from the language-model beam search over the export's
    per-frame log-probabilities, instead of the export's own decoder."""

    def __init__(self, saved_model_dir: str, language_model: str):
        from tf_crnn.char_lm import load_language_model
        from tf_crnn.export import read_metadata
        from tf_crnn.lm_decode import LanguageModelDecoder, decode_batch
        from tf_crnn.portable import alphabet_from_metadata

        super().__init__(saved_model_dir)
        self.alphabet = alphabet_from_metadata(read_metadata(self.path))
        self._decoder = LanguageModelDecoder(load_language_model(language_model, self.alphabet))
        self._decode_batch = decode_batch
        self._logits = self._model.signatures["logits"]

    def recognize_bytes(self, encoded: List[bytes]) -> dict:
        outputs = self._logits(images=self._tf.constant(encoded, dtype=self._tf.string))
        readings = self._decode_batch(self._decoder, outputs["log_probs"].numpy(), outputs["frame_lengths"].numpy())
        return {"words": [self.alphabet.decode(ids).encode("utf-8") for ids, _ in readings],
                "confidences": [confidence for _, confidence in readings]}


@exit_on_user_error
def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tf_crnn.predict",
                                     description="Read the text in images with an exported SavedModel.")
    parser.add_argument("paths", nargs="+", metavar="[SAVED_MODEL] PATHS",
                        help="image files or folders, optionally after a SavedModel folder or model base path")
    parser.add_argument("--model", default=None,
                        help="SavedModel folder or base path (default: the first argument if it is one, else the "
                             "shipped word recognizer)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--language_model", default=None, metavar="FILE",
                        help="read with the beam search and a character language model fitted on this text (one "
                             "word a line); 'english' is the built-in English text (about 20 s to fit)")
    args = parser.parse_args(argv)
    paths = args.paths
    model = args.model
    if model is None and len(paths) > 1 and is_saved_model(paths[0]):
        model, paths = paths[0], paths[1:]
    if model is None:
        if not is_saved_model(SHIPPED_MODEL):
            raise DataError(f"no model given and no shipped model in {SHIPPED_MODEL}; pass --model SAVED_MODEL")
        model = SHIPPED_MODEL
    resolve_saved_model(model)
    images = find_images(paths)
    if not images:
        raise DataError("no image files found in " + ", ".join(paths))
    recognizer = LanguageModelRecognizer(model, args.language_model) if args.language_model else Recognizer(model)
    rows = list(recognizer.recognize_files(images, args.batch_size))
    if args.json:
        print(json.dumps([{"path": p, "text": t, "confidence": c, **({"error": e} if e else {})}
                          for p, t, c, e in rows], ensure_ascii=False, indent=2))
    else:
        for path, text, confidence, error in rows:
            print(f"{path}\t{'ERROR: ' + error if error else text}\t{'' if error else f'{confidence:.3f}'}")
    if any(row[3] for row in rows):
        print(f"{sum(1 for r in rows if r[3])} image(s) could not be read", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
