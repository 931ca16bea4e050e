"""Warm start: a new model dir begins from another model's weights (`init_from`).

`init_from` names a checkpoint prefix, a model dir (its latest checkpoint), a tf_crnn
SavedModel export or a base folder of numbered versions (an Estimator export's
`variables/` folder is a checkpoint with the training graph's variable names), or a model
shipped with the package by name (`crnn_words`).

Every network variable whose name and shape match is loaded, batch-norm moving
statistics included; the optimizer's slots and the global step start fresh. When the
alphabets differ, the output layer's columns (kernel) and entries (bias) of the units both
alphabets have, matched by their text, are carried over, as is the blank; the new units
keep their fresh initial values. A layer whose shape differs (other channels, LSTM sizes,
backbone) is refused before training with one message naming it.

The weights are loaded by the Scaffold's `init_fn`, which TensorFlow runs only when a
session starts without a checkpoint to restore: once the model dir has one, a restart
resumes from it and `init_from` is not read again.
"""

import json
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from tf_crnn.errors import ConfigError
from tf_crnn.export import METADATA, read_metadata, saved_model_versions

PRETRAINED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pretrained")
CLASSIFIER_SCOPE = "crnn/logits/"
NETWORK_SCOPE = "crnn/"


def shipped_models() -> List[str]:
    """Names of the models in tf_crnn/pretrained (each a base folder of numbered versions)."""
    if not os.path.isdir(PRETRAINED_DIR):
        return []
    return sorted(name for name in os.listdir(PRETRAINED_DIR) if _newest_version(os.path.join(PRETRAINED_DIR, name)))


def _newest_version(base: str) -> Optional[str]:
    versions = saved_model_versions(base)
    return versions[-1] if versions else None


def _checkpoint_in(model_dir: str) -> Optional[str]:
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


@dataclass
class Source:
    """Where the weights come from and what is known of the network that made them."""

    name: str  # as the config gave it
    checkpoint: str  # a checkpoint prefix
    architecture: Dict[str, object] = field(default_factory=dict)  # config fields (alphabet included) where known
    kind: str = "checkpoint"
    # The output layer's units in class order (the alphabet, then the unknown token where
    # the source trained with one); the blank comes after them. None: not known.
    units: Optional[List[str]] = None


def resolve_source(spec: str, base_dir: str = ".") -> Source:
    """The checkpoint and architecture that `init_from` names; a clear ConfigError otherwise."""
    shipped = shipped_models()
    if spec in shipped:
        return _export_source(spec, _newest_version(os.path.join(PRETRAINED_DIR, spec)), "shipped model")
    path = spec if os.path.isabs(spec) else os.path.normpath(os.path.join(base_dir, spec))
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return _export_source(spec, path, "export")
    newest = _newest_version(path)
    if newest:
        return _export_source(spec, newest, "export")
    if os.path.isdir(path):
        checkpoint = _checkpoint_in(path)
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
    from tf_crnn.config import ARCHITECTURE_FIELDS

    architecture = {name: metadata[name] for name in ARCHITECTURE_FIELDS if name in metadata}
    return Source(spec, os.path.join(saved_model, "variables", "variables"), architecture, kind,
                  _class_units(metadata.get("alphabet"), metadata.get("unknown_token")))


def _class_units(alphabet, unknown_token) -> Optional[List[str]]:
    if alphabet is None:
        return None
    units = list(alphabet)
    if unknown_token is not None and unknown_token not in units:
        units.append(unknown_token)  # as tf_crnn.alphabet.Alphabet orders them
    return units


def _model_dir_architecture(model_dir: str) -> tuple:
    """(architecture, class units) from a model dir's config.json; ({}, None) without one."""
    path = os.path.join(model_dir, "config.json")
    if not os.path.isfile(path):
        return {}, None
    from tf_crnn.config import ARCHITECTURE_FIELDS

    with open(path, encoding="utf-8") as handle:
        resolved = json.load(handle)
    unknown = resolved.get("unknown_token") if resolved.get("unknown_label_policy") == "unknown" else None
    return ({name: resolved[name] for name in ARCHITECTURE_FIELDS if name in resolved},
            _class_units(resolved.get("alphabet"), unknown))


@dataclass
class Plan:
    """What a warm start loads: checked against the new network before training starts."""

    source: Source
    direct: List[str]  # network variable names loaded as they are
    fresh: List[str]  # network variables the source does not have (they keep their initial values)
    # The output layer: (new column, old column) of each unit both alphabets have, blank included.
    classifier_columns: List[tuple]
    new_units: List[str]
    classifier_remapped: bool

    def summary(self) -> str:
        loaded = len(self.direct) + (2 if self.classifier_remapped else 0)
        text = (f"warm start from {self.source.name} ({self.source.kind}, {self.source.checkpoint}): "
                f"{loaded} of {loaded + len(self.fresh)} network variables loaded")
        if self.classifier_remapped:
            text += (f"; output layer: {len(self.classifier_columns) - 1} units carried over by their text, "
                     f"the blank too, {len(self.new_units)} new")
            if self.new_units:
                shown = " ".join(repr(u) for u in self.new_units[:12])
                text += f" ({shown}{' ...' if len(self.new_units) > 12 else ''})"
        if self.fresh:
            text += f"; starting fresh: {', '.join(self.fresh)}"
        return text


def network_variable_shapes(config) -> Dict[str, list]:
    """name -> shape of the network's variables as the model_fn names them (built in a scratch graph)."""
    import tensorflow as tf

    from tf_crnn.alphabet import for_config
    from tf_crnn.network import build_network

    with tf.Graph().as_default():
        network = build_network(config, for_config(config).num_classes)
        images = tf.compat.v1.placeholder(tf.float32, [None, config.image_height, None, config.channels])
        widths = tf.compat.v1.placeholder(tf.int32, [None])
        network(images, widths, training=True)
        return {v.name.split(":")[0]: v.shape.as_list() for v in network.variables}


def plan_warm_start(config, source: Source) -> Plan:
    """Matches the new network's variables with the source checkpoint's; refuses a shape mismatch."""
    import tensorflow as tf

    from tf_crnn.alphabet import for_config

    try:
        reader = tf.train.load_checkpoint(source.checkpoint)
    except (tf.errors.OpError, ValueError) as err:
        raise ConfigError(f"field 'init_from': cannot read checkpoint {source.checkpoint}: "
                          f"{str(err).splitlines()[0]}") from None
    old_shapes = reader.get_variable_to_shape_map()
    if not any(name.startswith(NETWORK_SCOPE) for name in old_shapes):
        raise ConfigError(f"field 'init_from': {source.checkpoint} holds no tf_crnn network variables "
                          f"(none under {NETWORK_SCOPE})")
    direct, fresh = [], []
    for name, shape in network_variable_shapes(config).items():  # in the network's order: the first mismatch is named
        if name.startswith(CLASSIFIER_SCOPE):
            continue
        if name not in old_shapes:
            fresh.append(name)
        elif list(old_shapes[name]) != shape:
            layer = name.rsplit("/", 1)[0]
            raise ConfigError(
                f"field 'init_from': layer {layer} does not match: {name} is {list(old_shapes[name])} in "
                f"{source.name}, {shape} in this config (a different backbone, conv_channels, lstm_units or "
                "image_height?); leave the architecture fields out to take them from init_from")
        else:
            direct.append(name)
    new_alphabet = for_config(config)
    old_units = source.units
    kernel_shape = old_shapes.get(CLASSIFIER_SCOPE + "kernel")
    if old_units is None:
        # A bare checkpoint without its model dir's config: the units cannot be matched by text.
        if kernel_shape is None or kernel_shape[1] != new_alphabet.num_classes:
            raise ConfigError(f"field 'init_from': {source.checkpoint} has no config.json beside it, so its "
                              "alphabet is unknown and the output layer cannot be matched")
        old_units = list(new_alphabet.units)
    old_index = {unit: index for index, unit in enumerate(old_units)}
    columns = [(new, old_index[unit]) for new, unit in enumerate(new_alphabet.units) if unit in old_index]
    columns.append((new_alphabet.blank_id, len(old_units)))  # the blank is the last class of both
    new_units = [unit for unit in new_alphabet.units if unit not in old_index]
    return Plan(source, direct, fresh, columns, new_units, classifier_remapped=kernel_shape is not None)


class WarmStartInit:
    """Builds, inside the model_fn's graph, the assignments that load a Plan; `init_fn` runs them.

    The values are fed through placeholders, so the graph (and the meta graph the
    checkpoints carry) stays small.
    """

    def __init__(self, plan: Plan, network):
        import tensorflow as tf

        self.plan = plan
        self._variables = {v.name.split(":")[0]: v for v in network.variables}
        self._feeds = {}
        for name in plan.direct + ([CLASSIFIER_SCOPE + "kernel", CLASSIFIER_SCOPE + "bias"]
                                   if plan.classifier_remapped else []):
            variable = self._variables[name]
            value = tf.compat.v1.placeholder(variable.dtype.base_dtype, variable.shape)
            self._feeds[name] = (value, variable.assign(value))

    def __call__(self, scaffold, session):
        """Scaffold init_fn: after the initializers, before the first step; never on a restore."""
        import numpy as np
        import tensorflow as tf

        reader = tf.train.load_checkpoint(self.plan.source.checkpoint)
        for name in self.plan.direct:
            placeholder, assign = self._feeds[name]
            session.run(assign, {placeholder: reader.get_tensor(name)})
        if self.plan.classifier_remapped:
            new_ids = [new for new, _ in self.plan.classifier_columns]
            old_ids = [old for _, old in self.plan.classifier_columns]
            for suffix in ("kernel", "bias"):
                name = CLASSIFIER_SCOPE + suffix
                placeholder, assign = self._feeds[name]
                value = np.array(session.run(self._variables[name]))
                value[..., new_ids] = reader.get_tensor(name)[..., old_ids]
                session.run(assign, {placeholder: value})
        tf.compat.v1.logging.info("warm-started: " + self.plan.summary())
