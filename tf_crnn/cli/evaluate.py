"""`tf-crnn evaluate MODEL ANNOTATIONS...` (also `python -m tf_crnn.evaluate`): accuracy of an
export on labelled sets.

For each annotation file (`path<TAB>label` lists such as ../shared/benchmarks/*/labels.tsv,
other list files, or TFRecord shards) and each decoder (greedy, beam), it reports:

- exact word accuracy (the prediction equals the label);
- alphanumeric word accuracy, the benchmarks' lexicon-free case-insensitive protocol
  (lower-case both, drop everything outside [0-9a-z], compare);
- normalized edit distance (mean of edit distance / max(len(prediction), len(label)))
  and CER (total edit distance / total label length), both on the protocol's normalized
  strings, so a case-insensitive model is not charged for case;
- words/s (images through the model and the decoder, one process, from the encoded
  image bytes).

MODEL is a SavedModel folder or model base path, a .tflite file (with the tf_crnn.json
written next to it), a folder written by tf_crnn.tflite_convert (all its models) or an
.onnx file; `--runtime savedmodel|tflite|onnx` names the runtime where the path does not
say it. With `--annotations FILES...`, every positional argument is a model and they are
tabled side by side, with their size on disk (`python -m tf_crnn.portable_evaluate` is
that form under its older name). Every model reads the per-frame log-probabilities
(tf_crnn/inference/reader.py: a SavedModel's `logits` signature, decoded with TensorFlow's
CTC decoders as its own graph; the TFLite and ONNX cores, decoded in numpy), so one export
gives every decoder's results; the bytes-in TFLite model reads with its in-graph decoder
only. With `--lexicon FILE` (a word
list, or `english` for the project's English word list) and/or `--lexicon_labels` (each
set's own label vocabulary), it adds the paper's lexicon-based decoding
(tf_crnn/decoding/lexicon.py): the most probable lexicon word within edit distance
`--lexicon_distance` of the greedy reading. With `--language_model` (`english`, or a
text file of the user's own words, one a line) it adds the `lm` decoder: a beam search
that weighs each reading by a character language model (tf_crnn/decoding/lm_beam.py), still
lexicon-free. Writes a markdown table and a
JSON file, and optionally a CSV of every error. Benchmark sets are test sets: evaluate on
them, never train, tune or pick checkpoints on them.
"""

import argparse
import os

from tf_crnn.cli import ArgumentParser
from tf_crnn.decoding.decoders import DECODERS
from tf_crnn.errors import DataError, exit_on_user_error
from tf_crnn.evaluation.evaluate import WordSources, evaluate
from tf_crnn.evaluation.report import report_text, write_report
from tf_crnn.inference.runtimes import RUNTIMES, RuntimeOptions, open_readers


def parser_for(prog: str, models_form: bool) -> argparse.ArgumentParser:
    """The command's arguments; `models_form` (tf_crnn.portable_evaluate) takes models only as
    positional arguments and requires --annotations."""
    parser = ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    if models_form:
        parser.add_argument("models", nargs="+",
                            help=".tflite/.onnx files, tflite_convert output folders, SavedModel folders or base paths")
    else:
        parser.add_argument("paths", nargs="+", metavar="MODEL [ANNOTATIONS]",
                            help="a model (SavedModel folder or base path, .tflite file or tflite_convert folder, "
                                 ".onnx file), then path<TAB>label files or .tfrecord shards; with --annotations, "
                                 "models only")
    parser.add_argument("--annotations", nargs="+", required=models_form, default=None,
                        help="path<TAB>label files or .tfrecord shards (then every positional argument is a model)")
    parser.add_argument("--runtime", choices=tuple(RUNTIMES), default=None,
                        help="how to run the models (default: from each path: .tflite or a tflite_convert folder, "
                             ".onnx, else a SavedModel)")
    parser.add_argument("--decoders", default=None,
                        help="comma-separated: greedy, beam, lexicon, lm (default: greedy,beam, plus lexicon and lm "
                             "if a lexicon or a language model is given)")
    parser.add_argument("--beam_width", type=int, default=None, help="default: the export's")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads of the TFLite and ONNX runtimes (default: all cores, as TensorFlow)")
    parser.add_argument("--tflite_runtime", choices=("tensorflow", "ai-edge-litert"), default="tensorflow",
                        help="interpreter for the TFLite cores (the Flex model always uses TensorFlow's)")
    report = "portable_evaluation" if models_form else "evaluation"
    parser.add_argument("--output_dir", default="evaluation",
                        help=f"where {report}.md/.json (and errors.csv) go")
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
    return parser


def chosen_decoders(args) -> list:
    with_lexicon = bool(args.lexicon or args.lexicon_labels)
    default = "greedy,beam" + (",lexicon" if with_lexicon else "") + (",lm" if args.language_model else "")
    decoders = [d.strip() for d in (args.decoders or default).split(",") if d.strip()]
    unknown = [d for d in decoders if d not in DECODERS]
    if unknown or not decoders:
        raise DataError(f"--decoders: unknown decoder(s) {', '.join(unknown) or '(none given)'}; "
                        f"use {', '.join(DECODERS)}")
    return decoders


@exit_on_user_error
def main(argv=None, prog: str = "python -m tf_crnn.evaluate", models_form: bool = False):
    args = parser_for(prog, models_form).parse_args(argv)
    if models_form:
        models, annotations = args.models, args.annotations
    elif args.annotations is not None:
        models, annotations = args.paths, args.annotations
    else:
        models, annotations = args.paths[:1], args.paths[1:]
        if not annotations:
            raise DataError(f"{models[0]}: give the annotation files to read after the model (or --annotations)")
    decoders = chosen_decoders(args)
    if args.lexicon_distance < 0:
        raise DataError(f"--lexicon_distance must be at least 0, got {args.lexicon_distance}")
    if args.batch_size < 1 or args.threads < 1:
        raise DataError("--batch_size and --threads must be at least 1")
    for path in annotations:
        if not os.path.isfile(path):
            raise DataError(f"annotation file not found: {path}")
    sources = WordSources(args.lexicon, args.lexicon_labels, args.lexicon_distance, args.language_model)
    sources.check(decoders)
    readers = open_readers(models, args.runtime, RuntimeOptions(args.threads, args.tflite_runtime, args.beam_width))
    results = evaluate(readers, annotations, decoders, args.batch_size, sources)
    name = "portable_evaluation" if models_form else "evaluation"
    written = write_report(readers, results, args.output_dir, name, args.errors_csv)
    print(report_text(readers, results), end="")
    print(f"written to {os.path.join(args.output_dir, written[0])} and " + " and ".join(written[1:]))

