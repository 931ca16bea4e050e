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
import sys

from tf_crnn.decoding.decoders import DECODERS
from tf_crnn.errors import DataError, exit_on_user_error
from tf_crnn.evaluation.saved_model import evaluate
from tf_crnn.evaluation.scoring import markdown_table, write_outputs


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
