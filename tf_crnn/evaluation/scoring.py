"""Scores of a set's readings: exact and alphanumeric word accuracy (the benchmarks'
lexicon-free, case-insensitive protocol), normalized edit distance and CER, words/s; and
their markdown table. One scorer for every runtime: tf_crnn/evaluation/evaluate.py hands it
the words of any reader."""

import os
from dataclasses import dataclass, field
from typing import List, Tuple

from tf_crnn.word_metrics import levenshtein, normalize_alnum


@dataclass
class SetResult:
    name: str
    decoder: str
    samples: int
    unreadable: int
    word_accuracy: float
    alnum_word_accuracy: float
    normalized_edit_distance: float
    cer: float
    words_per_second: float
    errors: List[Tuple[str, str, str, float]] = field(default_factory=list, repr=False)

    def summary(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "errors"}


def score(name, decoder, samples, predictions, seconds) -> SetResult:
    exact = alnum = 0
    normalized_distance = 0.0
    edits = characters = 0
    errors = []
    for (source, _, label), predicted in zip(samples, predictions):
        text = predicted or ""
        text_norm, label_norm = normalize_alnum(text), normalize_alnum(label)
        distance = levenshtein(text_norm, label_norm)
        exact += text == label
        alnum += text_norm == label_norm
        normalized_distance += distance / max(len(text_norm), len(label_norm), 1)
        edits += distance
        characters += len(label_norm)
        if text != label:
            errors.append((source, label, text if predicted is not None else "<unreadable image>", 0.0))
    count = len(samples)
    return SetResult(
        name=name, decoder=decoder, samples=count, unreadable=sum(p is None for p in predictions),
        word_accuracy=exact / count, alnum_word_accuracy=alnum / count,
        normalized_edit_distance=normalized_distance / count, cer=edits / max(characters, 1),
        words_per_second=count / seconds if seconds else 0.0, errors=errors,
    )


def set_name(path: str) -> str:
    """IIIT5K/labels.tsv -> IIIT5K; IC13/labels_857.tsv -> IC13/labels_857."""
    folder = os.path.basename(os.path.dirname(os.path.abspath(path)))
    stem = os.path.splitext(os.path.basename(path))[0]
    return folder if stem == "labels" else f"{folder}/{stem}"


def markdown_table(results: List[SetResult]) -> str:
    lines = ["| set | decoder | samples | unreadable | exact word acc. | alnum word acc. (case-insens.) "
             "| norm. edit dist. | CER | words/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.name} | {r.decoder} | {r.samples} | {r.unreadable} | {r.word_accuracy:.1%} | "
                     f"{r.alnum_word_accuracy:.1%} | "
                     f"{r.normalized_edit_distance:.3f} | {r.cer:.3f} | {r.words_per_second:.0f} |")
    return "\n".join(lines) + "\n"
