"""Warm start: a new model dir begins from another model's weights (`init_from`).

`init_from` names a checkpoint prefix, a model dir (its latest checkpoint), a tf_crnn
SavedModel export or a base folder of numbered versions (an Estimator export's
`variables/` folder is a checkpoint with the training graph's variable names), or a model
shipped with the package by name (`crnn_words`); tf_crnn/model_files.py resolves it.

Every network variable whose name and shape match is loaded, batch-norm moving
statistics included; the optimizer's slots and the global step start fresh. When the
alphabets differ, the output layer's columns (kernel) and entries (bias) of the units both
alphabets have, matched by their text, are carried over, as is the blank; the new units
keep their fresh initial values. A colour network (`channels` 3) starts from a grey one:
each convolution that reads the image gets the grey kernel spread over red, green and
blue by the luminance weights that turn colour into grey (ITU-R BT.601, as TensorFlow's
`rgb_to_grayscale` and JPEG's decoder), so the colour network begins reading exactly what
the grey one read, and training then learns what colour adds. Any other layer whose shape
differs (LSTM sizes, conv_channels, backbone) is refused before training with one message
naming it.

The weights are loaded by the Scaffold's `init_fn`, which TensorFlow runs only when a
session starts without a checkpoint to restore: once the model dir has one, a restart
resumes from it and `init_from` is not read again.
"""

from dataclasses import dataclass
from typing import Dict, List

from tf_crnn.errors import ConfigError
from tf_crnn.model_files import Source

CLASSIFIER_SCOPE = "crnn/logits/"
NETWORK_SCOPE = "crnn/"
# Red, green and blue's shares of grey (ITU-R BT.601): a grey kernel spread by them reads a
# colour image as the grey network read its grey version.
LUMINANCE_WEIGHTS = (0.299, 0.587, 0.114)


@dataclass
class Plan:
    """What a warm start loads: checked against the new network before training starts."""

    source: Source
    direct: List[str]  # network variable names loaded as they are
    fresh: List[str]  # network variables the source does not have (they keep their initial values)
    # Kernels that read the image, grey in the source and colour here: spread over the channels.
    spread: List[str]
    # The output layer: (new column, old column) of each unit both alphabets have, blank included.
    classifier_columns: List[tuple]
    new_units: List[str]
    classifier_remapped: bool

    def summary(self) -> str:
        loaded = len(self.direct) + len(self.spread) + (2 if self.classifier_remapped else 0)
        text = (f"warm start from {self.source.name} ({self.source.kind}, {self.source.checkpoint}): "
                f"{loaded} of {loaded + len(self.fresh)} network variables loaded")
        if self.spread:
            text += f"; grey to colour: {', '.join(self.spread)} spread over red, green and blue"
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
    from tf_crnn.model.network import build_network

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
    grey_to_colour = source.architecture.get("channels") == 1 and config.channels == 3
    direct, fresh, spread = [], [], []
    for name, shape in network_variable_shapes(config).items():  # in the network's order: the first mismatch is named
        if name.startswith(CLASSIFIER_SCOPE):
            continue
        if name not in old_shapes:
            fresh.append(name)
        elif grey_to_colour and _reads_the_image(list(old_shapes[name]), shape):
            spread.append(name)
        elif list(old_shapes[name]) != shape:
            layer = name.rsplit("/", 1)[0]
            raise ConfigError(
                f"field 'init_from': layer {layer} does not match: {name} is {list(old_shapes[name])} in "
                f"{source.name}, {shape} in this config (a different backbone, conv_channels, lstm_units, "
                "image_height or channels?); leave the architecture fields out to take them from init_from")
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
    return Plan(source, direct, fresh, spread, columns, new_units, classifier_remapped=kernel_shape is not None)


def _reads_the_image(old_shape: list, new_shape: list) -> bool:
    """A convolution kernel [height, width, in, out] that took one grey channel and takes three here."""
    return (len(old_shape) == 4 and old_shape[2] == 1 and new_shape[2] == 3
            and old_shape[:2] + old_shape[3:] == new_shape[:2] + new_shape[3:])


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
        for name in plan.direct + plan.spread + ([CLASSIFIER_SCOPE + "kernel", CLASSIFIER_SCOPE + "bias"]
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
        for name in self.plan.spread:
            placeholder, assign = self._feeds[name]
            grey = reader.get_tensor(name)  # [height, width, 1, out]
            weights = np.array(LUMINANCE_WEIGHTS, dtype=grey.dtype).reshape(1, 1, 3, 1)
            session.run(assign, {placeholder: grey * weights})
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
