"""`tf-crnn train model_params.json [--flags]` (also `python -m tf_crnn.train`): train and
evaluate with an Estimator (what a run does: tf_crnn/training.py).

It prints one progress line per `log_step_count_steps` (step, loss, images/s, learning
rate, time left) and one line per evaluation (tf_crnn/export/exporters.py); TensorFlow's own
INFO log (the RunConfig, hooks, checkpoints) comes back with `--verbosity debug`.
"""

import argparse
import datetime
import os
import re
import sys

from tf_crnn.cli import ArgumentParser
from tf_crnn.errors import ConfigError, exit_on_user_error

# The config fields the command line may override, with their flag's help.
OVERRIDES = {
    "model_dir": (str, "where checkpoints, summaries and exports go"),
    "train_steps": (int, "total training steps"),
    "batch_size": (int, "the global batch size"),
    "learning_rate": (float, "base learning rate"),
    "gpu": (str, "GPUs to use (CUDA_VISIBLE_DEVICES), e.g. '0', '0,1', or '-1' for CPU only"),
    "save_checkpoints_steps": (int, "checkpoint and evaluate every N steps"),
    "init_from": (str, "start a new model dir from these weights: a checkpoint prefix, a model dir, a tf_crnn "
                       "export or a shipped model's name, e.g. crnn_words"),
}


def verbosity(text: str) -> bool:
    """--verbosity: 'debug' or 'info' (or absl's numbers, 0 and up, as earlier releases took)
    bring TensorFlow's INFO log back; 'warning', 'error' or a negative number keep it quiet."""
    if text in ("debug", "info"):
        return True
    if text in ("warning", "error"):
        return False
    try:
        return int(text) >= 0
    except ValueError:
        raise argparse.ArgumentTypeError(f"debug, info, warning or error, not {text!r}") from None


def parse_stop_at(text: str, now: datetime.datetime = None) -> datetime.datetime:
    """--stop_at as a local time: 'YYYY-MM-DDTHH:MM', 'HH:MM' (the next one) or a duration
    such as '90m' or '2h'; anything else, or a time already past, is a ConfigError."""
    now = now or datetime.datetime.now()
    duration = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([mh])", text.strip())
    if duration:
        amount = float(duration.group(1))
        return now + datetime.timedelta(minutes=amount * (60 if duration.group(2) == "h" else 1))
    clock = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    try:
        if clock:
            moment = now.replace(hour=int(clock.group(1)), minute=int(clock.group(2)), second=0, microsecond=0)
            return moment if moment > now else moment + datetime.timedelta(days=1)
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None:
        raise ConfigError(f"flag --stop_at: {text!r} is not a time ('2026-12-07T02:40', '02:40') or a duration "
                          "('90m', '2h')")
    if moment <= now:
        raise ConfigError(f"flag --stop_at: {text!r} has already passed")
    return moment


def parse_args(argv, prog: str) -> argparse.Namespace:
    parser = ArgumentParser(prog=prog, description="Train and evaluate a CRNN from a config file; the "
                                                   "same command on the same model dir resumes.")
    parser.add_argument("config", help="the config file (JSON), e.g. model_params.json")
    for name, (kind, text) in OVERRIDES.items():
        parser.add_argument(f"--{name}", type=kind, default=None, help=f"{text} (overrides the config)")
    parser.add_argument("--stop_at", default=None,
                        help="stop at this local time ('2026-12-07T02:40' or '02:40', the next such time) or after "
                             "a duration ('90m', '2h'), with a checkpoint, an evaluation and its exports; the same "
                             "command resumes the run")
    parser.add_argument("--verbosity", "-v", type=verbosity, default=False,
                        help="debug: TensorFlow's own INFO log too (default: progress and evaluation lines only)")
    return parser.parse_args(argv)


def run(args) -> None:
    from tf_crnn.config import load_config
    from tf_crnn.model.distribute import split_cpu_for_named_devices
    from tf_crnn.training import train_and_evaluate

    config = load_config(args.config, {name: getattr(args, name) for name in OVERRIDES})
    stop_at = parse_stop_at(args.stop_at) if args.stop_at else None
    if config.gpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = config.gpu
    split_cpu_for_named_devices(config)  # before TensorFlow's runtime starts
    result = train_and_evaluate(config, stop_at, tensorflow_log=args.verbosity)
    metrics = result[0] if result else None
    if metrics:
        shown = ", ".join(f"{k}={metrics[k]:.4f}" for k in ("word_accuracy", "alnum_word_accuracy", "cer", "loss")
                          if k in metrics)
        print(f"final evaluation at step {metrics.get('global_step')}: {shown}")
    print(f"model dir: {config.model_dir}")


@exit_on_user_error
def main(argv=None, prog: str = "python -m tf_crnn.train") -> None:
    from tf_crnn.kernels import use_onednn_for_training

    args = parse_args(sys.argv[1:] if argv is None else argv, prog)  # --help and usage errors: no setting made
    use_onednn_for_training()  # before TensorFlow is imported (tf_crnn/kernels.py)
    run(args)
