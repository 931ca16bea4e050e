"""Training hooks that end a run: at a wall-clock time, or when the loss stops being finite.

A long run carried over several sittings (a session that ends at a fixed hour, a
machine lent until the evening) should stop cleanly before it is cut off: the Estimator
then saves a checkpoint as at any end of training, train_and_evaluate evaluates it and
runs its exporters, and the same command later resumes from it.
"""

import datetime
import math

import tensorflow as tf

from tf_crnn.errors import UserError


class TrainingDiverged(UserError):
    """The training loss became NaN or infinite: the weights are lost, the last checkpoint is not."""


class StopAtTime(tf.estimator.SessionRunHook):
    """Asks the training loop to stop after the first step that ends at or past `moment`."""

    def __init__(self, moment: datetime.datetime):
        self.moment = moment
        self.stopped = False

    def after_run(self, run_context, run_values):
        if datetime.datetime.now() >= self.moment:
            self.stopped = True
            run_context.request_stop()


class StopOnNonFiniteLoss(tf.estimator.SessionRunHook):
    """Ends training with one line naming the step when the loss turns NaN or infinite.

    Labels CTC cannot fit are left out of the loss (ignore_longer_outputs_than_inputs), so
    a non-finite training loss means diverged weights. The Estimator's own check
    (NanTensorHook) ends a run with a traceback that names no step, and only for NaN.
    Given to the TrainSpec, this hook runs before that one. It raises before the step's
    weights reach a checkpoint (hooks do not end, so nothing is saved on the way out), so
    the model dir keeps its last finite checkpoint and the run resumes from it.
    """

    def __init__(self, learning_rate: float):
        self.learning_rate = learning_rate

    def begin(self):
        self.loss = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.LOSSES)[-1]
        self.global_step = tf.compat.v1.train.get_global_step()

    def before_run(self, run_context):
        return tf.estimator.SessionRunArgs({"loss": self.loss, "step": self.global_step})

    def after_run(self, run_context, run_values):
        loss = float(run_values.results["loss"])
        if not math.isfinite(loss):
            step = int(run_values.results["step"]) + 1
            raise TrainingDiverged(
                f"the training loss became {'NaN' if math.isnan(loss) else 'infinite'} at step {step:,}: the "
                f"weights diverged. Lower learning_rate "
                f"(now {self.learning_rate:g}) or raise warmup_steps, then run the same command: training "
                "resumes from the last checkpoint, which holds no NaN")
