"""The Estimator that trains, evaluates and exports a config's CRNN: its RunConfig (threads,
checkpoints, TF_CONFIG clusters, the `distribute` strategy) around tf_crnn/model/model_fn.py."""

import os


def run_config(config, strategy=None):
    """`strategy`: the training strategy (tf_crnn/model/distribute.py make_strategy), made
    once by the caller, which checks the `distribute` fields before anything is written."""
    import tensorflow as tf

    session_config = tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=config.intra_op_threads,
        inter_op_parallelism_threads=config.inter_op_threads,
        allow_soft_placement=True,
    )
    session_config.gpu_options.allow_growth = True
    cluster = tf.estimator.RunConfig()  # only reads TF_CONFIG
    if cluster.cluster_spec and cluster.task_type in ("master", "chief", "worker"):
        # The Estimator's own between-graph default, which a custom session_config replaces:
        # a trainer talks to the parameter servers and itself only, never waits for the others.
        session_config.device_filters.extend(["/job:ps", f"/job:{cluster.task_type}/task:{cluster.task_id}"])
    return tf.estimator.RunConfig(
        model_dir=config.model_dir,
        tf_random_seed=config.seed,
        save_checkpoints_steps=config.save_checkpoints_steps,
        save_checkpoints_secs=None,
        keep_checkpoint_max=config.keep_checkpoint_max,
        log_step_count_steps=config.log_step_count_steps,
        save_summary_steps=config.log_step_count_steps,
        session_config=session_config,
        # Training only: evaluation and exports run on one device, as in a single-device run.
        train_distribute=strategy,
    )


def make_estimator(config, run_config_=None, warm_start=None, strategy=None):
    """The Estimator of `config`; `warm_start` (a tf_crnn.model.warm_start.Plan) loads its weights
    into a model dir that has no checkpoint yet; `strategy` trains on several devices."""
    import tensorflow as tf

    from tf_crnn.model.model_fn import model_fn

    run_config_ = run_config_ or run_config(config, strategy)
    eval_dir = os.path.join(config.model_dir, "eval")
    return tf.estimator.Estimator(model_fn=model_fn, config=run_config_,
                                  params={"config": config, "eval_dir": eval_dir, "warm_start": warm_start})
