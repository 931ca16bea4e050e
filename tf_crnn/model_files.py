"""Trained models on disk, for every part that reads one: what an export says about itself
and where models live.

Every tf_crnn export carries its metadata, `tf_crnn.json`: the alphabet, the input size,
the decoder, the whole architecture and what its graph computes in. It is written and
read here only, for every runtime: a SavedModel keeps it in `assets.extra/` (TF Serving
ignores that folder), a TFLite conversion next to its .tflite files, an ONNX model as the
JSON string of its `tf_crnn` metadata property.

Models live as numbered version folders under a base path (TF Serving's layout, which
the Estimator's exporters write), in a model dir of `python -m tf_crnn.train` (its
checkpoints and `export/best|latest`), or in the package by name (`crnn_words`, in
tf_crnn/pretrained). `resolve_saved_model` finds the SavedModel that such a path names;
`resolve_source` the checkpoint and architecture that a config's `init_from` names.

Nothing here imports TensorFlow: the config reads `init_from` through it before anything
slow starts.
"""

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from tf_crnn.backbone_table import backbone_settings
from tf_crnn.errors import ConfigError, DataError

# TensorFlow finds a model dir's checkpoints by file-name pattern (tf.train.latest_checkpoint),
# with no way to escape these: in a folder name they would hide its own checkpoints.
PATTERN_CHARACTERS = "*?["


def refuse_pattern_characters(path: str, what: str) -> None:
    """Raises ConfigError if `path` has a character TensorFlow's checkpoint lookup reads as a pattern."""
    found = sorted({c for c in path if c in PATTERN_CHARACTERS})
    if found:
        raise ConfigError(f"{what}: {path} has {' and '.join(repr(c) for c in found)}, which TensorFlow reads as "
                          "a file-name pattern when it looks for checkpoints, so they would never be found; "
                          "use a folder name without * ? [")


METADATA = "tf_crnn.json"
ONNX_METADATA_KEY = "tf_crnn"
RESOLVED_CONFIG = "config.json"  # what tf_crnn.train writes into a model dir (tf_crnn.config.write_resolved)
PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained")
SHIPPED_MODEL = os.path.join(PRETRAINED_DIR, "crnn_words")
EXPORT_KINDS = ("best", "latest")  # the exporters of tf_crnn.train, best first
MODEL_DIR_MARKS = ("checkpoint", RESOLVED_CONFIG)


# --- the metadata -------------------------------------------------------------------------

def export_metadata(config) -> dict:
    """What tools need to use an export without its model dir: alphabet, input size,
    decoder, architecture (the backbone with the fields it reads), and what the graph computes in."""
    return {
        "alphabet": list(config.alphabet),
        "unknown_token": config.unknown_token if config.unknown_label_policy == "unknown" else None,
        "image_height": config.image_height,
        "channels": config.channels,
        "min_image_width": config.min_image_width,
        "max_image_width": config.max_image_width,
        "decoder": config.decoder,
        "beam_width": config.beam_width,
        "top_paths": config.top_paths,
        # The backbone's own fields (tf_crnn/backbone_table.py): vgg's conv_channels,
        # mobilenet_v3's width_multiplier. Exports before the table recorded both.
        "backbone": config.backbone,
        **backbone_settings(config),
        "lstm_units": config.lstm_units,
        "spatial_transformer": config.spatial_transformer,
        "lowercase_labels": config.lowercase_labels,
        # The serving graph's arithmetic (the model_fn builds it in export_precision), and
        # the training's, which the checkpoint's weights came from.
        "precision": config.export_precision,
        "training_precision": config.precision,
    }


def write_json(metadata: dict, path: str) -> str:
    """Writes `metadata` to `path` atomically (a reader never sees half a file)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(metadata, handle, indent=2, ensure_ascii=False)
    os.replace(path + ".tmp", path)
    return path


def write_metadata(config, folder: str) -> dict:
    """Writes the export metadata of `config` to `folder/tf_crnn.json`; returns the
    `assets_extra` that copies it into each SavedModel's `assets.extra/`."""
    return {METADATA: write_json(export_metadata(config), os.path.join(folder, METADATA))}


def read_metadata(saved_model_dir: str) -> dict:
    """The tf_crnn.json of a SavedModel export."""
    path = os.path.join(saved_model_dir, "assets.extra", METADATA)
    if not os.path.isfile(path):
        raise ConfigError(f"{saved_model_dir} has no assets.extra/{METADATA}: was it exported by tf_crnn?")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def read_tflite_metadata(path: str) -> dict:
    """The tf_crnn.json of a TFLite conversion: `path` is that file or a .tflite beside it."""
    metadata_path = path if os.path.basename(path) == METADATA else \
        os.path.join(os.path.dirname(os.path.abspath(path)), METADATA)
    if not os.path.isfile(metadata_path):
        raise DataError(f"{path}: no {METADATA} next to it (written by python -m tf_crnn.tflite_convert)")
    with open(metadata_path, encoding="utf-8") as handle:
        return json.load(handle)


def read_onnx_metadata(session) -> dict:
    """The tf_crnn metadata of an onnxruntime session's model (tf_crnn.export.onnx writes it)."""
    properties = session.get_modelmeta().custom_metadata_map
    if ONNX_METADATA_KEY not in properties:
        raise ConfigError("the ONNX model has no tf_crnn metadata: was it written by python -m tf_crnn.onnx_export?")
    return json.loads(properties[ONNX_METADATA_KEY])


def alphabet_from_metadata(metadata: dict):
    """The Alphabet an export reads with."""
    from tf_crnn.alphabet import Alphabet

    return Alphabet(metadata["alphabet"], metadata.get("unknown_token"))


# --- where models live --------------------------------------------------------------------

def saved_model_versions(base: str) -> list:
    """Numbered subfolders of `base` holding a SavedModel, oldest first (TF Serving's base
    path layout, which export_saved_model writes)."""
    if not os.path.isdir(base):
        return []
    numbered = sorted((d for d in os.listdir(base) if d.isdigit()), key=int)
    return [os.path.join(base, d) for d in numbered if os.path.isfile(os.path.join(base, d, "saved_model.pb"))]


def newest_version(base: str) -> Optional[str]:
    versions = saved_model_versions(base)
    return versions[-1] if versions else None


def shipped_models() -> List[str]:
    """Names of the models in tf_crnn/pretrained (each a base folder of numbered versions)."""
    if not os.path.isdir(PRETRAINED_DIR):
        return []
    return sorted(name for name in os.listdir(PRETRAINED_DIR) if newest_version(os.path.join(PRETRAINED_DIR, name)))


def install_export(export: str, target: str) -> str:
    """Puts a copy of the SavedModel `export` at `target` (a version folder such as
    tf_crnn/pretrained/crnn_words/1), replacing what was there: copied beside it, then
    swapped in by renames, so no half copy is ever at `target`. Returns `target`."""
    staged, old = target + ".new", target + ".old"
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(export, staged)
    if os.path.exists(target):
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(staged, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def looks_like_model(path: str) -> bool:
    """Whether `path` is meant as a model: a SavedModel, a model base path, the `export`
    folder of a model dir, or a model dir (checkpoints, config.json). A folder of images
    is none of these."""
    if not os.path.isdir(path):
        return False
    marks = ("saved_model.pb", "export") + MODEL_DIR_MARKS + EXPORT_KINDS
    return bool(saved_model_versions(path)) or any(os.path.exists(os.path.join(path, mark)) for mark in marks)


def resolve_saved_model(path: str) -> str:
    """The SavedModel that `path` names.

    `path` may be a SavedModel folder, a base path with numbered versions (the newest is
    taken), the export folder of a model dir (its `best` export, else `latest`), a
    model dir of `python -m tf_crnn.train` (the same, under its `export/`), or the name of
    a model shipped in tf_crnn/pretrained (`crnn_words`).
    """
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    if not os.path.exists(path) and path in shipped_models():  # a shipped model by name: crnn_words
        path = os.path.join(PRETRAINED_DIR, path)
    for base in [path] + [os.path.join(path, kind) for kind in EXPORT_KINDS] + \
            [os.path.join(path, "export", kind) for kind in EXPORT_KINDS]:
        versions = saved_model_versions(base)
        if versions:
            return versions[-1]
    if os.path.isdir(path) and any(os.path.exists(os.path.join(path, m)) for m in MODEL_DIR_MARKS):
        raise DataError(f"{path} is a model dir with no export yet (training exports to {os.path.join(path, 'export')} "
                        f"after each evaluation); export one with: python export_model.py {path} --output_dir DIR")
    raise DataError(f"no SavedModel in {path} (expected saved_model.pb, numbered version folders, a model dir "
                    f"with exports, or a shipped model: {', '.join(shipped_models()) or 'none'})")


# --- what init_from names -----------------------------------------------------------------

@dataclass
class Source:
    """Where warm-start weights come from and what is known of the network that made them."""

    name: str  # as the config gave it
    checkpoint: str  # a checkpoint prefix
    # The config fields (alphabet included) of the network that made them, where known:
    # an export's metadata or a model dir's resolved config.
    architecture: Dict[str, object] = field(default_factory=dict)
    kind: str = "checkpoint"
    # The output layer's units in class order (the alphabet, then the unknown token where
    # the source trained with one); the blank comes after them. None: not known.
    units: Optional[List[str]] = None


def checkpoint_in(model_dir: str) -> Optional[str]:
    """The latest checkpoint prefix named by a model dir's `checkpoint` file (read without TensorFlow)."""
    state = os.path.join(model_dir, "checkpoint")
    if not os.path.isfile(state):
        return None
    with open(state, encoding="utf-8") as handle:
        found = re.search(r'^model_checkpoint_path:\s*"(.*)"', handle.read(), re.MULTILINE)
    if not found:
        return None
    prefix = found.group(1)
    return prefix if os.path.isabs(prefix) else os.path.join(model_dir, prefix)


def resolve_source(spec: str, base_dir: str = ".") -> Source:
    """The checkpoint and architecture that `init_from` names; a clear ConfigError otherwise."""
    shipped = shipped_models()
    if spec in shipped:
        return _export_source(spec, newest_version(os.path.join(PRETRAINED_DIR, spec)), "shipped model")
    path = spec if os.path.isabs(spec) else os.path.normpath(os.path.join(base_dir, spec))
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return _export_source(spec, path, "export")
    newest = newest_version(path)
    if newest:
        return _export_source(spec, newest, "export")
    if os.path.isdir(path):
        checkpoint = checkpoint_in(path)
        if checkpoint is None:
            raise ConfigError(f"field 'init_from': {path} holds no checkpoint, no SavedModel and no numbered "
                              "versions of one")
        architecture, units = _model_dir_architecture(path)
        return Source(spec, checkpoint, architecture, "model dir", units)
    if os.path.isfile(path + ".index"):
        architecture, units = _model_dir_architecture(os.path.dirname(path))
        return Source(spec, path, architecture, "checkpoint", units)
    names = ", ".join(shipped) or "none"
    raise ConfigError(f"field 'init_from': {spec!r} is not a checkpoint prefix, a model dir, a SavedModel export "
                      f"or a shipped model (shipped: {names})")


def _export_source(spec: str, saved_model: str, kind: str) -> Source:
    try:
        metadata = read_metadata(saved_model)
    except ConfigError:
        raise ConfigError(f"field 'init_from': {saved_model} is a SavedModel but not a tf_crnn export "
                          f"(no assets.extra/{METADATA})") from None
    if not os.path.isfile(os.path.join(saved_model, "variables", "variables.index")):
        raise ConfigError(f"field 'init_from': {saved_model} has no variables/ checkpoint")
    return Source(spec, os.path.join(saved_model, "variables", "variables"), metadata, kind,
                  _class_units(metadata.get("alphabet"), metadata.get("unknown_token")))


def _class_units(alphabet, unknown_token) -> Optional[List[str]]:
    if alphabet is None:
        return None
    units = list(alphabet)
    if unknown_token is not None and unknown_token not in units:
        units.append(unknown_token)  # as tf_crnn.alphabet.Alphabet orders them
    return units


def _model_dir_architecture(model_dir: str) -> tuple:
    """(resolved config, class units) from a model dir's config.json; ({}, None) without one."""
    path = os.path.join(model_dir, RESOLVED_CONFIG)
    if not os.path.isfile(path):
        return {}, None
    with open(path, encoding="utf-8") as handle:
        resolved = json.load(handle)
    unknown = resolved.get("unknown_token") if resolved.get("unknown_label_policy") == "unknown" else None
    return resolved, _class_units(resolved.get("alphabet"), unknown)
