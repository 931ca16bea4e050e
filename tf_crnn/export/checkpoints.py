"""The checkpoint an export starts from: found, checked against the network, restored.

Every export path reads an Estimator checkpoint: the SavedModel through the Estimator
(which restores by name, and whose resource variables take any shape they are given),
TFLite and ONNX into an eager Keras network variable by variable. Both check here first
that each network variable has its counterpart, of its shape, in the checkpoint, so a
checkpoint of another network is refused with the first variable that does not fit,
never turned into a model that fails at every call.
"""

import re

from tf_crnn.errors import ConfigError
from tf_crnn.model_files import refuse_pattern_characters


def find_checkpoint(model_dir: str, checkpoint: str = None) -> str:
    """The given checkpoint prefix, checked, or the model dir's latest."""
    import tensorflow as tf

    refuse_pattern_characters(checkpoint or model_dir, "--checkpoint" if checkpoint else "the model dir")
    if checkpoint is None:
        checkpoint = tf.train.latest_checkpoint(model_dir)
        if checkpoint is None:
            raise ConfigError(f"{model_dir} holds no checkpoint")
    elif not tf.io.gfile.exists(checkpoint + ".index"):
        raise ConfigError(f"checkpoint not found: {checkpoint}")
    return checkpoint


def check_checkpoint_fits(config, checkpoint: str) -> None:
    """Refuses a checkpoint whose variables do not fit the model dir's network, naming the first.

    Restoring resource variables checks no shapes: a checkpoint of another network size
    (a --checkpoint from another run) would restore without a word and make a SavedModel
    that fails every call with a Reshape error. The network is built in a graph of its own,
    where its variables carry the names the model_fn gave them in training.
    """
    import tensorflow as tf

    from tf_crnn.alphabet import for_config
    from tf_crnn.model.network import build_network

    shapes = dict(tf.train.list_variables(checkpoint))
    with tf.Graph().as_default():
        network = build_network(config, for_config(config).num_classes, precision="float32")
        images = tf.compat.v1.placeholder(tf.float32, [None, config.image_height, None, config.channels])
        network(images, tf.compat.v1.placeholder(tf.int32, [None]), training=False)
        checkpoint_name_map(network, shapes, checkpoint)


def _without_uniquifier(name: str) -> str:
    """crnn/blstm2/forward_lstm_3/lstm_cell/kernel -> crnn/blstm2/forward_lstm/lstm_cell/kernel."""
    return re.sub(r"_\d+(?=/|$)", "", name)


def checkpoint_name_map(network, shapes: dict, checkpoint: str) -> dict:
    """Each network variable -> its name in the Estimator checkpoint.

    The model_fn names variables as Keras does in a fresh graph; eagerly, Keras numbers
    layers it names itself on (lstm_2 where the checkpoint says lstm), so a name not
    found as it is matches the one checkpoint name that differs from it only in those
    numbers. (Building the reference in a graph here would invalidate the caller's
    eager Keras models.) `shapes` is the checkpoint's variable -> shape map.
    """
    loose = {}
    for name in shapes:
        loose.setdefault(_without_uniquifier(name), []).append(name)
    names = {}
    for variable in network.variables:
        own = variable.name.split(":")[0]
        candidates = [own] if own in shapes else loose.get(_without_uniquifier(own), [])
        if len(candidates) != 1:
            found = "is ambiguous" if candidates else "is missing"
            raise ConfigError(f"checkpoint {checkpoint}: variable {own} {found}; was it trained with this network?")
        name = candidates[0]
        if list(shapes[name]) != variable.shape.as_list():
            raise ConfigError(f"checkpoint {checkpoint}: {name} has shape {shapes[name]}, "
                              f"the network wants {variable.shape.as_list()}")
        names[variable.ref()] = name
    if len(set(names.values())) != len(names):
        raise ConfigError(f"checkpoint {checkpoint}: two network variables map to one checkpoint variable")
    return names


def restore(network, checkpoint: str) -> None:
    """Loads an Estimator checkpoint into a built eager network, variable by variable."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(checkpoint)
    names = checkpoint_name_map(network, reader.get_variable_to_shape_map(), checkpoint)
    for variable in network.variables:
        variable.assign(reader.get_tensor(names[variable.ref()]))
