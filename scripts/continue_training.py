"""A shipped word recognizer trained further, on rendered words and real crops, one sitting at a time.

    python scripts/continue_training.py --run_dir ../crnn_words_run [--model crnn_words_cased] [--stop_at 02:30] [--ship]

Issue 33: `crnn_words` goes on from its own weights (a warm restart) on a mix of rendered
words and the real training crops of ../shared/real_train (IIIT5K, SVT and ICDAR 2015
training splits), over as many sittings as it needs. Each stage is skipped when its output
is there, so the same command resumes a run dir another sitting left:

1. render `--rendered` training and 2,000 validation words (`--seed`) into RUN_DIR/rendered,
   with the fonts the machine has (stage 3 of the shipped model: `sudo bash
   scripts/install_fonts.sh --more`, 716 faces, seed 13);
2. convert the real crops' train.tsv and val.tsv into RUN_DIR/real (their labels as they
   are: the config lower-cases them and strips what the alphabet lacks, per source);
3. write RUN_DIR/params.json from scripts/continue_params.json and train (`--stop_at` ends
   the sitting with a checkpoint and an evaluation): from the shipped model while
   RUN_DIR/model has no checkpoint, else from that checkpoint. Checkpoints are picked on
   the real validation crops; each evaluation's figures are in RUN_DIR/model/evaluations.jsonl;
4. read the real validation crops (alphanumeric, case-insensitive) with the best export
   and with the shipped model, and the benchmarks (../shared/benchmarks) with the best
   (not after an `--until_step` sitting);
5. `--ship`: export the best export's weights again for serving (float32, greedy, no
   alternative readings, as the shipped model: scripts/reexport_shipped_model.py) and put
   it in place of tf_crnn/pretrained/crnn_words/1, only if it reads more of the validation
   crops than the shipped model.

`--color` renders the words in colour and trains a colour network (`channels` 3) from the
grey weights (each kernel that reads the image spread over red, green and blue by its
luminance weights: tf_crnn/model/warm_start.py), the real crops read in their own
colours. `--precision auto` trains in bfloat16 where the CPU computes it natively; the
shipped export computes in float32 either way.

`--min_image_width W` stretches narrower images to W pixels in training, evaluation and
the exports alike (the narrow-crops rule of issue 33: the template stretches to 64, which
read 2.2 points more of the validation crops than 8 over the first 1,000 steps of the same
sitting, docs/recipe.md; stages 1 to 6 were trained and shipped with 8), and
`--init_from EXPORT` starts from other weights than the shipped model's: an arm of a
comparison starts where its control started, though a ship came between them.

`--midground SHARE` renders that share of the words with stray letters behind them
(tf_crnn/synth/render.py), a lever of issue 33 §2 measured as an arm (docs/recipe.md).

`--model crnn_words_cased` does the same for the case-sensitive model: mixed-case words in
printable ASCII, the real labels as written (scripts/continue_params_cased.json), and
exact, case-sensitive accuracy deciding the ship (`labels_cs_jyouhou.tsv` among the
benchmarks).

Nothing here is tuned on the benchmarks; they are read once, at the end.
"""

import argparse
import glob
import json
import os
import sys
from dataclasses import dataclass
from typing import Tuple

from common import run, step  # the scripts folder is sys.path[0]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tf_crnn.errors import exit_on_user_error  # noqa: E402
from tf_crnn.model_files import install_export, resolve_saved_model, resolve_source, shipped_models  # noqa: E402

SHARED = os.path.join(os.path.dirname(REPO), "shared")
USUAL_SETS = ("IIIT5K/labels.tsv", "SVT/labels.tsv", "IC13/labels.tsv")


@dataclass(frozen=True)
class Plan:
    """What continuing one shipped model takes: its config template, the renderer's
    prefix and options, the measure that picks and ships, and the benchmark sets."""

    template: str
    render_prefix: str
    render_options: Tuple[str, ...]
    measure: str  # a field of tf_crnn.evaluate's results
    benchmark_sets: Tuple[str, ...]


PLANS = {
    # Lower-case words of up to 18 characters, as the recipe rendered.
    "crnn_words": Plan("continue_params.json", "words", ("--case", "lower", "--max_length", "18"),
                       "alnum_word_accuracy", USUAL_SETS),
    # Mixed case in printable ASCII, up to 24 characters, as scripts/train_cased.py rendered.
    "crnn_words_cased": Plan("continue_params_cased.json", "cased_words",
                             ("--case", "mixed", "--charset", os.path.join(REPO, "data", "alphabets", "printable.txt"),
                              "--max_length", "24"),
                             "word_accuracy", ("IIIT5K/labels_cs_jyouhou.tsv", "SVT/labels_cs_jyouhou.tsv") + USUAL_SETS),
}


def render(plan, run_dir, count, seed, color=False, midground=0.0):
    if glob.glob(os.path.join(run_dir, "rendered", f"{plan.render_prefix}-val-*.tfrecord")):
        print("rendered words: there already")
        return
    looks = (["--color"] if color else []) + (["--midground", str(midground)] if midground else [])
    run([sys.executable, "-m", "tf_crnn.synth.generate", "--output_dir", os.path.join(run_dir, "rendered"),
         "--prefix", plan.render_prefix, "--count", str(count), "--val_count", "2000", "--seed", str(seed),
         *plan.render_options, *looks])


def convert_real(run_dir, real_train):
    for name, prefix in (("train.tsv", "realtrain"), ("val.tsv", "realval")):
        if glob.glob(os.path.join(run_dir, "real", f"{prefix}-*.tfrecord")):
            print(f"real crops {name}: there already")
            continue
        run([sys.executable, "-m", "tf_crnn.data.convert", os.path.join(real_train, name), "--output_dir",
             os.path.join(run_dir, "real"), "--prefix", prefix, "--val_ratio", "0", "--examples_per_shard", "1000"])


def write_params(run_dir, steps, until_step=None, plan=PLANS["crnn_words"], channels=1, precision=None,
                 min_image_width=None, init_from=None):
    """The template with the run's length (the schedule spans `steps`; this sitting ends at
    `until_step`), its input channels and, where given, its training precision, the width
    narrower images are stretched to (in training, evaluation and the exports) and the
    weights it starts from (default: the shipped model)."""
    with open(os.path.join(REPO, "scripts", plan.template), encoding="utf-8") as handle:
        params = json.load(handle)
    params.update(train_steps=min(until_step or steps, steps), decay_steps=steps)
    if channels != 1:
        params["channels"] = channels
    if precision:
        params["precision"] = precision
    if min_image_width:
        params["min_image_width"] = min_image_width
    if init_from:
        params["init_from"] = init_from
    path = os.path.join(run_dir, "params.json")
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(params, handle, indent=2)
    os.replace(path + ".tmp", path)
    return path


def validation_accuracy(plan, export, val_tsv, output_dir):
    """The plan's word accuracy of `export` on the real validation crops."""
    run([sys.executable, "-m", "tf_crnn.evaluate", export, val_tsv, "--decoders", "greedy",
         "--output_dir", output_dir])
    with open(os.path.join(output_dir, "evaluation.json"), encoding="utf-8") as handle:
        return json.load(handle)["results"][0][plan.measure]


def _absolute_if_a_path(init_from):
    """A path made absolute (params.json is read from the run dir); a shipped model's name,
    or nothing, as it is. Names are told from paths as the config tells them (a checkpoint
    prefix is a path that exists as no file)."""
    return init_from if not init_from or init_from in shipped_models() else os.path.abspath(init_from)


@exit_on_user_error
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run_dir", required=True, help="where the data, the model dir and the results go "
                                                         "(outside the work tree; kept between sittings)")
    parser.add_argument("--model", choices=sorted(PLANS), default="crnn_words", help="the shipped model to continue")
    parser.add_argument("--real_train", default=os.path.join(SHARED, "real_train"),
                        help="folder with the real crops' train.tsv and val.tsv")
    parser.add_argument("--benchmarks", default=os.path.join(SHARED, "benchmarks"))
    parser.add_argument("--rendered", type=int, default=200000, help="rendered training words")
    parser.add_argument("--seed", type=int, default=12, help="the renderer's seed (the recipe drew seed 11)")
    parser.add_argument("--steps", type=int, default=2500, help="training steps of this run dir (cosine over them)")
    parser.add_argument("--stop_at", help="end this sitting at this time (tf_crnn.train --stop_at)")
    parser.add_argument("--until_step", type=int, help="end this sitting at this global step, the learning "
                                                       "rate following the schedule of --steps all the same "
                                                       "(two run dirs compared over their first steps)")
    parser.add_argument("--color", action="store_true", help="colour renders and a colour network started from "
                                                             "the grey weights (channels 3)")
    parser.add_argument("--midground", type=float, default=0.0, metavar="SHARE",
                        help="share of the rendered words with stray letters behind them (tf_crnn.synth.generate)")
    parser.add_argument("--precision", choices=("auto", "float32", "mixed_bfloat16"),
                        help="training precision (default: the template's, float32)")
    parser.add_argument("--min_image_width", type=int, help="stretch narrower images to this width in training "
                                                                 "and serving alike (default: the template's, 64)")
    parser.add_argument("--init_from", help="start from this export, checkpoint or shipped model instead of the "
                                            "shipped model continued (an arm compared with a run that started "
                                            "before the last ship)")
    parser.add_argument("--ship", action="store_true", help="install the best export if it reads more of the "
                                                            "validation crops than the shipped model")
    args = parser.parse_args(argv)
    if args.min_image_width is not None and args.min_image_width < 1:
        parser.error(f"--min_image_width must be at least 1, not {args.min_image_width}")
    if not 0.0 <= args.midground <= 1.0:
        parser.error(f"--midground is a share of the words, from 0 to 1, not {args.midground}")
    init_from = _absolute_if_a_path(args.init_from)
    if init_from:
        resolve_source(init_from)  # a wrong --init_from is told before minutes of rendering
    run_dir = os.path.abspath(args.run_dir)
    plan = PLANS[args.model]
    shipped = os.path.join(REPO, "tf_crnn", "pretrained", args.model)
    os.makedirs(run_dir, exist_ok=True)

    step("1/5 rendered words")
    render(plan, run_dir, args.rendered, args.seed, args.color, args.midground)
    step("2/5 real crops")
    convert_real(run_dir, args.real_train)
    step("3/5 train")
    params = write_params(run_dir, args.steps, args.until_step, plan, 3 if args.color else 1, args.precision,
                          args.min_image_width, init_from)
    run([sys.executable, "-m", "tf_crnn.train", params] + (["--stop_at", args.stop_at] if args.stop_at else []))

    step("4/5 evaluate")
    best = resolve_saved_model(os.path.join(run_dir, "model", "export", "best"))
    val_tsv = os.path.join(args.real_train, "val.tsv")
    results = {"best_export": best,
               "measure": plan.measure,
               "val_best": validation_accuracy(plan, best, val_tsv, os.path.join(run_dir, "eval_val_best")),
               "val_shipped": validation_accuracy(plan, resolve_saved_model(shipped), val_tsv,
                                                  os.path.join(run_dir, "eval_val_shipped"))}
    sets = [os.path.join(args.benchmarks, name) for name in plan.benchmark_sets]
    # A sitting cut short by --until_step (one arm of a comparison) is judged on the
    # validation crops alone: the test sets are read once, by the sitting that may ship.
    if args.until_step is None and all(os.path.isfile(path) for path in sets):
        run([sys.executable, "-m", "tf_crnn.evaluate", best, *sets, "--decoders", "greedy",
             "--output_dir", os.path.join(run_dir, "eval_benchmarks")])
        with open(os.path.join(run_dir, "eval_benchmarks", "evaluation.json"), encoding="utf-8") as handle:
            results["benchmarks"] = {r["name"]: {"exact": r["word_accuracy"], "alnum": r["alnum_word_accuracy"]}
                                     for r in json.load(handle)["results"]}
    print(json.dumps(results, indent=2))

    if args.ship:
        step("5/5 ship")
        if results["val_best"] <= results["val_shipped"]:
            print(f"not shipped: the best export reads {results['val_best']:.1%} of the validation crops, "
                  f"the shipped model {results['val_shipped']:.1%}")
        else:
            # From the best export's own weights: its checkpoint may be gone (keep_checkpoint_max).
            out = os.path.join(run_dir, "ship")
            run([sys.executable, os.path.join(REPO, "scripts", "reexport_shipped_model.py"), "--source", best,
                 "--output_dir", out, "--top_paths", "0"])
            target = install_export(resolve_saved_model(out), os.path.join(shipped, "1"))
            print(f"shipped: {os.path.relpath(target, REPO)} ({results['val_best']:.1%} of the validation crops "
                  f"against {results['val_shipped']:.1%})")
    with open(os.path.join(run_dir, "results.json"), "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
