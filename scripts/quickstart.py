"""The quickstart: the whole pipeline on built-in data, nothing to download (`make quickstart`).

1. render a synthetic word set (train, validation and held-out images) with the project's renderer;
2. train a small CRNN on it with `python -m tf_crnn.train scripts/quickstart_params.json`;
3. export a serving SavedModel with `python export_model.py`;
4. read the held-out rendered images and three real MJSynth crops (data/examples) with it,
   and print a short table with the held-out word accuracy.

Everything goes to quickstart_run/ (the model dir, shards, export and summary.json).
"""

import json
import os
import sys
import time

from common import run, step  # the scripts folder is sys.path[0]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

RUN_DIR = os.path.join(REPO, "quickstart_run")
PARAMS = os.path.join(REPO, "scripts", "quickstart_params.json")
TRAIN_IMAGES = 24000
VAL_IMAGES = 500
HELD_OUT_IMAGES = 300
MAX_WORD_LENGTH = 10


def read_tsv(path):
    with open(path, encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t", 1) for line in handle if line.strip()]
    folder = os.path.dirname(path)
    return [(os.path.join(folder, image), label) for image, label in rows]


def render_data():
    from tf_crnn.synth.generate import generate

    common = dict(charset="0123456789abcdefghijklmnopqrstuvwxyz", case="lower", min_length=1,
                  max_length=MAX_WORD_LENGTH)
    generate(os.path.join(RUN_DIR, "data"), prefix="synth", count=TRAIN_IMAGES, val_count=VAL_IMAGES,
             seed=1, **common)
    # Held out: another seed, so neither training nor checkpoint choice has seen these.
    generate(os.path.join(RUN_DIR, "heldout"), prefix="heldout", count=0, val_count=HELD_OUT_IMAGES,
             seed=2, images_dir=os.path.join(RUN_DIR, "heldout", "images"), **common)
    return read_tsv(os.path.join(RUN_DIR, "heldout", "images", "labels.tsv"))


def latest_export(base):
    versions = sorted((d for d in os.listdir(base) if d.isdigit()), key=int)
    return os.path.join(base, versions[-1])


def main():
    from tf_crnn.word_metrics import normalize_alnum

    started = time.time()
    timings = {}
    step("1/4 render synthetic words")
    held_out = render_data()
    timings["render_s"] = time.time() - started

    step("2/4 train a small CRNN")
    mark = time.time()
    run([sys.executable, "-m", "tf_crnn.train", PARAMS])
    timings["train_s"] = time.time() - mark

    step("3/4 export a serving SavedModel")
    mark = time.time()
    serving_dir = os.path.join(RUN_DIR, "serving")
    run([sys.executable, "export_model.py", os.path.join(RUN_DIR, "model"), "--output_dir", serving_dir])
    timings["export_s"] = time.time() - mark

    step("4/4 read held-out rendered words and real MJSynth crops")
    from tf_crnn.inference.recognizer import Recognizer

    recognizer = Recognizer(latest_export(serving_dir))
    truth = dict(held_out)
    rows = list(recognizer.recognize_files([path for path, _ in held_out]))
    correct = sum(text == truth[path] for path, text, _, _ in rows)
    accuracy = correct / len(rows)
    print(f"{'image':<28} {'truth':<14} {'read':<14} confidence")
    for path, text, confidence, _ in rows[:12]:
        print(f"{os.path.basename(path):<28} {truth[path]:<14} {text:<14} {confidence:.3f}")
    print(f"... held-out rendered words read exactly: {correct}/{len(rows)} = {accuracy:.1%}")

    examples = read_tsv(os.path.join(REPO, "data", "examples", "labels.tsv"))
    print(f"\n{'real MJSynth crop':<28} {'truth':<14} {'read':<14} confidence")
    mjsynth = []
    for (path, label), (_, text, confidence, _) in zip(examples, recognizer.recognize_files([p for p, _ in examples])):
        mjsynth.append({"image": os.path.basename(path), "truth": label, "read": text, "confidence": confidence})
        print(f"{os.path.basename(path):<28} {label:<14} {text:<14} {confidence:.3f}")
    mjsynth_correct = sum(normalize_alnum(r["truth"]) == r["read"] for r in mjsynth)

    timings["total_s"] = time.time() - started
    summary = {"held_out_word_accuracy": accuracy, "held_out_images": len(rows),
               "mjsynth_examples_correct": mjsynth_correct, "mjsynth_examples": mjsynth,
               "saved_model": recognizer.path, **{k: round(v, 1) for k, v in timings.items()}}
    with open(os.path.join(RUN_DIR, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    print(f"\nquickstart done in {timings['total_s'] / 60:.1f} min: held-out word accuracy {accuracy:.1%}, "
          f"MJSynth examples {mjsynth_correct}/3 (case-insensitive); summary in quickstart_run/summary.json")
    print(f"serve it: python -m tf_crnn.predict {serving_dir} data/examples")


if __name__ == "__main__":
    main()
