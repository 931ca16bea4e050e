"""The Estimator model_fn: CRNN logits -> CTC loss, optimizer, metrics and predictions."""

import time

import tensorflow as tf

from tf_crnn.alphabet import for_config
from tf_crnn.decoding import ctc
from tf_crnn.model import metrics
from tf_crnn.model.distribute import replicas_in_sync
from tf_crnn.model.network import build_network, sequence_lengths
from tf_crnn.model.warm_start import WarmStartInit

PREDICTION_KEYS = ("words", "confidences", "top_words", "top_scores", "chars", "char_confidences", "char_x_ranges")
LOGITS_SIGNATURE = "logits"
SERVING_GROUP_SIZE = 16  # images a serving batch's network runs take at a time (in_width_groups)


def learning_rate(config, global_step):
    """The configured schedule, with an optional linear warm-up."""
    step = tf.cast(global_step, tf.float32)
    base = config.learning_rate
    if config.learning_rate_schedule == "exponential":
        rate = base * tf.pow(config.decay_rate, step / config.decay_steps)
    elif config.learning_rate_schedule == "cosine":
        progress = tf.minimum(step / config.decay_steps, 1.0)
        rate = base * (config.decay_rate + (1 - config.decay_rate) * 0.5 * (1 + tf.cos(3.14159265 * progress)))
    else:
        rate = tf.constant(base)
    if config.warmup_steps > 0:
        rate = rate * tf.minimum(1.0, (step + 1.0) / config.warmup_steps)
    return rate


def make_optimizer(config, rate):
    if config.optimizer == "adadelta":
        return tf.compat.v1.train.AdadeltaOptimizer(rate, rho=0.9, epsilon=1e-6)
    if config.optimizer == "sgd":
        return tf.compat.v1.train.MomentumOptimizer(rate, config.momentum)
    return tf.compat.v1.train.AdamOptimizer(rate)


def replica_gradients(loss, variables, replicas: int, loss_scale=None):
    """Gradients of this replica's share of the global batch's mean loss.

    Each of `replicas` replicas has the mean loss of its own batch_size / replicas
    examples, and the optimizer sums the replicas' gradients: dividing by `replicas` makes
    that sum the gradient of the global batch's mean loss, one device's step. Under
    mixed_float16 the loss is multiplied by the current `loss_scale` before
    differentiation, so small gradients do not flush to zero in float16, and the
    gradients are divided by it again (the optimizer skips a step whose gradients
    overflowed and lowers the scale).
    """
    share = loss / replicas
    if loss_scale is None:
        return tf.gradients(share, variables)
    scale = tf.cast(loss_scale(), share.dtype)
    return [None if g is None else g / scale for g in tf.gradients(share * scale, variables)]


def clipped_like_one_device(gradients, clip_norm: float, replicas: int):
    """`gradients` clipped to `clip_norm` by the global norm of the whole batch's gradient.

    With several replicas that norm is the norm of the replicas' sum, so the shares are
    summed here (one all-reduce), clipped, and divided again for the optimizer's own sum:
    clipping then acts as on one device. Returns (gradients, norm).
    """
    if replicas == 1:
        return tf.clip_by_global_norm(gradients, clip_norm)
    total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM,
                                                           [tf.stop_gradient(g) for g in gradients])
    clipped, norm = tf.clip_by_global_norm(total, clip_norm)
    return [g / replicas for g in clipped], norm


def ctc_loss(time_major_logits, frame_lengths, label_ids, label_lengths):
    """Mean CTC loss over the examples whose labels fit their image's frames.

    A label CTC cannot spell in its frames (a frame per unit, one more between repeats:
    tf_crnn/data/ctc_fit.py) gets an infinite loss from TensorFlow when only its repeats
    make it too long (ignore_longer_outputs_than_inputs catches the plain length alone), and
    one such example made the whole batch's loss infinite. Those examples count for
    nothing here: zero loss, zero gradient, and the mean is over the others.
    """
    fits = label_fits(label_ids, label_lengths, frame_lengths)
    label_sparse = metrics.sparse_from_padded(label_ids, tf.int32)
    losses = tf.compat.v1.nn.ctc_loss(
        labels=label_sparse,
        inputs=time_major_logits,
        sequence_length=frame_lengths,
        ignore_longer_outputs_than_inputs=True,
        time_major=True,
    )
    # tf.where passes no gradient to the branch it does not take, and the CTC gradient of
    # an infeasible label is finite, so nothing of it reaches the weights.
    kept = tf.where(fits, losses, tf.zeros_like(losses))
    return tf.reduce_sum(kept) / tf.maximum(tf.reduce_sum(tf.cast(fits, losses.dtype)), 1.0)


def label_fits(label_ids, label_lengths, frame_lengths):
    """Whether CTC can spell each label in its image's frames (one frame per unit, one more
    between repeats: tf_crnn/data/ctc_fit.py)."""
    ids = tf.cast(label_ids, tf.int32)
    repeats = tf.reduce_sum(tf.cast(tf.equal(ids[:, 1:], ids[:, :-1]) & (ids[:, 1:] >= 0), tf.int32), axis=1)
    return tf.cast(label_lengths, tf.int32) + repeats <= tf.cast(frame_lengths, tf.int32)


def labels_too_long(label_ids, label_lengths, frame_lengths):
    """How many examples of the batch CTC cannot spell in their image's frames; the loss skips them."""
    return tf.reduce_sum(tf.cast(tf.logical_not(label_fits(label_ids, label_lengths, frame_lengths)), tf.int32))


class ProgressHook(tf.estimator.SessionRunHook):
    """Prints one progress line every `every_steps` steps: the step of the total, the loss,
    training images per second, the learning rate and the time left; and the examples
    skipped because their labels are too long for their images (each interval's, and the
    run's total at its end).

    Images per second count only the time inside training steps (input wait included), so
    evaluations and checkpoints between steps do not drag the figure down; the time left
    is wall-clock, evaluations included, at the pace of the last interval.
    """

    def __init__(self, fetches: dict, every_steps: int, total_steps: int, global_step=None, out=None):
        self.fetches = fetches  # images (batch size) required; loss, rate, too_long optional
        self.every_steps = every_steps
        self.total_steps = total_steps
        self.global_step = global_step
        self.out = out
        self.first_step = 0

    def begin(self):
        self.images, self.steps, self.busy = 0, 0, 0.0
        self.too_long, self.too_long_total, self.seen_total = 0, 0, 0
        self.interval_start = None

    def after_create_session(self, session, coord):
        if self.global_step is not None:
            self.first_step = int(session.run(self.global_step))
            self.fetches = dict(self.fetches, step=self.global_step)

    def before_run(self, run_context):
        self.step_start = time.perf_counter()
        if self.interval_start is None:
            self.interval_start = self.step_start
        return tf.estimator.SessionRunArgs(self.fetches)

    def after_run(self, run_context, run_values):
        results = run_values.results
        now = time.perf_counter()
        self.busy += now - self.step_start
        self.images += int(results["images"])
        self.seen_total += int(results["images"])
        self.too_long += int(results.get("too_long", 0))
        self.steps += 1
        if self.steps % self.every_steps == 0:
            self._print(self._line(results, now))
            self.too_long_total += self.too_long
            self.images, self.busy, self.too_long, self.interval_start = 0, 0.0, 0, now

    def _line(self, results: dict, now: float) -> str:
        # A step's own fetch of the global step may see it before or after its update; other
        # workers of a cluster move it on too.
        step = max(self.first_step + self.steps, int(results.get("step", 0)))
        parts = [f"step {step:,}/{self.total_steps:,}"]
        if "loss" in results:
            parts.append(f"loss {float(results['loss']):.3f}")
        parts.append(f"{self.images / max(self.busy, 1e-9):.1f} images/s")
        if "rate" in results:
            parts.append(f"lr {float(results['rate']):.2e}")
        seconds_per_step = (now - self.interval_start) / self.every_steps
        left = max(self.total_steps - step, 0) * seconds_per_step
        parts.append(f"ETA {int(left // 3600)}:{int(left % 3600 // 60):02d}:{int(left % 60):02d}")
        if self.too_long:
            parts.append(f"{self.too_long} skipped (label too long for its image)")
        return "  ".join(parts)

    def end(self, session):
        total = self.too_long_total + self.too_long
        if total:
            self._print(f"{total} of the {self.seen_total} training examples this run read were skipped: their labels "
                        "are too long for their images (CTC needs a frame per unit and one more between repeats; the "
                        "converter's report counts them)")

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


def _eval_summaries(images, true_words, predicted_words, count: int, output_dir: str):
    """A few evaluation images with their true and predicted text, for TensorBoard."""
    tf.compat.v1.summary.image("eval_images", images[:count], max_outputs=count)
    rows = tf.strings.join(["`", true_words[:count], "` → `", predicted_words[:count], "`"])
    tf.compat.v1.summary.text("eval_true_vs_predicted", rows)
    return tf.compat.v1.train.SummarySaverHook(
        save_steps=1, output_dir=output_dir, summary_op=tf.compat.v1.summary.merge_all()
    )


def _never_empty(images, widths, source_widths, min_width: int):
    """A serving batch of no images becomes one blank image (batch norm and the CTC decoders
    refuse empty batches); returns it with the true batch size, to cut the outputs back to."""
    batch = tf.shape(images)[0]
    empty = tf.equal(batch, 0)
    blank = tf.zeros(tf.concat([[1], tf.shape(images)[1:2], [min_width], tf.shape(images)[3:]], axis=0), images.dtype)
    images = tf.cond(empty, lambda: blank, lambda: images)
    widths = tf.cond(empty, lambda: tf.fill([1], tf.constant(min_width, widths.dtype)), lambda: widths)
    source_widths = tf.cond(empty, lambda: tf.fill([1], tf.constant(min_width, source_widths.dtype)),
                            lambda: source_widths)
    return images, widths, source_widths, batch


def in_width_groups(network, images, widths, num_classes: int, group_size: int = SERVING_GROUP_SIZE):
    """The network's logits for a serving batch, run on groups of images of similar width.

    A batch is padded to its widest image, and a client's batch of 64 word crops holds
    some very wide ones: in file order most of the network's work went into padding (300
    IIIT5K crops at batch 64 read 1.8x faster when sorted by width; 2026-12-04). Sorted by
    width and cut into groups of `group_size`, each group runs cropped to its own widest
    image; the logits go back to the input order, padded to the batch's frames. Readings
    do not change: the network gives an image the same frames whatever its batch.

    The first group runs outside the loop over the others, so the network's variables are
    created outside the loop; the serving graph thus holds the network twice.
    """
    order = tf.argsort(widths, stable=True)
    sorted_images, sorted_widths = tf.gather(images, order), tf.gather(widths, order)
    batch = tf.shape(images)[0]
    frames = sequence_lengths(tf.shape(images)[2])
    groups = (batch + group_size - 1) // group_size

    def run_group(index):
        start = index * group_size
        end = tf.minimum(start + group_size, batch)
        group_widths = sorted_widths[start:end]
        width = tf.cast(tf.reduce_max(group_widths), tf.int32)
        logits = network(sorted_images[start:end, :, :width], group_widths)
        return tf.pad(logits, [[0, 0], [0, frames - tf.shape(logits)[1]], [0, 0]])

    results = tf.TensorArray(tf.float32, size=groups, infer_shape=False).write(0, run_group(0))
    _, results = tf.while_loop(lambda index, _: index < groups,
                               lambda index, results: (index + 1, results.write(index, run_group(index))),
                               (tf.constant(1), results))
    logits = tf.ensure_shape(results.concat(), [None, None, num_classes])
    return tf.gather(logits, tf.math.invert_permutation(order))


def model_fn(features, labels, mode, params, config=None):
    """Builds the graph for TRAIN, EVAL or PREDICT; `params['config']` is the tf_crnn Config."""
    settings = params["config"]
    alphabet = for_config(settings)
    training = mode == tf.estimator.ModeKeys.TRAIN
    images, widths = features["images"], features["widths"]
    if mode == tf.estimator.ModeKeys.PREDICT:
        # Callers of the `images` signature give resized images: their pixels are the widths.
        source_widths = tf.cast(features.get("source_widths", widths), tf.int32)
        images, widths, source_widths, batch = _never_empty(images, widths, source_widths, settings.min_image_width)

    # A serving export is built here in PREDICT mode; it computes in `export_precision`
    # (float32 unless asked), as bfloat16 is slow on CPUs that emulate it. The variables are
    # float32 under both policies, so the same checkpoint loads.
    precision = settings.export_precision if mode == tf.estimator.ModeKeys.PREDICT else settings.precision
    network = build_network(settings, alphabet.num_classes, precision=precision)
    if mode == tf.estimator.ModeKeys.PREDICT:
        logits = in_width_groups(network, images, widths, alphabet.num_classes)
    else:
        logits = network(images, widths, training=training)
    frame_lengths = sequence_lengths(widths)
    time_major_log_probs = tf.transpose(tf.nn.log_softmax(logits), [1, 0, 2])

    if mode == tf.estimator.ModeKeys.PREDICT:
        outputs = ctc.decode(time_major_log_probs, frame_lengths, alphabet, settings.decoder,
                                settings.beam_width, settings.top_paths, widths=widths, source_widths=source_widths)
        predictions = {key: outputs[key][:batch] for key in PREDICTION_KEYS}
        # The `logits` signature serves tools that decode themselves (evaluation with any
        # decoder, parity checks of TFLite/ONNX forms); clients use `serving_default`.
        raw = {"log_probs": tf.transpose(time_major_log_probs, [1, 0, 2])[:batch],
               "frame_lengths": frame_lengths[:batch]}
        return tf.estimator.EstimatorSpec(
            mode,
            predictions=predictions,
            export_outputs={
                "serving_default": tf.estimator.export.PredictOutput(predictions),
                LOGITS_SIGNATURE: tf.estimator.export.PredictOutput(raw),
            },
        )

    loss = ctc_loss(time_major_log_probs, frame_lengths, labels["ids"], labels["lengths"])

    if training:
        global_step = tf.compat.v1.train.get_or_create_global_step()
        rate = learning_rate(settings, global_step)
        tf.compat.v1.summary.scalar("learning_rate", rate)
        optimizer = make_optimizer(settings, rate)
        loss_scale = None
        if settings.precision == "mixed_float16":
            loss_scale = tf.compat.v1.mixed_precision.DynamicLossScale()
            optimizer = tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(optimizer, loss_scale)
        replicas = replicas_in_sync()
        variables = network.trained_variables()
        gradients = replica_gradients(loss, variables, replicas, loss_scale)
        if settings.gradient_clip_norm > 0:
            gradients, norm = clipped_like_one_device(gradients, settings.gradient_clip_norm, replicas)
            tf.compat.v1.summary.scalar("gradient_norm", norm)
        # Batch-norm moving averages are update ops of the network, not of the loss.
        with tf.control_dependencies(network.updates):
            train_op = optimizer.apply_gradients(zip(gradients, variables), global_step=global_step)
        too_long = labels_too_long(labels["ids"], labels["lengths"], frame_lengths)
        tf.compat.v1.summary.scalar("examples_too_long", too_long)
        if settings.train_sources and "source" in features:
            # What share of each batch every source gave: the mix the weights asked for.
            for index, source in enumerate(settings.train_sources):
                share = tf.reduce_mean(tf.cast(tf.equal(features["source"], index), tf.float32))
                tf.compat.v1.summary.scalar(f"source_share/{source.name}", share)
        shown = {"images": tf.shape(images)[0], "loss": loss / replicas, "too_long": too_long}
        if replicas > 1:
            # The progress line counts every replica's images and shows the global batch's loss
            # (the hooks are replica 0's): one all-reduce of three numbers a step.
            totals = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, tf.stop_gradient(tf.stack([tf.cast(v, tf.float32) for v in shown.values()])))
            shown = dict(zip(shown, tf.unstack(totals)))
        hook = ProgressHook(dict(shown, rate=rate), settings.log_step_count_steps, settings.train_steps, global_step)
        scaffold = None
        if params.get("warm_start") is not None:
            # Runs only when the session starts without a checkpoint to restore.
            # Its assignments are built once, across replicas (mirrored variables take an
            # assignment there only); outside a strategy merge_call just calls.
            init = tf.distribute.get_replica_context().merge_call(
                lambda _: WarmStartInit(params["warm_start"], network))
            scaffold = tf.compat.v1.train.Scaffold(init_fn=init)
        # The Estimator sums the replicas' losses to report (and to check for NaN): the
        # shares sum to the global batch's mean loss.
        return tf.estimator.EstimatorSpec(mode, loss=loss / replicas, train_op=train_op, training_hooks=[hook],
                                          scaffold=scaffold)

    if settings.decoder == "beam":
        beams, _ = ctc.beam_search(time_major_log_probs, frame_lengths, settings.beam_width, 1)
        ids = beams[0]
    else:
        ids, _ = ctc.greedy(time_major_log_probs, frame_lengths)
    predicted_words = alphabet.tf_decode(ids)
    true_words = alphabet.tf_decode(labels["ids"])
    metric_ops = metrics.eval_metric_ops(predicted_words, true_words, ids, labels["ids"], labels["lengths"])
    if settings.eval_sources and "source" in features:
        # Each eval source's own figures, as `word_accuracy/NAME` and so on (TensorBoard
        # shows them side by side; the best export may be picked on one of them).
        for index, source in enumerate(settings.eval_sources):
            mask = tf.equal(features["source"], index)
            own = metrics.eval_metric_ops(predicted_words, true_words, ids, labels["ids"], labels["lengths"],
                                          mask=mask)
            metric_ops.update({f"{name}/{source.name}": op for name, op in own.items()})
    hooks = []
    if settings.eval_image_summaries > 0:
        eval_dir = params.get("eval_dir")
        hooks.append(_eval_summaries(images, true_words, predicted_words, settings.eval_image_summaries, eval_dir))
    return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops=metric_ops, evaluation_hooks=hooks)
