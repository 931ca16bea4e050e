"""Rendered words to calibrate an int8 TFLite core on, drawn from the export's own alphabet.

A model converted from an export (not from its model dir) has no training shards at hand,
and the images it will be measured on must not tune anything that is measured on them: so
the project's renderer draws the calibration words, with the characters the export reads,
in the case its labels take.
"""

import io
import os
from typing import List

# Words up to this length, as the recipe renders its training words.
CALIBRATION_MAX_LENGTH = 18
# The renderer's seed for calibration words (the recipe trains on seed 11, continuations on 12 and up).
CALIBRATION_SEED = 7


def calibration_words_settings(metadata: dict) -> dict:
    """The renderer's settings for an export: its alphabet's characters, lower case where its
    labels are lower-cased (or it has no upper-case letters), both cases where it reads them."""
    from tf_crnn.synth.words import has_both_cases

    characters = "".join(unit for unit in metadata["alphabet"] if len(unit) == 1)
    cased = not metadata.get("lowercase_labels") and has_both_cases(characters)
    return {"charset": characters, "case": "mixed" if cased else "lower", "max_length": CALIBRATION_MAX_LENGTH}


def calibration_shards(folder: str, count: int, metadata: dict, seed: int = CALIBRATION_SEED) -> List[str]:
    """Renders `count` calibration words for the export `metadata` describes into
    FOLDER/calibration and returns the shard pattern `tflite.convert(representative=...)` takes."""
    from tf_crnn.synth.generate import generate

    output_dir = os.path.join(folder, "calibration")
    generate(output_dir, prefix="calibration", count=count, val_count=0, seed=seed, log=io.StringIO(),
             **calibration_words_settings(metadata))
    return [os.path.join(output_dir, "calibration-train-*.tfrecord")]
