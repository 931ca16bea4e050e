"""Evaluation: labelled sets read by a model, scored (word accuracy, the benchmarks'
case-insensitive alphanumeric protocol, edit distance, CER) and tabled."""
