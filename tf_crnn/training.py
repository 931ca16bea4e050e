"""Training as a library: `train_and_evaluate(config)` runs the Estimator's
`tf.estimator.train_and_evaluate` for a loaded config (the command over it: tf_crnn/cli/train.py).

Checkpoints every `save_checkpoints_steps`, an evaluation on the eval shards after each
checkpoint, and serving SavedModels exported to `MODEL_DIR/export/latest` and
`MODEL_DIR/export/best` (by the config's best metric). The same config on the same model
dir resumes from its last checkpoint; a checkpoint whose evaluation a killed run never
finished is evaluated first. TF_CONFIG is honoured by the Estimator's RunConfig for
distributed training.
"""

import dataclasses
import datetime
import json
import os
import warnings

from tf_crnn.config import (best_metric, check_same_architecture, eval_sources, expand_files, train_sources,
                            with_label_handling, write_resolved)
from tf_crnn.errors import ConfigError, DataError
from tf_crnn.kernels import describe_kernels
from tf_crnn.model.distribute import make_strategy
from tf_crnn.model_files import refuse_pattern_characters

EVALUATIONS_LOG = "evaluations.jsonl"


def expanded_sources(config, kind: str):
    """(DataSource, its shards, the name errors give it) for each train or eval source; a
    source whose globs match nothing is refused by name."""
    sources = train_sources(config) if kind == "train" else eval_sources(config)
    out = []
    for index, source in enumerate(sources):
        what = f"{kind}_sources[{index}] ({source.name})" if getattr(config, f"{kind}_sources") else f"{kind}_files"
        out.append((source, expand_files(source.files, what), what))
    return out


def refuse_non_model_dir(model_dir: str) -> None:
    """A model dir must be a folder of checkpoints: training into an export (the shipped
    model, a copy of one) would start from scratch there and mix checkpoints into it."""
    refuse_pattern_characters(model_dir, "field 'model_dir'")
    if os.path.exists(model_dir) and not os.path.isdir(model_dir):
        raise ConfigError(f"field 'model_dir': {model_dir} is a file, not a folder")
    numbered = [d for d in os.listdir(model_dir) if d.isdigit()] if os.path.isdir(model_dir) else []
    if os.path.isfile(os.path.join(model_dir, "saved_model.pb")) or any(
            os.path.isfile(os.path.join(model_dir, d, "saved_model.pb")) for d in numbered):
        raise ConfigError(f"field 'model_dir': {model_dir} is an export (a SavedModel), not a model dir; "
                          "give a new or existing training folder")


def check_trained_to_the_end(config) -> None:
    """Training that stops early without an error ran out of data (every example of a
    pass dropped); say so instead of reporting a short run as finished."""
    import tensorflow as tf

    checkpoint = tf.train.latest_checkpoint(config.model_dir)
    step = int(checkpoint.rsplit("-", 1)[1]) if checkpoint else 0
    if step < config.train_steps:
        raise DataError(f"training stopped at step {step} of {config.train_steps}: no example of train_files "
                        "survived decoding and the label checks (see the warnings above)")


def warm_start_plan(config):
    """The checked warm start of `config.init_from`, or None: without init_from, or when the
    model dir already has a checkpoint (a restart resumes from it, not from init_from)."""
    import tensorflow as tf

    from tf_crnn.model.warm_start import plan_warm_start
    from tf_crnn.model_files import resolve_source

    if not config.init_from:
        return None
    existing = tf.train.latest_checkpoint(config.model_dir) if os.path.isdir(config.model_dir) else None
    if existing:
        print(f"init_from {config.init_from}: not used, {config.model_dir} has a checkpoint ({existing}); "
              "training resumes from it", flush=True)
        return None
    plan = plan_warm_start(config, resolve_source(config.init_from))
    print(plan.summary(), flush=True)
    return plan


def evaluated_steps(model_dir: str) -> set:
    """The global steps whose evaluations the model dir's log holds (EVALUATIONS_LOG)."""
    steps = set()
    try:
        with open(os.path.join(model_dir, EVALUATIONS_LOG), encoding="utf-8") as handle:
            for line in handle:
                try:
                    steps.add(int(json.loads(line)["global_step"]))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by a crash
    except OSError:
        pass
    return steps


def evaluate_where_the_last_run_stopped(estimator, eval_spec, model_dir: str, train_steps: int) -> None:
    """Says where a resumed run starts; and evaluates (and exports) its checkpoint first when
    the last run wrote it but was killed before its evaluation ended, so the best export
    never misses a checkpoint. (Step 0, the untrained start, is not worth one; the last
    step is evaluated by train_and_evaluate itself, which trains no further.)"""
    import tensorflow as tf

    checkpoint = tf.train.latest_checkpoint(model_dir)
    if checkpoint is None:
        return
    step = int(checkpoint.rsplit("-", 1)[1])
    print(f"resumed from step {step:,} ({checkpoint})", flush=True)
    if step == 0 or step >= train_steps or step in evaluated_steps(model_dir):
        return
    print(f"step {step:,} was saved but not evaluated (the last run stopped during its evaluation): "
          "evaluating it first", flush=True)
    result = estimator.evaluate(eval_spec.input_fn, steps=eval_spec.steps, checkpoint_path=checkpoint)
    for exporter in eval_spec.exporters:
        exporter.export(estimator, os.path.join(estimator.model_dir, "export", exporter.name), checkpoint, result,
                        is_the_final_export=False)


def train_and_evaluate(config, stop_at: datetime.datetime = None, tensorflow_log: bool = False):
    """Trains `config` to `config.train_steps`, evaluating and exporting along the way; or
    until `stop_at`, when training stops with a checkpoint, an evaluation and its exports.
    TensorFlow's own log is kept to errors, so the progress and evaluation lines are what a
    person reads, unless `tensorflow_log` asks for its INFO lines too."""
    import tensorflow as tf

    from tf_crnn.model.stop import StopAtTime, StopOnNonFiniteLoss

    from tf_crnn.data.check import check_training_data
    from tf_crnn.data.input import make_input_fn
    from tf_crnn.export.exporters import BestExporter, LatestExporter
    from tf_crnn.export.saved_model import serving_input_receiver_fn
    from tf_crnn.model.estimator import make_estimator
    from tf_crnn.model_files import write_metadata

    refuse_non_model_dir(config.model_dir)
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.INFO if tensorflow_log else tf.compat.v1.logging.ERROR)
    # The Estimator feeds a strategy's replicas from a graph-mode dataset, which warns that
    # its options are read the legacy way: true, and nothing a user can act on.
    warnings.filterwarnings("ignore", message="To make it possible to preserve tf.data options")
    strategy = make_strategy(config)  # the `distribute` fields checked before anything is written
    print(describe_kernels(), flush=True)
    if strategy is not None:
        print(f"distribute: mirrored over {strategy.num_replicas_in_sync} devices "
              f"({', '.join(strategy.extended.worker_devices)}), {config.batch_size // strategy.num_replicas_in_sync} "
              f"of each batch of {config.batch_size} on each", flush=True)
    train_data = expanded_sources(config, "train")
    eval_data = expanded_sources(config, "eval")
    check_same_architecture(config, config.model_dir)
    # In a TF_CONFIG cluster only the chief writes into the shared model dir (all tasks start
    # at once); the other trainers shuffle with their own seed, or all would read alike.
    cluster = tf.estimator.RunConfig()  # only reads TF_CONFIG
    warm_start = warm_start_plan(config)  # refused before a step, and before anything is written
    if cluster.is_chief:
        for source, files, what in train_data + eval_data:
            check_training_data(with_label_handling(config, source), ((what, files),))
        write_resolved(config, config.model_dir)
    config = dataclasses.replace(config, seed=config.seed + (cluster.global_id_in_cluster or 0))
    exports_here = not cluster.cluster_spec or cluster.task_type == "master"  # also true for an evaluator

    # The graph seed alone leaves Keras initializers to Python's own random module:
    # seeding all three makes a seed mean one starting point.
    tf.keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    estimator = make_estimator(config, warm_start=warm_start, strategy=strategy)
    receiver = serving_input_receiver_fn(config)
    assets = write_metadata(config, os.path.join(config.model_dir, "export_metadata")) if exports_here else None
    latest = LatestExporter("latest", receiver, assets_extra=assets, exports_to_keep=config.keep_checkpoint_max)
    exporters = [latest, BestExporter("best", receiver, metric=best_metric(config), exports_to_keep=1,
                                      assets_extra=assets, latest=latest,
                                      log_path=os.path.join(config.model_dir, EVALUATIONS_LOG))]
    stop = StopAtTime(stop_at) if stop_at else None
    train_spec = tf.estimator.TrainSpec(make_input_fn(config, [(s, f) for s, f, _ in train_data], training=True),
                                        max_steps=config.train_steps,
                                        hooks=[StopOnNonFiniteLoss(config.learning_rate)] + ([stop] if stop else []))
    eval_spec = tf.estimator.EvalSpec(
        make_input_fn(config, [(s, f) for s, f, _ in eval_data], training=False),
        steps=config.eval_steps or None,
        exporters=exporters,
        start_delay_secs=0,
        throttle_secs=0,
    )
    if cluster.is_chief and exports_here:
        evaluate_where_the_last_run_stopped(estimator, eval_spec, config.model_dir, config.train_steps)
    result = tf.estimator.train_and_evaluate(estimator, train_spec, eval_spec)
    if stop is not None and stop.stopped:
        print(f"stopped at {stop_at:%Y-%m-%d %H:%M} as asked (--stop_at); the same command resumes the run",
              flush=True)
    elif cluster.is_chief:
        check_trained_to_the_end(config)
    return result
