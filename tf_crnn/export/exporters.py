"""Exporters run after every evaluation: the latest checkpoint's SavedModel, and the best one's.

tf.estimator's own BestExporter finds the best result so far by reading every event
file of the eval dir, and a run killed while writing one leaves it truncated: the
resumed run then dies at its first export. This exporter keeps its record in a small
JSON file written atomically next to the exports instead.

It runs after every evaluation, so it also prints the one line a person reads about it:
the step, word accuracy, CER, the best so far, and whether an export was written.

When the evaluated checkpoint is a new best, the latest exporter has just exported that
same checkpoint: the best exporter copies that SavedModel instead of building and saving
the serving graph a second time (an export costs seconds, as much as many training steps
of a small model).
"""

import json
import os
import shutil

import tensorflow as tf

RECORD = "best.json"


def _text(path):
    """Estimator export paths come back as bytes; everything here joins and prints them as str."""
    return path.decode() if isinstance(path, bytes) else path


class LatestExporter(tf.estimator.LatestExporter):
    """tf.estimator's LatestExporter that remembers its last export, for the best exporter to copy."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.last_export = None  # (checkpoint path, export path)

    def export(self, estimator, export_path, checkpoint_path, eval_result, is_the_final_export):
        path = super().export(estimator, export_path, checkpoint_path, eval_result, is_the_final_export)
        self.last_export = (checkpoint_path, _text(path)) if path else None
        return path


class BestExporter(tf.estimator.Exporter):
    """Exports when `metric` beats every earlier evaluation of the run; keeps the newest few."""

    def __init__(self, name, serving_input_receiver_fn, metric="word_accuracy", exports_to_keep=1,
                 assets_extra=None, latest=None):
        self._name = name
        self._latest = latest
        self._assets_extra = assets_extra
        self._receiver_fn = serving_input_receiver_fn
        self._metric = metric
        self._keep = exports_to_keep

    @property
    def name(self):
        return self._name

    def _best_so_far(self, export_path):
        try:
            with open(os.path.join(export_path, RECORD), encoding="utf-8") as handle:
                return float(json.load(handle)[self._metric])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def export(self, estimator, export_path, checkpoint_path, eval_result, is_the_final_export):
        value = float(eval_result[self._metric])
        best = self._best_so_far(export_path)
        line = (f"evaluation at step {int(eval_result.get('global_step', 0)):,}: {self._metric.replace('_', ' ')} "
                f"{value:.1%}" + (f", CER {float(eval_result['cer']):.4f}" if "cer" in eval_result else ""))
        if best is not None and value <= best:
            print(f"{line}; best so far {best:.1%}, no new best export", flush=True)
            return None
        path = self._copy_of_latest(export_path, checkpoint_path)
        if path is None:
            path = _text(estimator.export_saved_model(export_path, self._receiver_fn,
                                                      assets_extra=self._assets_extra, checkpoint_path=checkpoint_path))
        record = {self._metric: value, "global_step": int(eval_result.get("global_step", 0)),
                  "checkpoint": checkpoint_path, "export": path}
        tmp = os.path.join(export_path, RECORD + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2)
        os.replace(tmp, os.path.join(export_path, RECORD))
        versions = sorted((d for d in os.listdir(export_path) if d.isdigit()), key=int)
        for old in versions[:-self._keep]:
            shutil.rmtree(os.path.join(export_path, old), ignore_errors=True)
        print(f"{line}; the best so far, exported to {path}", flush=True)
        return path

    def _copy_of_latest(self, export_path, checkpoint_path):
        """A copy of the latest exporter's export of `checkpoint_path`, if it made one; else None.

        Copied under a temporary name and renamed, as export_saved_model does, so a crash
        never leaves a half-copied version that a server would load.
        """
        if self._latest is None or self._latest.last_export is None:
            return None
        source_checkpoint, source = self._latest.last_export
        if source_checkpoint != checkpoint_path or not os.path.isdir(source):
            return None
        target = os.path.join(export_path, os.path.basename(source))
        temporary = os.path.join(export_path, f"temp-{os.path.basename(source)}")
        os.makedirs(export_path, exist_ok=True)
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.copytree(source, temporary)
        os.replace(temporary, target)
        return target
