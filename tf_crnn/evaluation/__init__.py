"""Evaluation: labelled sets read by any reader, scored (word accuracy, the benchmarks'
case-insensitive alphanumeric protocol, edit distance, CER) and tabled.

`samples` (annotation files -> samples), `evaluate` (readers x sets x decoders), `scoring`
(one scorer), `report` (the markdown, JSON and CSV files).
"""
