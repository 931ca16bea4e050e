"""Exporters run after every evaluation: the latest checkpoint's SavedModel, and the best one's.

tf.estimator's own BestExporter finds the best result so far by reading every event
file of the eval dir, and a run killed while writing one leaves it truncated: the
resumed run then dies at its first export. This exporter keeps its record in a small
JSON file written atomically next to the exports instead.

It runs after every evaluation, so it also prints the one line a person reads about it:
the step, word accuracy, CER, the best so far, and whether an export was written; and it
appends every figure of the evaluation to MODEL_DIR/evaluations.jsonl, one line each.

When the evaluated checkpoint is a new best, the latest exporter has just exported that
same checkpoint: the best exporter copies that SavedModel instead of building and saving
the serving graph a second time (an export costs seconds, as much as many training steps
of a small model).
"""

import json
import math
import os
import shutil
import time

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
                 assets_extra=None, latest=None, log_path=None):
        self._name = name
        self._log_path = log_path
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

    def _log(self, eval_result):
        """Appends the evaluation's figures to `log_path` as one JSON line (one write, so a
        crash leaves whole lines): a long run's curve, readable while it trains."""
        if not self._log_path:
            return
        figures = {"global_step": int(eval_result.get("global_step", 0)), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
        for key, value in sorted(eval_result.items()):
            if key != "global_step" and getattr(value, "size", 1) == 1:
                # JSON has no infinity (an evaluation's loss is one when a label cannot fit its image).
                figures[key] = round(float(value), 6) if math.isfinite(float(value)) else None
        with open(self._log_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(figures) + "\n")

    def export(self, estimator, export_path, checkpoint_path, eval_result, is_the_final_export):
        self._log(eval_result)
        value = float(eval_result[self._metric])
        best = self._best_so_far(export_path)
        line = (f"evaluation at step {int(eval_result.get('global_step', 0)):,}: {self._metric.replace('_', ' ')} "
                f"{value:.1%}" + (f", CER {float(eval_result['cer']):.4f}" if "cer" in eval_result else ""))
        by_source = [f"{key.split('/', 1)[1]} {float(eval_result[key]):.1%}" for key in sorted(eval_result)
                     if key.startswith("word_accuracy/")]
        if by_source:
            line += f" (word accuracy by source: {', '.join(by_source)})"
        if math.isnan(float(eval_result.get("loss", 0.0))):
            print(f"{line}; the evaluation loss is NaN (diverged weights): not exported", flush=True)
            return None
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
