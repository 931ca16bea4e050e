"""Training curves of a run: loss, word accuracy and CER against steps and wall-clock time.

Reads the TensorBoard event files of MODEL_DIR (training loss) and MODEL_DIR/eval
(evaluation loss, word accuracy, alphanumeric word accuracy, CER) and draws them into one
PNG, so a run can be shown without a TensorBoard server.

    python scripts/plot_training.py quickstart_run/model --output docs/training_curve.png
"""

import argparse
import os
import sys

from common import read_scalars  # the scripts folder is sys.path[0]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def plot(model_dir: str, output: str, title: str = None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tf_crnn.errors import DataError

    train, evaluation = read_scalars(model_dir), read_scalars(os.path.join(model_dir, "eval"))
    if "loss" not in train:
        raise DataError(f"{model_dir}: no training summaries (events.out.tfevents.*) found")
    start = min(t for _, t, _ in train["loss"])
    panels = [("loss", [("train", train.get("loss", [])), ("eval", evaluation.get("loss", []))]),
              ("word accuracy", [("exact", evaluation.get("word_accuracy", [])),
                                 ("alphanumeric", evaluation.get("alnum_word_accuracy", []))]),
              ("CER", [("eval", evaluation.get("cer", []))])]
    figure, axes = plt.subplots(2, 3, figsize=(13, 7))
    for column, (name, lines) in enumerate(panels):
        for row, (axis_label, index) in enumerate((("step", 0), ("wall-clock minutes", 1))):
            axis = axes[row][column]
            for label, points in lines:
                if points:
                    xs = [p[0] if index == 0 else (p[1] - start) / 60 for p in points]
                    axis.plot(xs, [p[2] for p in points], marker="o" if len(points) < 30 else None,
                              markersize=3, label=label)
            axis.set_xlabel(axis_label)
            axis.set_title(name)
            axis.grid(alpha=0.3)
            if name == "loss":
                axis.set_yscale("log")
            axis.legend()
    figure.suptitle(title or os.path.basename(os.path.normpath(model_dir)))
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    figure.savefig(output, dpi=90)
    plt.close(figure)
    return output


def main():
    from tf_crnn.errors import exit_on_user_error

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("--output", default="training_curve.png")
    parser.add_argument("--title", default=None)
    args = parser.parse_args()
    exit_on_user_error(lambda: print(plot(args.model_dir, args.output, args.title)))()


if __name__ == "__main__":
    main()
