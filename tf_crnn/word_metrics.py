"""The recognition metrics' plain-Python pieces, without TensorFlow: what the evaluation
tables, the tools and the tests score with (tf_crnn/model/metrics.py holds their graph
forms, for the Estimator's evaluation). Kept apart so the commands that only score, or
only check their arguments, start without the seconds TensorFlow takes to load."""

import re


def normalize_alnum(text: str) -> str:
    """The benchmarks' lexicon-free, case-insensitive normal form."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def levenshtein(a, b) -> int:
    """Edit distance between two sequences (strings, or lists of units; insertions,
    deletions and substitutions cost 1), computed in C by rapidfuzz."""
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(a, b)
