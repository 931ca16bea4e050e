"""Accuracy with and without the spatial transformer on rotated and slanted rendered words.

Trains the quickstart network twice on the same rendered shards with strong rotation and
shear augmentation, once plain and once with `spatial_transformer: true`, then reads a
held-out set of rendered words that were rotated (up to 12 degrees) and sheared (up to
0.35) with Pillow, and the same words upright. Writes benchmarks/results/stn.json.

    python scripts/stn_experiment.py --data quickstart_run/data --heldout quickstart_run/heldout/images \
        [--steps 2500] [--work /tmp/stn_experiment]
"""

import argparse
import json
import os
import random
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from common import write_result  # noqa: E402  (the scripts folder is sys.path[0])


def slant_images(heldout_dir, out_dir, seed=0):
    """Rotated and sheared copies of the held-out images, with their labels.tsv."""
    import numpy as np
    from PIL import Image

    rng = random.Random(seed)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(heldout_dir, "labels.tsv"), encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t", 1) for line in handle if line.strip()]
    lines = []
    for name, label in rows:
        image = Image.open(os.path.join(heldout_dir, name)).convert("L")
        background = int(np.median(np.asarray(image)))
        shear = rng.uniform(-0.35, 0.35)
        shift = -shear * image.height / 2
        image = image.transform(image.size, Image.AFFINE, (1, shear, shift, 0, 1, 0), fillcolor=background)
        image = image.rotate(rng.uniform(-12, 12), resample=Image.BILINEAR, expand=True, fillcolor=background)
        target = os.path.splitext(os.path.basename(name))[0] + ".png"
        image.save(os.path.join(out_dir, target))
        lines.append(f"{target}\t{label}\n")
    with open(os.path.join(out_dir, "labels.tsv"), "w", encoding="utf-8") as handle:
        handle.writelines(lines)
    return os.path.join(out_dir, "labels.tsv")


def train(data, work, name, steps, spatial_transformer):
    with open(os.path.join(REPO, "scripts", "quickstart_params.json"), encoding="utf-8") as handle:
        params = json.load(handle)
    params.update({
        "train_files": [os.path.join(data, "synth-train-*.tfrecord")],
        "eval_files": [os.path.join(data, "synth-val-*.tfrecord")],
        "model_dir": os.path.join(work, name),
        "alphabet_file": os.path.join(REPO, "data", "alphabets", "lower_alnum.txt"),
        "train_steps": steps, "decay_steps": steps, "save_checkpoints_steps": steps,
        "spatial_transformer": spatial_transformer,
    })
    params["augmentation"].update({"max_rotation_degrees": 12.0, "max_shear": 0.35})
    path = os.path.join(work, f"{name}.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(params, handle, indent=2)
    with open(os.path.join(work, f"{name}.log"), "w") as log:
        subprocess.run([sys.executable, "-m", "tf_crnn.train", path], cwd=REPO, check=True, stdout=log,
                       stderr=subprocess.STDOUT)
    return os.path.join(work, name, "export", "latest")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with synth-train-*/synth-val-* shards")
    parser.add_argument("--heldout", required=True, help="folder of held-out images with labels.tsv")
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--work", default="/tmp/stn_experiment")
    parser.add_argument("--output", default=os.path.join(REPO, "benchmarks", "results", "stn.json"))
    args = parser.parse_args()

    from tf_crnn.evaluation.evaluate import evaluate
    from tf_crnn.inference.runtimes import open_readers

    os.makedirs(args.work, exist_ok=True)
    slanted = slant_images(args.heldout, os.path.join(args.work, "slanted"))
    upright = os.path.join(args.heldout, "labels.tsv")
    result = {"experiment": "spatial_transformer", "steps": args.steps, "augmentation": "rotation 12, shear 0.35",
              "heldout": len(open(upright, encoding="utf-8").readlines())}
    for name, stn in (("plain", False), ("stn", True)):
        export = train(args.data, args.work, name, args.steps, stn)
        scores = [result for _, result in evaluate(open_readers([export]), [slanted, upright], decoders=("greedy",))]
        result[name] = {"slanted_word_accuracy": round(scores[0].word_accuracy, 4),
                        "upright_word_accuracy": round(scores[1].word_accuracy, 4)}
    write_result(result, args.output)


if __name__ == "__main__":
    main()
