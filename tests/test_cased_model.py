"""The second shipped model, `crnn_words_cased`: chosen by name, it reads upper and lower
case and punctuation, and is a float32 greedy export of the size a package can carry."""

import json
import os

from conftest import render_text, run_module
from tf_crnn.model_files import read_metadata, resolve_saved_model

WORDS = ["Coffee", "PARKING", "Hotel", "exit", "Station", "OPEN", "2024", "Street", "Bakery", "SALE"]


def test_cased_model_is_a_float32_greedy_export_under_25_mb():
    path = resolve_saved_model("crnn_words_cased")
    metadata = read_metadata(path)
    assert {"A", "z", "0", "!", "&", "'"} <= set(metadata["alphabet"])
    assert metadata["precision"] == "float32" and metadata["decoder"] == "greedy" and metadata["top_paths"] == 0
    size = sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names)
    assert size <= 25 * 2 ** 20


def test_predict_model_crnn_words_cased_reads_case(tmp_path):
    for index, word in enumerate(WORDS):
        render_text(word, size=26).save(tmp_path / f"{index:02d}.png")
    rows = json.loads(run_module("tf_crnn.predict", "--model", "crnn_words_cased", tmp_path, "--json",
                                 check=True).stdout)
    readings = [row["text"] for row in rows]
    assert sum(read == word for read, word in zip(readings, WORDS)) >= 8, readings  # case counted
    # The lower-case model reads the same crops without case: the names choose different models.
    lower = json.loads(run_module("tf_crnn.predict", "--model", "crnn_words", tmp_path, "--json", check=True).stdout)
    assert all(row["text"] == row["text"].lower() for row in lower)
