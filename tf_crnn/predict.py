"""`python -m tf_crnn.predict [SAVED_MODEL] PATHS...`: read the text in image files or folders.

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
(tf_crnn/lm_decode.py), run here in Python on the export's `logits` signature; the
confidence is then the CTC probability of the word read.
"""

import argparse
import json
import os
import sys
from typing import List, NamedTuple, Optional

from tf_crnn.data.images import IMAGE_EXTENSIONS, BadImage, read_checked_image
from tf_crnn.errors import DataError, exit_on_user_error
from tf_crnn.export import saved_model_versions
from tf_crnn.precision import warn_if_emulated_bfloat16
from tf_crnn.warm_start import PRETRAINED_DIR, shipped_models

SHIPPED_MODEL = os.path.join(PRETRAINED_DIR, "crnn_words")
_EXPORT_KINDS = ("best", "latest")  # the exporters of tf_crnn.train, best first
_MODEL_DIR_MARKS = ("checkpoint", "config.json")  # what tf_crnn.train writes into a model dir


def find_images(paths: List[str]) -> List[str]:
    """Expands folders (recursively, sorted) into image files; a missing path is an error.

    In a folder, files count as images by their extension (`IMAGE_EXTENSIONS`, the
    converter's); every other file gets one line on stderr, so nothing is passed over
    without a word. A file named on its own is taken whatever its extension.
    """
    found = []
    for path in paths:
        if os.path.isdir(path):
            for root, _, names in sorted(os.walk(path)):
                for name in sorted(names):
                    file_path = os.path.join(root, name)
                    if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                        found.append(file_path)
                    else:
                        print(f"skipped {file_path}: not an image file (taken: {', '.join(sorted(IMAGE_EXTENSIONS))})",
                              file=sys.stderr)
        elif os.path.isfile(path):
            found.append(path)
        else:
            raise DataError(f"no such file or folder: {path}")
    return found


def looks_like_model(path: str) -> bool:
    """Whether `path` is meant as a model: a SavedModel, a model base path, the `export`
    folder of a model dir, or a model dir (checkpoints, config.json). A folder of images
    is none of these."""
    if not os.path.isdir(path):
        return False
    marks = ("saved_model.pb", "export") + _MODEL_DIR_MARKS + _EXPORT_KINDS
    return bool(saved_model_versions(path)) or any(os.path.exists(os.path.join(path, mark)) for mark in marks)


def resolve_saved_model(path: str) -> str:
    """The SavedModel that `path` names.

    `path` may be a SavedModel folder, a base path with numbered versions (the newest is
    taken), the export folder of a model dir (its `best` export, else `latest`), a
    model dir of `python -m tf_crnn.train` (the same, under its `export/`), or the name of
    a model shipped in tf_crnn/pretrained (`crnn_words`).
    """
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    if not os.path.exists(path) and path in shipped_models():  # a shipped model by name: crnn_words
        path = os.path.join(PRETRAINED_DIR, path)
    for base in [path] + [os.path.join(path, kind) for kind in _EXPORT_KINDS] + \
            [os.path.join(path, "export", kind) for kind in _EXPORT_KINDS]:
        versions = saved_model_versions(base)
        if versions:
            return versions[-1]
    if os.path.isdir(path) and any(os.path.exists(os.path.join(path, m)) for m in _MODEL_DIR_MARKS):
        raise DataError(f"{path} is a model dir with no export yet (training exports to {os.path.join(path, 'export')} "
                        f"after each evaluation); export one with: python export_model.py {path} --output_dir DIR")
    raise DataError(f"no SavedModel in {path} (expected saved_model.pb, numbered version folders, a model dir "
                    f"with exports, or a shipped model: {', '.join(shipped_models()) or 'none'})")


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


class Reading(NamedTuple):
    """What `Recognizer.read_files` gives for one image: its text and confidence, the error
    that kept it from being read, and its units (`chars`, None when the export has none)."""

    path: str
    text: Optional[str]
    confidence: Optional[float]
    error: Optional[str]
    chars: Optional[list]


def unit_rows(outputs: dict, index: int) -> Optional[list]:
    """The `chars` of image `index` of a serving_default output: [{"char", "confidence",
    "x_range"}], or None for exports made before these outputs existed."""
    if "chars" not in outputs:
        return None
    return [{"char": unit.decode("utf-8"), "confidence": float(confidence), "x_range": [int(x) for x in x_range]}
            for unit, confidence, x_range in zip(outputs["chars"][index], outputs["char_confidences"][index],
                                                 outputs["char_x_ranges"][index]) if x_range[0] >= 0]


class Recognizer:
    """A loaded serving SavedModel: bytes in, words and confidences out."""

    def __init__(self, saved_model_dir: str):
        import tensorflow as tf

        saved_model_dir = resolve_saved_model(saved_model_dir)
        self.path = saved_model_dir
        warn_if_emulated_bfloat16(saved_model_dir)
        self._tf = tf
        self._model = tf.saved_model.load(saved_model_dir)
        self._serve = self._model.signatures["serving_default"]

    def recognize_bytes(self, encoded: List[bytes]) -> dict:
        """Runs `serving_default` on a batch of encoded images; returns numpy outputs."""
        outputs = self._serve(images=self._tf.constant(encoded, dtype=self._tf.string))
        return {key: value.numpy() for key, value in outputs.items()}

    def recognize_files(self, paths: List[str], batch_size: int = 32):
        """Yields (path, word, confidence, error) per file; see `read_files`."""
        for reading in self.read_files(paths, batch_size):
            yield reading.path, reading.text, reading.confidence, reading.error

    def read_files(self, paths: List[str], batch_size: int = 32):
        """Yields a `Reading` per file; an unreadable image gets an error.

        Each file is checked (fully decoded) by the converter's own check first, and formats
        the serving graph does not decode (TIFF, WebP, ...) are handed to it as PNG, so
        every command takes the same files.
        """

        def read(chunk):
            outputs = self.recognize_bytes([data for _, data in chunk])
            return [(word.decode("utf-8"), float(confidence), unit_rows(outputs, index))
                    for index, (word, confidence) in enumerate(zip(outputs["words"], outputs["confidences"]))]

        for start in range(0, len(paths), batch_size):  # a batch of bytes in memory at a time
            checked = []
            for path in paths[start:start + batch_size]:
                try:
                    checked.append((path, read_checked_image(path)))
                except BadImage as bad:
                    checked.append((path, bad))
            readable = [item for item in checked if not isinstance(item[1], BadImage)]
            rows = read_in_batches(read, readable, batch_size, (self._tf.errors.InvalidArgumentError,))
            for path, data in checked:
                if isinstance(data, BadImage):
                    yield Reading(path, None, None, str(data), None)
                    continue
                row, error = next(rows)  # in the order of `readable`
                if error is None:
                    yield Reading(path, row[0], row[1], None, row[2])
                else:
                    yield Reading(path, None, None, "image does not decode", None)


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
    recognizer = (LanguageModelRecognizer(saved_model, args.language_model) if args.language_model
                  else Recognizer(saved_model))
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


if __name__ == "__main__":
    main(sys.argv[1:])
