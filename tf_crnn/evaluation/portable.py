"""The portable forms scored next to the SavedModel on labelled sets, with their size and
words/s (the library of `python -m tf_crnn.portable_evaluate`)."""

import dataclasses
import json
import os
import sys
import time
from typing import List

from tf_crnn.config import GRAPH_DECODERS
from tf_crnn.evaluation.samples import load_samples, read_samples
from tf_crnn.evaluation.scoring import markdown_table, score, set_name
from tf_crnn.inference.portable import Reader


def predict_set(model: Reader, samples, decoder: str, batch_size: int):
    """Words for every sample (None where the image does not decode) and the seconds taken."""
    start = time.perf_counter()
    rows = read_samples(lambda batch: model.read(batch, decoder), samples, batch_size, model.bad_image_errors())
    seconds = time.perf_counter() - start
    predictions = [text for text, _ in rows]
    first_error = next((str(err).splitlines()[0] for _, err in rows if err is not None), None)
    if predictions and all(p is None for p in predictions):
        # More likely the model than every image: say so instead of a quiet 0%.
        print(f"warning: {model.label} read none of the images ({first_error})", file=sys.stderr)
    return predictions, seconds


def evaluate(models: List[Reader], annotation_files: List[str], decoders=GRAPH_DECODERS, batch_size: int = 64):
    """(model, SetResult) for every model, set and decoder."""
    results = []
    for path in annotation_files:
        samples = load_samples(path)
        for model in models:
            try:  # warm-up, so words/s measures steady state
                model.read([next(image for _, image, _ in samples if image is not None)], model.decoders[0])
            except (model.bad_image_errors() + (StopIteration,)):
                pass
            for decoder in [d for d in model.decoders if d in decoders] or model.decoders[:1]:
                predictions, seconds = predict_set(model, samples, decoder, batch_size)
                results.append((model, score(set_name(path), decoder, samples, predictions, seconds)))
    return results


def models_table(models: List[Reader]) -> str:
    lines = ["| model | runtime | size | file |", "|---|---|---|---|"]
    for model in models:
        lines.append(f"| {model.label} | {model.runtime} | {model.size / 1e6:.2f} MB | `{model.path}` |")
    return "\n".join(lines) + "\n"


def results_table(results) -> str:
    """The evaluation table, one row per model, set and decoder."""
    return markdown_table([dataclasses.replace(result, name=f"{model.label} · {result.name}")
                           for model, result in results])


def write_outputs(models, results, output_dir: str) -> None:
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "portable_evaluation.md"), "w", encoding="utf-8") as handle:
        handle.write(models_table(models) + "\n" + results_table(results))
    summary = {
        "models": [{"label": m.label, "path": m.path, "size_bytes": m.size, "runtime": m.runtime} for m in models],
        "results": [{"model": model.label, **result.summary()} for model, result in results],
    }
    with open(os.path.join(output_dir, "portable_evaluation.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
