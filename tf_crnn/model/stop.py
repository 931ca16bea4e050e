"""A training hook that ends a run at a wall-clock time.

A long run carried over several sittings (a session that ends at a fixed hour, a
machine lent until the evening) should stop cleanly before it is cut off: the Estimator
then saves a checkpoint as at any end of training, train_and_evaluate evaluates it and
runs its exporters, and the same command later resumes from it.
"""

import datetime

import tensorflow as tf


class StopAtTime(tf.estimator.SessionRunHook):
    """Asks the training loop to stop after the first step that ends at or past `moment`."""

    def __init__(self, moment: datetime.datetime):
        self.moment = moment
        self.stopped = False

    def after_run(self, run_context, run_values):
        if datetime.datetime.now() >= self.moment:
            self.stopped = True
            run_context.request_stop()
