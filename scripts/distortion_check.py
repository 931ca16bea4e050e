"""How a recognizer holds up as rendered words get narrower or more bent.

    python scripts/distortion_check.py [SAVED_MODEL] [--words 400] [--seed 123]
                                       [--output benchmarks/results/distortion.json]

Renders `--words` words with the project's renderer (lower-case letters and digits, 1 to
18 characters, no arc) and reads them with the model: as drawn, squeezed to 0.8, 0.65 and
0.5 of their width, and drawn again (same words, fonts and colours) bent along arcs whose
bulge is 0.5, 0.8 and 1.2 text heights. Accuracy is case-insensitive over letters and
digits, as on the benchmarks.

Only rendered words are read: this is how a gap that the benchmark errors hint at is
confirmed, and sized, without tuning on the test sets (docs/recipe.md). The default
model is the shipped one.
"""

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from common import write_result  # noqa: E402  (the scripts folder is sys.path[0])
from tf_crnn.errors import ConfigError, exit_on_user_error  # noqa: E402
from tf_crnn.model_files import SHIPPED_MODEL  # noqa: E402

CHARSET = "0123456789abcdefghijklmnopqrstuvwxyz"
SQUEEZES = (1.0, 0.8, 0.65, 0.5)
BULGES = (0.0, 0.5, 0.8, 1.2)
BATCH = 64


def squeezed(image, factor):
    return image.resize((max(1, round(image.width * factor)), image.height))


def render_set(labels, seed, bulge):
    """The words drawn from one seed per word, so every bulge shows the same word and style."""
    import numpy as np

    from tf_crnn.synth.fonts import find_fonts
    from tf_crnn.synth.render import render_word

    fonts = find_fonts()
    return [render_word(text, np.random.default_rng([seed, index]), fonts, bulge=bulge)
            for index, text in enumerate(labels)]


def accuracy(recognizer, images, labels):
    from tf_crnn.word_metrics import normalize_alnum
    from tf_crnn.synth.generate import encode_image

    read = []
    for start in range(0, len(images), BATCH):
        outputs = recognizer.recognize_bytes([encode_image(image, "png") for image in images[start:start + BATCH]])
        read += [word.decode("utf-8") for word in outputs["words"]]
    return sum(normalize_alnum(r) == normalize_alnum(t) for r, t in zip(read, labels)) / len(labels)


def check(model_dir, words, seed):
    import numpy as np

    from tf_crnn.inference.recognizer import Recognizer
    from tf_crnn.model_files import resolve_saved_model
    from tf_crnn.synth.words import WordSampler

    model = resolve_saved_model(model_dir)
    recognizer = Recognizer(model)
    sampler = WordSampler(CHARSET, np.random.default_rng(seed), min_len=1, max_len=18, case="lower")
    labels = [sampler.sample() for _ in range(words)]
    shown = [sampler.display_form(label) for label in labels]
    shown_path = os.path.relpath(model, REPO) if model.startswith(REPO + os.sep) else model
    result = {"model": shown_path, "words": words, "seed": seed, "squeezed_width": {}, "arc_bulge": {}}
    flat = render_set(shown, seed, bulge=0.0)
    for factor in SQUEEZES:
        result["squeezed_width"][str(factor)] = accuracy(recognizer, [squeezed(i, factor) for i in flat], labels)
        print(f"width x{factor}: {result['squeezed_width'][str(factor)]:.1%}", flush=True)
    for bulge in BULGES:
        images = flat if bulge == 0 else render_set(shown, seed, bulge=bulge)
        result["arc_bulge"][str(bulge)] = accuracy(recognizer, images, labels)
        print(f"arc bulge {bulge}: {result['arc_bulge'][str(bulge)]:.1%}", flush=True)
    return result


@exit_on_user_error
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=SHIPPED_MODEL, help="a SavedModel (default: the shipped one)")
    parser.add_argument("--words", type=int, default=400, help="rendered words per condition (default 400)")
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--output", default=os.path.join(REPO, "benchmarks", "results", "distortion.json"))
    args = parser.parse_args()
    if args.words < 1:
        raise ConfigError(f"--words must be at least 1, got {args.words}")
    write_result(check(args.model, args.words, args.seed), args.output)


if __name__ == "__main__":
    main()
