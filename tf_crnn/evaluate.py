"""`python -m tf_crnn.evaluate SAVED_MODEL ANNOTATIONS...`: accuracy of an export on labelled sets.

For each annotation file (`path<TAB>label` lists such as ../shared/benchmarks/*/labels.tsv,
other list files, or TFRecord shards) and each decoder (greedy, beam), it reports:

- exact word accuracy (the prediction equals the label);
- alphanumeric word accuracy, the benchmarks' lexicon-free case-insensitive protocol
  (lower-case both, drop everything outside [0-9a-z], compare);
- normalized edit distance (mean of edit distance / max(len(prediction), len(label)))
  and CER (total edit distance / total label length), both on the protocol's normalized
  strings, so a case-insensitive model is not charged for case;
- words/s (images through the model and the decoder, one process).

It runs the export's `logits` signature and decodes with TensorFlow's CTC decoders
itself, so one export gives both greedy and beam results. With `--lexicon FILE` (a word
list, or `english` for the project's English word list) and/or `--lexicon_labels` (each
set's own label vocabulary), it adds the paper's lexicon-based decoding
(tf_crnn/lexicon.py): the most probable lexicon word within edit distance
`--lexicon_distance` of the greedy reading. With `--language_model` (`english`, or a
text file of the user's own words, one a line) it adds the `lm` decoder: a beam search
that weighs each reading by a character language model (tf_crnn/lm_decode.py), still
lexicon-free. Writes a markdown table and a
JSON file, and optionally a CSV of every error. Benchmark sets are test sets: evaluate on
them, never train, tune or pick checkpoints on them.
"""

import argparse
import csv
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import List, Tuple

from tf_crnn.errors import DataError, exit_on_user_error
from tf_crnn.metrics import levenshtein, normalize_alnum

DECODERS = ("greedy", "beam", "lexicon", "lm")


@dataclass
class SetResult:
    name: str
    decoder: str
    samples: int
    unreadable: int
    word_accuracy: float
    alnum_word_accuracy: float
    normalized_edit_distance: float
    cer: float
    words_per_second: float
    errors: List[Tuple[str, str, str, float]] = field(default_factory=list, repr=False)

    def summary(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "errors"}


def load_samples(path: str) -> List[Tuple[str, bytes, str]]:
    """(source, image bytes, label) of an annotation file or a TFRecord shard.

    Images are checked as the converter checks them (formats TensorFlow does not decode
    become PNG); one that does not decode gets bytes None, is named on stderr, and counts
    as unreadable (and as a miss) in the scores. A missing image is an error: the list's
    paths are more likely wrong than the image gone.
    """
    if path.endswith(".tfrecord"):
        from tf_crnn.data.schema import read_examples

        return [(source or f"{path}#{i}", image, label) for i, (image, label, source) in enumerate(read_examples(path))]
    from tf_crnn.data.formats.list_file import read_list_file

    from tf_crnn.data.images import BadImage, read_checked_image

    samples = []
    for sample in read_list_file(path, image_root=os.path.dirname(os.path.abspath(path))):
        if sample.error:
            raise DataError(f"{sample.where}: {sample.error}")
        try:
            image = read_checked_image(sample.image_path)
        except BadImage as bad:
            print(f"{sample.where}: {sample.image_path}: {bad} (counted as unreadable)", file=sys.stderr)
            image = None
        samples.append((sample.image_path, image, sample.label))
    if not samples:
        raise DataError(f"{path}: no samples")
    return samples


class LogitsModel:
    """An export's `logits` signature plus its alphabet: image bytes -> (log_probs, lengths)."""

    def __init__(self, saved_model_dir: str):
        import tensorflow as tf

        from tf_crnn.export import read_metadata
        from tf_crnn.precision import warn_if_emulated_bfloat16
        from tf_crnn.portable import alphabet_from_metadata
        from tf_crnn.predict import resolve_saved_model

        self.path = resolve_saved_model(saved_model_dir)
        self.metadata = read_metadata(self.path)
        warn_if_emulated_bfloat16(self.path)
        self.alphabet = alphabet_from_metadata(self.metadata)
        self._tf = tf
        self._signature = tf.saved_model.load(self.path).signatures["logits"]

    def logits(self, encoded: List[bytes]):
        out = self._signature(images=self._tf.constant(encoded, dtype=self._tf.string))
        return out["log_probs"], out["frame_lengths"]

    def decode(self, log_probs, lengths, decoder: str, beam_width: int, lexicon=None, lm_decoder=None) -> List[str]:
        """Words of a batch; `lexicon` (a tf_crnn.lexicon.LexiconDecoder) for the lexicon decoder,
        `lm_decoder` (a tf_crnn.lm_decode.LanguageModelDecoder) for the lm decoder."""
        from tf_crnn import decode

        if decoder == "lm":
            from tf_crnn.lm_decode import decode_batch

            readings = decode_batch(lm_decoder, log_probs.numpy(), lengths.numpy())
            return [self.alphabet.decode(ids) for ids, _ in readings]
        time_major = self._tf.transpose(log_probs, [1, 0, 2])
        if decoder == "beam":
            beams, _ = decode.beam_search(time_major, lengths, beam_width, 1)
            ids = beams[0]
        else:
            ids, _ = decode.greedy(time_major, lengths)
        rows = [[i for i in row if i >= 0] for row in ids.numpy()]
        if decoder == "lexicon":
            frames = log_probs.numpy()
            return [lexicon.decode(frames[i, :length], rows[i])[0] for i, length in enumerate(lengths.numpy())]
        return [self.alphabet.decode(row) for row in rows]


def read_samples(read, samples, batch_size: int, bad_image_errors: tuple) -> List[tuple]:
    """(text, error) for every sample, reading `batch_size` images at a time with `read`.

    A sample whose image was unreadable at loading gets (None, None) without reaching the
    model; one the model refuses gets (None, its error).
    """
    from tf_crnn.predict import read_in_batches

    readable = [image for _, image, _ in samples if image is not None]
    rows = iter(list(read_in_batches(read, readable, batch_size, bad_image_errors)))
    return [next(rows) if image is not None else (None, None) for _, image, _ in samples]


def predict_set(model: LogitsModel, samples, decoder: str, beam_width: int, batch_size: int, lexicon=None,
                lm_decoder=None):
    """Predictions for every sample (None where the image does not decode) and the seconds taken."""

    def read(images):
        return model.decode(*model.logits(images), decoder, beam_width, lexicon, lm_decoder)

    start = time.perf_counter()
    rows = read_samples(read, samples, batch_size, (model._tf.errors.InvalidArgumentError,))
    return [text for text, _ in rows], time.perf_counter() - start


def score(name, decoder, samples, predictions, seconds) -> SetResult:
    exact = alnum = 0
    normalized_distance = 0.0
    edits = characters = 0
    errors = []
    for (source, _, label), predicted in zip(samples, predictions):
        text = predicted or ""
        text_norm, label_norm = normalize_alnum(text), normalize_alnum(label)
        distance = levenshtein(text_norm, label_norm)
        exact += text == label
        alnum += text_norm == label_norm
        normalized_distance += distance / max(len(text_norm), len(label_norm), 1)
        edits += distance
        characters += len(label_norm)
        if text != label:
            errors.append((source, label, text if predicted is not None else "<unreadable image>", 0.0))
    count = len(samples)
    return SetResult(
        name=name, decoder=decoder, samples=count, unreadable=sum(p is None for p in predictions),
        word_accuracy=exact / count, alnum_word_accuracy=alnum / count,
        normalized_edit_distance=normalized_distance / count, cer=edits / max(characters, 1),
        words_per_second=count / seconds if seconds else 0.0, errors=errors,
    )


def set_name(path: str) -> str:
    """IIIT5K/labels.tsv -> IIIT5K; IC13/labels_857.tsv -> IC13/labels_857."""
    folder = os.path.basename(os.path.dirname(os.path.abspath(path)))
    stem = os.path.splitext(os.path.basename(path))[0]
    return folder if stem == "labels" else f"{folder}/{stem}"


def markdown_table(results: List[SetResult]) -> str:
    lines = ["| set | decoder | samples | unreadable | exact word acc. | alnum word acc. (case-insens.) "
             "| norm. edit dist. | CER | words/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.name} | {r.decoder} | {r.samples} | {r.unreadable} | {r.word_accuracy:.1%} | "
                     f"{r.alnum_word_accuracy:.1%} | "
                     f"{r.normalized_edit_distance:.3f} | {r.cer:.3f} | {r.words_per_second:.0f} |")
    return "\n".join(lines) + "\n"


def evaluate(saved_model: str, annotation_files: List[str], decoders=("greedy", "beam"), beam_width: int = None,
             batch_size: int = 64, lexicon_files=(), lexicon_labels: bool = False,
             lexicon_distance: int = 3, language_model: str = None) -> List[SetResult]:
    """Scores the export on every annotation file with every decoder.

    The lexicon decoder's lexicon is the words of `lexicon_files` plus, with
    `lexicon_labels`, the labels of the set being scored. The lm decoder's language model
    is fitted on `language_model` (`english` or a text file); it never sees the labels.
    """
    from tf_crnn.char_lm import load_language_model
    from tf_crnn.lexicon import Lexicon, LexiconDecoder, read_word_list
    from tf_crnn.lm_decode import LanguageModelDecoder

    if "lexicon" in decoders and not (lexicon_files or lexicon_labels):
        raise DataError("the lexicon decoder needs --lexicon FILE (or 'english') and/or --lexicon_labels")
    if "lm" in decoders and not language_model:
        raise DataError("the lm decoder needs --language_model FILE (or 'english')")
    model = LogitsModel(saved_model)
    lm_decoder = LanguageModelDecoder(load_language_model(language_model, model.alphabet)) if "lm" in decoders else None
    beam_width = beam_width or model.metadata.get("beam_width", 10)
    shared_words = [word for path in lexicon_files for word in read_word_list(path)]
    results = []
    for path in annotation_files:
        samples = load_samples(path)
        lexicon = None
        if "lexicon" in decoders:
            labels = [label for _, _, label in samples] if lexicon_labels else []
            lexicon = LexiconDecoder(Lexicon(shared_words + labels, model.alphabet), lexicon_distance)
        readable = [image for _, image, _ in samples if image is not None]
        if readable:
            model.logits(readable[:1])  # warm-up, so words/s measures steady state
        for decoder in decoders:
            predictions, seconds = predict_set(model, samples, decoder, beam_width, batch_size, lexicon, lm_decoder)
            results.append(score(set_name(path), decoder, samples, predictions, seconds))
    return results


def write_outputs(results: List[SetResult], output_dir: str, saved_model: str, errors_csv: bool) -> None:
    os.makedirs(output_dir, exist_ok=True)
    table = markdown_table(results)
    with open(os.path.join(output_dir, "evaluation.md"), "w", encoding="utf-8") as handle:
        handle.write(f"Model: `{saved_model}`\n\n{table}")
    with open(os.path.join(output_dir, "evaluation.json"), "w", encoding="utf-8") as handle:
        json.dump({"saved_model": saved_model, "results": [r.summary() for r in results]}, handle, indent=2)
    if errors_csv:
        with open(os.path.join(output_dir, "errors.csv"), "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["set", "decoder", "path", "truth", "prediction"])
            for r in results:
                for source, truth, predicted, _ in r.errors:
                    writer.writerow([r.name, r.decoder, source, truth, predicted])


@exit_on_user_error
def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tf_crnn.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("saved_model", help="SavedModel folder, or a model base path with numbered versions")
    parser.add_argument("annotations", nargs="+", help="path<TAB>label files or .tfrecord shards")
    parser.add_argument("--decoders", default=None,
                        help="comma-separated: greedy, beam, lexicon, lm (default: greedy,beam, plus lexicon and lm "
                             "if a lexicon or a language model is given)")
    parser.add_argument("--beam_width", type=int, default=None, help="default: the export's")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--output_dir", default="evaluation", help="where evaluation.md/.json (and errors.csv) go")
    parser.add_argument("--lexicon", action="append", default=[], metavar="FILE",
                        help="word list (one a line) for the lexicon decoder; 'english' is the project's English "
                             "word list; may be repeated")
    parser.add_argument("--lexicon_labels", action="store_true",
                        help="add each set's own labels to its lexicon (the benchmarks' full-lexicon setting)")
    parser.add_argument("--lexicon_distance", type=int, default=3,
                        help="edit distance around the greedy reading searched for lexicon words (the paper's 3)")
    parser.add_argument("--language_model", default=None, metavar="FILE",
                        help="text (one word a line) to fit the lm decoder's character language model on; 'english' "
                             "is the built-in English text")
    parser.add_argument("--errors_csv", action="store_true", help="also write every error to errors.csv")
    args = parser.parse_args(argv)
    with_lexicon = bool(args.lexicon or args.lexicon_labels)
    default = "greedy,beam" + (",lexicon" if with_lexicon else "") + (",lm" if args.language_model else "")
    decoders = [d.strip() for d in (args.decoders or default).split(",") if d.strip()]
    unknown = [d for d in decoders if d not in DECODERS]
    if unknown or not decoders:
        raise DataError(f"--decoders: unknown decoder(s) {', '.join(unknown) or '(none given)'}; "
                        "use greedy, beam, lexicon and/or lm")
    if args.lexicon_distance < 0:
        raise DataError(f"--lexicon_distance must be at least 0, got {args.lexicon_distance}")
    for path in args.annotations:
        if not os.path.isfile(path):
            raise DataError(f"annotation file not found: {path}")
    results = evaluate(args.saved_model, args.annotations, decoders, args.beam_width, args.batch_size,
                       args.lexicon, args.lexicon_labels, args.lexicon_distance, args.language_model)
    write_outputs(results, args.output_dir, args.saved_model, args.errors_csv)
    print(markdown_table(results), end="")
    print(f"written to {os.path.join(args.output_dir, 'evaluation.md')} and evaluation.json"
          + (" and errors.csv" if args.errors_csv else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
