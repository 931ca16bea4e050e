"""The files `python -m tf_crnn.evaluate` writes: NAME.md (the models, then a row per set
and decoder), NAME.json (the same as data) and, if asked, errors.csv.

NAME is `evaluation`, or `portable_evaluation` under the `python -m tf_crnn.portable_evaluate`
alias, whose readers' scripts read that name. With one model the rows are named by set
alone, as before there were several runtimes; with several, by model and set.
"""

import csv
import dataclasses
import json
import os
from typing import List, Tuple

from tf_crnn.evaluation.scoring import SetResult, markdown_table
from tf_crnn.inference.reader import Reader


def models_table(readers: List[Reader]) -> str:
    lines = ["| model | runtime | size | file |", "|---|---|---|---|"]
    for reader in readers:
        lines.append(f"| {reader.label} | {reader.runtime} | {reader.size / 1e6:.2f} MB | `{reader.path}` |")
    return "\n".join(lines) + "\n"


def named_results(readers: List[Reader], results: List[Tuple[Reader, SetResult]]) -> List[SetResult]:
    """The results, named by model and set when there are several models."""
    if len(readers) == 1:
        return [result for _, result in results]
    return [dataclasses.replace(result, name=f"{reader.label} · {result.name}") for reader, result in results]


def report_text(readers: List[Reader], results: List[Tuple[Reader, SetResult]]) -> str:
    """The models table, then the results table (what NAME.md holds and the command prints)."""
    return models_table(readers) + "\n" + markdown_table(named_results(readers, results))


def write_report(readers: List[Reader], results: List[Tuple[Reader, SetResult]], output_dir: str,
                 name: str = "evaluation", errors_csv: bool = False) -> List[str]:
    """Writes NAME.md, NAME.json and (with `errors_csv`) errors.csv; their file names."""
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, f"{name}.md"), "w", encoding="utf-8") as handle:
        handle.write(report_text(readers, results))
    summary = {
        "models": [{"label": r.label, "path": r.path, "size_bytes": r.size, "runtime": r.runtime} for r in readers],
        "results": [{"model": reader.label, **result.summary()} for reader, result in results],
    }
    if len(readers) == 1 and readers[0].runtime == "TensorFlow":
        summary = {"saved_model": readers[0].path, **summary}  # the field of earlier evaluation.json files
    with open(os.path.join(output_dir, f"{name}.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    written = [f"{name}.md", f"{name}.json"]
    if errors_csv:
        with open(os.path.join(output_dir, "errors.csv"), "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["set", "decoder", "path", "truth", "prediction"])
            for result in named_results(readers, results):
                for source, truth, predicted, _ in result.errors:
                    writer.writerow([result.name, result.decoder, source, truth, predicted])
        written.append("errors.csv")
    return written
