"""Chooses the character language model's order, weight and bonus on rendered validation words.

    python scripts/tune_language_model.py [--saved_model DIR] [--words 3000] [--seed 23]
                                          [--output benchmarks/results/lm_tuning.json]

1. renders `--words` validation words with the project's renderer (the recipe's settings:
   lower case, 1 to 18 characters; its own seed, so neither the training nor the
   recipe's validation words);
2. runs the model once to get every word's per-frame log-probabilities;
3. fits the built-in English language model (tf_crnn/decoding/char_lm.py) on its text with every
   validation label taken out, so the model is scored on words its language model has
   not seen: the hard case, as names and brands on signs are in no word list;
4. decodes every word with each (order, weight, bonus) of the grid and reports the alphanumeric
   word accuracy against greedy decoding; the best setting (on a tie, the lower order and
   the smaller weight) is the one to put in tf_crnn/decoding/char_lm.py and tf_crnn/decoding/lm_beam.py.

Only rendered words are read: the benchmarks are never used to choose anything.
"""

import argparse
import glob
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from common import write_result  # noqa: E402  (the scripts folder is sys.path[0])
from tf_crnn.errors import exit_on_user_error  # noqa: E402
from tf_crnn.model_files import SHIPPED_MODEL  # noqa: E402

ORDERS = (3, 4, 5, 6)
WEIGHTS = (0.1, 0.2, 0.3, 0.5)
BONUSES = (0.0, 0.5, 1.0)
MAX_WORD_LENGTH = 18
BATCH = 64


def render_validation_words(folder: str, words: int, seed: int, charset: str) -> list:
    """Shards of rendered words (kept, so a second run reuses them) -> (image, label) pairs."""
    from tf_crnn.data.schema import read_examples

    subprocess.run([sys.executable, "-m", "tf_crnn.synth.generate", "--output_dir", folder, "--prefix", "tune",
                    "--count", "0", "--val_count", str(words), "--seed", str(seed), "--charset", charset,
                    "--case", "lower", "--max_length", str(MAX_WORD_LENGTH)], check=True, cwd=REPO)
    pairs = [(image, label) for path in sorted(glob.glob(os.path.join(folder, "tune-val-*.tfrecord")))
             for image, label, _ in read_examples(path)]
    return pairs[:words]


def frame_log_probs(model, images) -> list:
    """Each image's real frames of log-probabilities [frames, classes]."""
    frames = []
    for start in range(0, len(images), BATCH):
        log_probs, lengths = model.log_probs(images[start:start + BATCH])
        frames.extend(log_probs[i, :length] for i, length in enumerate(lengths))
    return frames


@exit_on_user_error
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saved_model", default=SHIPPED_MODEL)
    parser.add_argument("--words", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--beam_width", type=int, default=None, help="default: tf_crnn.decoding.lm_beam's")
    parser.add_argument("--texts", type=int, default=None,
                        help="labels drawn for the language model (default: the built-in model's, a million)")
    parser.add_argument("--data_dir", default=os.path.join(REPO, "benchmarks", "results", "lm_tuning_data"))
    parser.add_argument("--output", default=os.path.join(REPO, "benchmarks", "results", "lm_tuning.json"))
    args = parser.parse_args(argv)

    import numpy as np

    from tf_crnn.decoding import numpy_ctc
    from tf_crnn.decoding.char_lm import ENGLISH_SAMPLES, CharNgramModel, english_texts
    from tf_crnn.inference.saved_model import SavedModelReader
    from tf_crnn.decoding.lm_beam import DEFAULT_BEAM_WIDTH, LanguageModelDecoder
    from tf_crnn.word_metrics import normalize_alnum

    model = SavedModelReader(args.saved_model)
    charset = "".join(unit for unit in model.alphabet.units if len(unit) == 1)
    pairs = render_validation_words(args.data_dir, args.words, args.seed, charset)
    labels = [normalize_alnum(label) for _, label in pairs]
    frames = frame_log_probs(model, [image for image, _ in pairs])

    def accuracy(readings):
        return float(np.mean([normalize_alnum(text) == label for text, label in zip(readings, labels)]))

    greedy = accuracy(model.alphabet.decode(numpy_ctc.greedy(f[None], [len(f)])[0][0]) for f in frames)
    held_out = {label for _, label in pairs}
    texts = [text for text in english_texts(model.alphabet, args.texts or ENGLISH_SAMPLES) if text not in held_out]
    beam_width = args.beam_width or DEFAULT_BEAM_WIDTH
    grid = []
    for order in ORDERS:
        language_model = CharNgramModel.fit(texts, model.alphabet, order)
        for weight in WEIGHTS:
            for bonus in BONUSES:
                decoder = LanguageModelDecoder(language_model, weight, bonus, beam_width)
                started = time.perf_counter()
                readings = [model.alphabet.decode(decoder.search(f.astype(np.float64))) for f in frames]
                grid.append({"order": order, "weight": weight, "bonus": bonus, "accuracy": accuracy(readings),
                             "ms_per_word": 1000 * (time.perf_counter() - started) / len(frames)})
                print(f"order {order} weight {weight:<4} bonus {bonus:<4} {grid[-1]['accuracy']:.2%}", file=sys.stderr)
    # the lighter setting on a tie: a lower order, a smaller weight
    best = max(grid, key=lambda row: (row["accuracy"], -row["order"], -row["weight"]))
    write_result({
        "saved_model": args.saved_model, "words": len(pairs), "seed": args.seed, "beam_width": beam_width,
        "language_model_texts": len(texts), "held_out_labels": len(held_out),
        "greedy_accuracy": greedy, "best": best, "grid": grid,
    }, args.output)


if __name__ == "__main__":
    main(sys.argv[1:])
