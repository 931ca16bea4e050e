"""Training throughput of a CRNN through the real Estimator path, against plain Keras.

Makes its own input: 32x100 grayscale word images in TFRecord shards (so every batch is
exactly 64 x 32 x 100 x 1). In one run it trains `--config`'s network (default:
model_params.json, the paper's CRNN) for `--warmup` + `--steps` steps twice, on the same
batches from the same input_fn: through the Estimator (tf_crnn.train's path, with the
config's precision) and through a plain fp32 `tf.keras` `model.fit` (the baseline), and
prints both rates and their ratio. Only the measured steps are timed (input wait
included). Writes benchmarks/results/train.json.

    python scripts/bench_train.py [--config model_params.json] [--batch_size 64] [--steps 40]

Levers that were tried on the Estimator path can be measured again: `--inter_op_threads`
and `--intra_op_threads` (the session's thread pools), `--xla_auto_jit` (TensorFlow's
automatic XLA clustering), and `--skip_baseline` to time the Estimator alone.
"""

import argparse
import os
import platform
import sys
import tempfile
import time

from common import cpu_features, describe_cpu, make_shards, write_result  # the scripts folder is sys.path[0]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tf_crnn.errors import exit_on_user_error  # noqa: E402  (no TensorFlow import: --xla_auto_jit must come first)  # noqa: E402


class StepTimer:
    """Times training steps after a warm-up, inside the session run (input wait included)."""

    def __new__(cls, *args, **kwargs):
        import tensorflow as tf

        class _Hook(tf.estimator.SessionRunHook):
            def __init__(self, warmup):
                self.warmup, self.times = warmup, []

            def before_run(self, run_context):
                self.start = time.perf_counter()

            def after_run(self, run_context, run_values):
                self.times.append(time.perf_counter() - self.start)

            def measured(self):
                return self.times[self.warmup:]

        return _Hook(*args, **kwargs)


def keras_fit_rate(config, files, batch_size, warmup, steps):
    """The same network and batches trained by a plain fp32 Keras model.fit; images/s."""
    import tensorflow as tf

    from tf_crnn.alphabet import for_config
    from tf_crnn.data.input import make_dataset
    from tf_crnn.model.model_fn import ctc_loss
    from tf_crnn.model.network import build_network, sequence_lengths

    class CTCTrainer(tf.keras.Model):
        def __init__(self, network):
            super().__init__()
            self.network = network

        def train_step(self, data):
            features, labels = data
            with tf.GradientTape() as tape:
                logits = self.network(features["images"], features["widths"], training=True)
                log_probs = tf.transpose(tf.nn.log_softmax(logits), [1, 0, 2])
                loss = ctc_loss(log_probs, sequence_lengths(features["widths"]), labels["ids"], labels["lengths"])
            variables = self.network.trainable_variables
            gradients = tape.gradient(loss, variables)
            gradients, _ = tf.clip_by_global_norm(gradients, config.gradient_clip_norm)
            self.optimizer.apply_gradients(zip(gradients, variables))
            return {"loss": loss}

    class Timer(tf.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []

        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    tf.keras.mixed_precision.set_global_policy("float32")
    trainer = CTCTrainer(build_network(config, for_config(config).num_classes, precision="float32"))
    trainer.compile(optimizer=tf.keras.optimizers.Adam(config.learning_rate))
    timer = Timer()
    dataset = make_dataset(config, files, training=True, batch_size=batch_size)
    trainer.fit(dataset, steps_per_epoch=warmup + steps, epochs=1, verbose=0, callbacks=[timer])
    measured = timer.times[warmup:]
    return batch_size * len(measured) / sum(measured)



@exit_on_user_error
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.path.join(REPO, "model_params.json"))
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--precision", default=None, help="override the config's precision")
    parser.add_argument("--inter_op_threads", type=int, default=None, help="override the config's (0: TF's choice)")
    parser.add_argument("--intra_op_threads", type=int, default=None, help="override the config's (0: TF's choice)")
    parser.add_argument("--xla_auto_jit", action="store_true",
                        help="let TensorFlow cluster ops into XLA (TF_XLA_FLAGS=--tf_xla_auto_jit=2 --tf_xla_cpu_global_jit)")
    parser.add_argument("--skip_baseline", action="store_true", help="do not run the Keras model.fit baseline")
    parser.add_argument("--output", default=os.path.join(REPO, "benchmarks", "results", "train.json"))
    args = parser.parse_args()
    features = cpu_features()
    print(describe_cpu(features), flush=True)
    if args.xla_auto_jit:
        # Read when TensorFlow initialises, so it must be set before the import below.
        os.environ["TF_XLA_FLAGS"] = "--tf_xla_auto_jit=2 --tf_xla_cpu_global_jit"

    from tf_crnn.config import load_config
    from tf_crnn.data.input import make_input_fn
    from tf_crnn.model.estimator import make_estimator

    with tempfile.TemporaryDirectory() as work:
        files = make_shards(work)
        config = load_config(args.config, {"model_dir": os.path.join(work, "model"), "batch_size": args.batch_size,
                                           "precision": args.precision,
                                           "inter_op_threads": args.inter_op_threads,
                                           "intra_op_threads": args.intra_op_threads})
        config.bucket_boundaries = []
        config.shuffle_buffer = 1024
        config.log_step_count_steps = 10 ** 6
        config.save_checkpoints_steps = 10 ** 6
        estimator = make_estimator(config)
        timer = StepTimer(args.warmup)
        estimator.train(make_input_fn(config, files, training=True), steps=args.warmup + args.steps, hooks=[timer])
        measured = timer.measured()
        baseline = None if args.skip_baseline else keras_fit_rate(config, files, args.batch_size, args.warmup,
                                                                  args.steps)
    seconds = sum(measured)
    rate = args.batch_size * len(measured) / seconds
    result = {
        "benchmark": "estimator_training",
        "config": os.path.relpath(args.config, REPO),
        "conv_channels": config.conv_channels,
        "lstm_units": config.lstm_units,
        "precision": config.precision,
        "image": "32x100x1",
        "batch_size": args.batch_size,
        "steps_measured": len(measured),
        "images_per_second": round(rate, 1),
        "keras_fit_fp32_images_per_second": round(baseline, 1) if baseline else None,
        "speedup_over_keras_fit_fp32": round(rate / baseline, 2) if baseline else None,
        "inter_op_threads": config.inter_op_threads,
        "intra_op_threads": config.intra_op_threads,
        "xla_auto_jit": args.xla_auto_jit,
        "median_step_seconds": round(sorted(measured)[len(measured) // 2], 4),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "cpu_features": features,
    }
    write_result(result, args.output)


if __name__ == "__main__":
    main()
