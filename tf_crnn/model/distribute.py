"""How a run spreads over devices: the config's `distribute` field as a tf.distribute strategy.

- `none`: one device (the Estimator's default). A TF_CONFIG cluster still trains with
  parameter servers, as before the field existed.
- `mirrored`: synchronous data parallelism in one process. Each of N devices (all visible
  GPUs, or the `devices` named) holds a copy of the variables and takes batch_size / N
  examples of every batch; the gradients are summed across copies before one optimizer
  step. The model_fn divides each replica's mean loss by N, so the sum is the gradient of
  the global batch's mean loss: N replicas take the step one device takes on the same
  global batch (tests/test_distribute.py checks the weights). Batch norm computes its
  statistics over the global batch (tf_crnn/model/backbones.py `batch_norm`), and
  evaluation and exports run on one device, as in a single-device run.
- `parameter_server`: the TF_CONFIG path, asynchronous (docs/training.md); the field
  asks for it explicitly, so a missing TF_CONFIG is an error instead of a one-machine run.

`batch_size` is the global batch in every mode: a config means the same optimisation on
one device or on eight.
"""

import os
import re

from tf_crnn.errors import ConfigError

# Named devices that are CPUs: /cpu:1 or /job:localhost/replica:0/task:0/device:CPU:1.
_CPU_DEVICE = re.compile(r"(?:^|/)(?:device:)?cpu:(\d+)$", re.IGNORECASE)


def tf_config_cluster() -> bool:
    """True when TF_CONFIG names a cluster (the parameter-server path)."""
    import json

    try:
        return bool(json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster"))
    except ValueError:
        return False


def split_cpu_for_named_devices(config) -> None:
    """Splits the CPU into as many logical devices as `devices` names CPUs (/cpu:0, /cpu:1,
    ...), so the mirrored path can be tried, and tested, on a machine without GPUs. It is
    no faster than one device. Must run before TensorFlow starts its runtime."""
    if config.distribute != "mirrored":
        return
    cpu_indices = [int(match.group(1)) for match in map(_CPU_DEVICE.search, config.devices) if match]
    if not cpu_indices or max(cpu_indices) == 0:
        return
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * (max(cpu_indices) + 1))


def _canonical(name: str) -> str:
    """'/gpu:0', 'GPU:0' and '/job:localhost/replica:0/task:0/device:GPU:0' alike: 'GPU:0'."""
    tail = name.rstrip("/").split("/")[-1].split("device:")[-1]
    kind, _, index = tail.partition(":")
    return f"{kind.upper()}:{index}"


def mirrored_devices(config) -> list:
    """The devices `mirrored` trains on: those named (each checked to exist), else every
    visible GPU; a ConfigError when there is none."""
    import tensorflow as tf

    visible = {_canonical(device.name): device.name for device in tf.config.list_logical_devices()}
    if config.devices:
        missing = [name for name in config.devices if _canonical(name) not in visible]
        if missing:
            raise ConfigError(f"field 'devices': {missing[0]} is not a device of this machine; the visible ones: "
                              f"{', '.join(sorted(visible))} (several CPU devices, /cpu:0 /cpu:1 ..., split the "
                              "CPU for a trial; GPUs need the TF=gpu set-up and CUDA_VISIBLE_DEVICES)")
        if len(set(map(_canonical, config.devices))) != len(config.devices):
            raise ConfigError(f"field 'devices' names a device twice: {config.devices}")
        return [visible[_canonical(name)] for name in config.devices]
    gpus = [device.name for device in tf.config.list_logical_devices("GPU")]
    if not gpus:
        raise ConfigError("field 'distribute': 'mirrored' found no GPU on this machine (is the TF=gpu set-up "
                          "installed, and CUDA_VISIBLE_DEVICES or `gpu` not hiding them?); name `devices` to "
                          "train on others, e.g. [\"/cpu:0\", \"/cpu:1\"] to try the path on a CPU")
    return gpus


def make_strategy(config):
    """The training strategy of `config`, or None for the Estimator's own (one device, or
    parameter servers under TF_CONFIG). Raises ConfigError naming the field."""
    if config.distribute == "parameter_server":
        if not tf_config_cluster():
            raise ConfigError("field 'distribute': 'parameter_server' needs TF_CONFIG naming the cluster and this "
                              "process's task in it (docs/training.md, \"Training on several machines\"); "
                              "scripts/local_cluster.py starts one on this machine")
        return None
    if config.distribute != "mirrored":
        return None
    if tf_config_cluster():
        raise ConfigError("field 'distribute': 'mirrored' trains the devices of one process, and TF_CONFIG names a "
                          "cluster; unset TF_CONFIG, or use 'parameter_server' across machines")
    import tensorflow as tf

    devices = mirrored_devices(config)
    if config.batch_size % len(devices):
        raise ConfigError(f"field 'batch_size': {config.batch_size} is the global batch and must divide evenly over "
                          f"the {len(devices)} devices of 'mirrored' ({', '.join(devices)})")
    on_gpus = all("GPU" in name.upper() for name in devices)
    # NCCL's all-reduce is the fast one between GPUs; it has no CPU kernel, and the default
    # choice on CPU devices stalled here: CPUs reduce on one device.
    reduction = None if on_gpus else tf.distribute.ReductionToOneDevice()
    return tf.distribute.MirroredStrategy(devices, cross_device_ops=reduction)


def replicas_in_sync() -> int:
    """How many replicas the model_fn being built is one of (1 outside a strategy)."""
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync
