"""An export's weights exported again, or converted, without the model dir they came from.

A serving SavedModel's `variables/` folder is a TF checkpoint (prefix `variables/variables`)
with the Estimator graph's variable names, and its metadata (tf_crnn.json) records the
alphabet, the input and the network. So a model dir holding only a config.json rebuilt from
that metadata lets the tools that take a model dir (`export_saved_model`, TFLite and ONNX
conversion) rebuild the graph and load those weights: a shipped model exported in another
precision or with other decoder settings, or converted for another runtime.
"""

import os
import tempfile

from tf_crnn.config import ARCHITECTURE_FIELDS

# Fields of the export's metadata that are config fields: the export's own values win. The
# network's (its backbone's own fields included), its input widths, decoder and label case.
METADATA_FIELDS = ARCHITECTURE_FIELDS + ("min_image_width", "max_image_width", "decoder", "beam_width", "top_paths",
                                         "lowercase_labels")
# Fields that name files of a training run, which an export does not need.
RUN_FILES = ("train_files", "eval_files", "train_sources", "eval_sources", "model_dir", "alphabet_file")


def training_precision(saved_model_dir: str, metadata: dict) -> str:
    """What the export's weights were trained in."""
    from tf_crnn.precision import bfloat16_compute_ops

    if "training_precision" in metadata:
        return metadata["training_precision"]
    # Exports made before the metadata recorded it computed in the training precision.
    return "mixed_bfloat16" if bfloat16_compute_ops(saved_model_dir) else "float32"


def rebuilt_config(saved_model_dir: str, base_fields: dict = None):
    """The config the export was trained with, as far as exporting needs it: `base_fields`
    (for example the recipe the export came from, for exports whose metadata predates some
    network fields; files of the run left out) under the export's metadata and training
    precision."""
    from tf_crnn.config import config_from_dict
    from tf_crnn.model_files import read_metadata

    metadata = read_metadata(saved_model_dir)
    fields = {key: value for key, value in (base_fields or {}).items() if key not in RUN_FILES}
    fields.update({key: metadata[key] for key in METADATA_FIELDS if key in metadata})  # older exports lack some
    fields["precision"] = training_precision(saved_model_dir, metadata)
    if metadata.get("unknown_token") is not None:
        fields.update(unknown_label_policy="unknown", unknown_token=metadata["unknown_token"])
    return config_from_dict(fields)


def stand_in_model_dir(saved_model_dir: str, model_dir: str, base_fields: dict = None) -> str:
    """Makes `model_dir` a model dir of the export's weights for the tools that take one
    (export, tflite and onnx conversion): only the rebuilt config.json. Returns the
    checkpoint prefix to pass them: the export's variables."""
    from tf_crnn.config import write_resolved

    config = rebuilt_config(saved_model_dir, base_fields)
    config.model_dir = model_dir
    write_resolved(config, model_dir)
    return os.path.join(saved_model_dir, "variables", "variables")


def reexport(saved_model_dir: str, output_dir: str, precision: str = "float32", top_paths: int = None,
             base_fields: dict = None) -> str:
    """Exports the weights of `saved_model_dir` again to a numbered version under `output_dir`
    (`top_paths`: alternative readings, default the source's) and returns its path."""
    from tf_crnn.export.saved_model import export_saved_model

    with tempfile.TemporaryDirectory() as model_dir:
        checkpoint = stand_in_model_dir(saved_model_dir, model_dir, base_fields)
        return export_saved_model(model_dir, output_dir, checkpoint=checkpoint, precision=precision,
                                  top_paths=top_paths)
