"""The one configuration object, loaded from `model_params.json` and validated once.

Every other module takes a `Config` and trusts it. Relative paths in the file are
resolved against the file's own folder, so a config can be run from anywhere.
"""

import dataclasses
import glob
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import List, Optional, Union

from tf_crnn.backbone_table import BACKBONES, backbone_fields
from tf_crnn.errors import ConfigError
from tf_crnn.model_files import RESOLVED_CONFIG as RESOLVED_NAME, resolve_source, write_json
from tf_crnn.precision import cpu_has_bfloat16, resolve_precision  # noqa: F401 (kept importable from here)

OPTIMIZERS = ("adam", "adadelta", "sgd")
SCHEDULES = ("constant", "exponential", "cosine")
# The decoders an export's own graph can run (the `decoder` field); every decoder that reads
# log-probabilities outside the graph is in tf_crnn/decoding/decoders.py's DECODERS.
GRAPH_DECODERS = ("greedy", "beam")
# What training does with a label holding units outside the alphabet: stop the run, skip the
# example, read them as the unknown token, or drop those units ("can't" -> "cant", "[06]" ->
# "06": a lower-case alphanumeric recognizer learns real crops' punctuation as nothing).
UNKNOWN_POLICIES = ("error", "skip", "unknown", "strip")
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
EXPORT_PRECISIONS = ("float32", "mixed_bfloat16")
# How training spreads over devices (tf_crnn/model/distribute.py, docs/training.md).
DISTRIBUTE_MODES = ("none", "mirrored", "parameter_server", "multi_worker_mirrored")
# Every backbone emits one frame per FRAME_WIDTH pixels of the resized image's width: the
# sequence lengths of CTC, the decoders' x ranges and the converter's fit check rest on it.
FRAME_WIDTH = 4
# The network's parts, for `freeze` (tf_crnn/model/network.py CRNN.parts).
NETWORK_PARTS = ("stn", "conv", "rnn", "classifier")

# Fields that change the network's variables: a model dir trained with one value
# cannot be resumed with another.
# The backbones' own fields (conv_channels, width_multiplier) come from their table.
ARCHITECTURE_FIELDS = (
    "image_height",
    "channels",
    "backbone",
    *backbone_fields(),
    "lstm_units",
    "spatial_transformer",
    "alphabet",
)


@dataclass
class DataSource:
    """One set of shards a run reads, named, with its own label handling.

    Training draws from its sources at random in proportion to their `weight`s (a source
    of 6,000 real crops can make a third of every batch beside 200,000 rendered words);
    evaluation reports each of its sources on its own. A source's `lowercase_labels` and
    `unknown_label_policy` (`error`, `skip` or `strip`) default to the config's own fields.
    """

    files: List[str] = field(default_factory=list)
    name: str = ""
    weight: float = 1.0
    lowercase_labels: Optional[bool] = None
    unknown_label_policy: Optional[str] = None


@dataclass
class Augmentation:
    """Training-only image distortions; each is off when its strength is 0."""

    enabled: bool = True
    max_rotation_degrees: float = 2.0
    max_shear: float = 0.15
    brightness: float = 0.15
    contrast: float = 0.3
    blur_probability: float = 0.2
    # Share of images shrunk to 30-70% and enlarged back (data/augment.py): street-scene
    # crops such as SVT's are often a few pixels high before preprocessing enlarges them.
    low_resolution_probability: float = 0.0
    noise_stddev: float = 0.03


@dataclass
class Config:
    """Everything a run needs. Each field is described in docs/configuration.md."""

    train_files: List[str] = field(default_factory=list)
    eval_files: List[str] = field(default_factory=list)
    # Several sources instead of train_files / eval_files (DataSource above); the best
    # export is picked on the word accuracy of `best_eval_source` (default: the first).
    train_sources: List[DataSource] = field(default_factory=list)
    eval_sources: List[DataSource] = field(default_factory=list)
    best_eval_source: str = ""
    model_dir: str = "runs/crnn"
    alphabet_file: str = ""
    unknown_label_policy: str = "error"
    unknown_token: str = "\ufffd"
    # Above this share of examples dropped before training (labels outside the alphabet
    # under `skip`, empty labels) the run stops: the alphabet is more likely wrong than the data.
    max_skipped_label_share: float = 0.2
    lowercase_labels: bool = False
    image_height: int = 32
    max_image_width: int = 256
    min_image_width: int = 8
    channels: int = 1
    backbone: str = "vgg"  # an entry of tf_crnn/backbone_table.py, which says which fields below it reads
    width_multiplier: float = 1.0  # mobilenet_v3's channels are scaled by it
    conv_channels: List[int] = field(default_factory=lambda: [64, 128, 256, 256, 512, 512, 512])
    lstm_units: List[int] = field(default_factory=lambda: [256, 256])
    dropout: float = 0.0
    # How slowly the batch norms' moving statistics (what exports and evaluation use) follow
    # training's batches: at Keras' 0.99 they need some 500 steps to catch up with the
    # weights, so a run of a few hundred steps trains well and reads badly; 0.9 catches up
    # in about 50.
    batch_norm_momentum: float = 0.99
    precision: str = "float32"
    # What serving exports compute in, whatever `precision` trained the model: float32 runs
    # well on any CPU, bfloat16 only where it is native (tf_crnn/precision.py).
    export_precision: str = "float32"
    spatial_transformer: bool = False
    # Weights to start from when the model dir has no checkpoint yet: a checkpoint prefix,
    # a model dir, a tf_crnn export, or a shipped model by name (tf_crnn/model/warm_start.py).
    # Architecture fields the config file leaves out are taken from it.
    init_from: str = ""
    # Parts of the network kept as they are (not trained; their batch norm in inference
    # mode): any of NETWORK_PARTS, e.g. ["stn", "conv"] to train only the LSTMs and the output layer.
    freeze: List[str] = field(default_factory=list)
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    learning_rate_schedule: str = "constant"
    decay_steps: int = 10000
    decay_rate: float = 0.5
    warmup_steps: int = 0
    momentum: float = 0.9
    gradient_clip_norm: float = 5.0
    batch_size: int = 64
    train_steps: int = 100000
    save_checkpoints_steps: int = 1000
    keep_checkpoint_max: int = 5
    eval_steps: int = 0
    shuffle_buffer: int = 10000
    # Every 16 px: a batch pads to its widest image, and on the recipe's rendered words
    # 32-px buckets left 16% of each batch padding against 6% (1.14x the images/s).
    bucket_boundaries: List[int] = field(default_factory=lambda: list(range(48, 256, 16)))
    augmentation: Augmentation = field(default_factory=Augmentation)
    decoder: str = "greedy"
    beam_width: int = 10
    top_paths: int = 3
    eval_image_summaries: int = 4
    log_step_count_steps: int = 50
    intra_op_threads: int = 0
    inter_op_threads: int = 0
    gpu: str = ""
    # `mirrored`: synchronous training on several devices of this machine (all visible GPUs,
    # or `devices`); `parameter_server`: asynchronous across the processes TF_CONFIG names.
    # `batch_size` is the global batch in every mode (tf_crnn/model/distribute.py).
    distribute: str = "none"
    devices: List[str] = field(default_factory=list)
    seed: int = 0
    # Same data order and same arithmetic on every run of one machine (bit-exact without
    # augmentation, whose random draws still vary): slower, for debugging and for tests
    # whose pass or fail must not depend on how busy the machine is.
    deterministic: bool = False
    # Filled in at load time, not read from the file.
    alphabet: List[str] = field(default_factory=list)

    def architecture(self) -> dict:
        """The fields that fix the network's variables."""
        return {name: getattr(self, name) for name in ARCHITECTURE_FIELDS}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _type_name(kind) -> str:
    return getattr(kind, "__name__", str(kind))


def _check_value(name: str, value, kind):
    """Checks one JSON value against a field's declared type; bools are not ints here."""
    origin = getattr(kind, "__origin__", None)
    if origin is Union:  # Optional[X]: null, or an X
        if value is None:
            return None
        (kind,) = [option for option in kind.__args__ if option is not type(None)]
        origin = getattr(kind, "__origin__", None)
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, f"field '{name}'")
    if origin in (list, List):
        (item_kind,) = kind.__args__
        if isinstance(value, str) and item_kind is str:
            return [value]
        if not isinstance(value, list):
            raise ConfigError(f"field '{name}' must be a list of {_type_name(item_kind)}, got {value!r}")
        return [_check_value(f"{name}[{i}]", item, item_kind) for i, item in enumerate(value)]
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"field '{name}' must be a number, got {value!r}")
        if not math.isfinite(value):  # JSON as Python reads it takes NaN and Infinity
            raise ConfigError(f"field '{name}' must be a finite number, got {value!r}")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"field '{name}' must be a whole number, got {value!r}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"field '{name}' must be true or false, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"field '{name}' must be a string, got {value!r}")
        return value
    raise AssertionError(f"unhandled field type {kind} for {name}")


def _build(cls, data: dict, where: str):
    """Builds a dataclass from a dict, refusing unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a JSON object, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in data.items():
        if key not in fields or key == "alphabet":
            known = ", ".join(sorted(k for k in fields if k != "alphabet"))
            raise ConfigError(f"{where}: unknown field '{key}' (known fields: {known})")
        values[key] = _check_value(key, value, fields[key].type)
    return cls(**values)


def _resolve(base_dir: str, path: str) -> str:
    if not path or os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(base_dir, path))


def expand_files(patterns: List[str], field_name: str) -> List[str]:
    """Expands the globs of a files field; an empty result names the field and patterns."""
    files = sorted({path for pattern in patterns for path in glob.glob(pattern)})
    if not files:
        shown = ", ".join(patterns) if patterns else "(empty)"
        raise ConfigError(f"field '{field_name}': no file matches {shown}{_how_to_make(patterns)}")
    return files


_SHARD_SET = re.compile(r"(?P<prefix>[^/*?\[\]]+)-(?:train|val)-\*\.tfrecord")


def _how_to_make(patterns: List[str]) -> str:
    """For a pattern named as the converters name shards (DIR/PREFIX-train-*.tfrecord), the
    commands that write that set: rendered words, or the user's own annotations."""
    for pattern in patterns:
        match = _SHARD_SET.fullmatch(os.path.basename(pattern))
        if match:
            folder, prefix = os.path.dirname(pattern) or ".", match.group("prefix")
            return (f"; write them with: python -m tf_crnn.synth.generate --output_dir {folder} --prefix {prefix} "
                    f"--count 100000 (rendered words), or: python -m tf_crnn.data.convert YOUR_LABELS.tsv "
                    f"--output_dir {folder} --prefix {prefix} --val_ratio 0.05 (your own images)")
    return ""


SOURCE_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def train_sources(config: Config) -> List[DataSource]:
    """The sources training draws from: `train_sources`, or one named 'train' of `train_files`."""
    return config.train_sources or [DataSource(files=list(config.train_files), name="train")]


def eval_sources(config: Config) -> List[DataSource]:
    """The sets each evaluation reads: `eval_sources`, or one named 'eval' of `eval_files`."""
    return config.eval_sources or [DataSource(files=list(config.eval_files), name="eval")]


def best_metric(config: Config) -> str:
    """The evaluation result that picks the best export: the word accuracy of
    `best_eval_source` (the first eval source by default), or over all of `eval_files`."""
    if not config.eval_sources:
        return "word_accuracy"
    return f"word_accuracy/{config.best_eval_source or config.eval_sources[0].name}"


def with_label_handling(config: Config, source: DataSource) -> Config:
    """`config` with the source's own label handling in its global fields, which the
    parser and the data check read."""
    return dataclasses.replace(
        config,
        lowercase_labels=config.lowercase_labels if source.lowercase_labels is None else source.lowercase_labels,
        unknown_label_policy=source.unknown_label_policy or config.unknown_label_policy,
    )


def _validate_sources(config: Config) -> None:
    for kind, sources, files in (("train", config.train_sources, config.train_files),
                                 ("eval", config.eval_sources, config.eval_files)):
        if sources and files:
            raise ConfigError(f"give field '{kind}_files' or field '{kind}_sources', not both")
        names = set()
        for index, source in enumerate(sources):
            where = f"field '{kind}_sources[{index}]'"
            if not SOURCE_NAME.fullmatch(source.name):
                raise ConfigError(f"{where}: 'name' must be letters, digits, '_', '.' or '-' "
                                  f"(it names the source's metrics), got {source.name!r}")
            if source.name in names:
                raise ConfigError(f"{where}: the name {source.name!r} is used twice")
            names.add(source.name)
            if not source.files:
                raise ConfigError(f"{where} ({source.name}): 'files' lists no shards")
            if not (math.isfinite(source.weight) and source.weight > 0):
                raise ConfigError(f"{where} ({source.name}): 'weight' must be a finite number greater than 0, "
                                  f"got {source.weight!r}")
            if kind == "eval" and source.weight != 1.0:
                raise ConfigError(f"{where} ({source.name}): 'weight' means nothing for evaluation, where every "
                                  "source is read in full; leave it out")
            allowed = ("error", "skip", "strip") + (("unknown",) if config.unknown_label_policy == "unknown" else ())
            if source.unknown_label_policy is not None and source.unknown_label_policy not in allowed:
                raise ConfigError(f"{where} ({source.name}): 'unknown_label_policy' must be one of "
                                  f"{', '.join(allowed)}, got {source.unknown_label_policy!r}"
                                  + ("" if "unknown" in allowed else " ('unknown' needs the config's own "
                                     "unknown_label_policy 'unknown', which adds the token to the alphabet)"))
        if kind == "eval" and config.best_eval_source and config.best_eval_source not in names:
            raise ConfigError(f"field 'best_eval_source': {config.best_eval_source!r} is not the name of one of "
                              f"the eval_sources ({', '.join(sorted(names)) or 'none given'})")


def validate(config: Config) -> Config:
    """Checks ranges and choices; raises ConfigError naming the field."""

    def choice(name, allowed):
        if getattr(config, name) not in allowed:
            raise ConfigError(f"field '{name}' must be one of {', '.join(allowed)}, got {getattr(config, name)!r}")

    def positive(name):
        if getattr(config, name) <= 0:
            raise ConfigError(f"field '{name}' must be greater than 0, got {getattr(config, name)!r}")

    _validate_sources(config)
    choice("optimizer", OPTIMIZERS)
    choice("learning_rate_schedule", SCHEDULES)
    choice("decoder", GRAPH_DECODERS)
    choice("unknown_label_policy", UNKNOWN_POLICIES)
    choice("precision", PRECISIONS)
    choice("export_precision", EXPORT_PRECISIONS)
    choice("backbone", BACKBONES)
    choice("distribute", DISTRIBUTE_MODES)
    if config.distribute == "multi_worker_mirrored":
        raise ConfigError(
            "field 'distribute': 'multi_worker_mirrored' does not train through the Estimator here: its "
            "collective ops must be set up before TensorFlow starts, its chief only trains (evaluations and "
            "exports would need an evaluator task) and one lost machine stops every step; use 'mirrored' for "
            "the GPUs of one machine, 'parameter_server' (TF_CONFIG) across machines (docs/training.md)")
    if config.devices and config.distribute != "mirrored":
        raise ConfigError(f"field 'devices' is for distribute 'mirrored' (it is {config.distribute!r}); "
                          "`gpu` picks the GPUs of a single-device run")
    for name in ("image_height", "max_image_width", "min_image_width", "batch_size", "train_steps",
                 "save_checkpoints_steps", "keep_checkpoint_max", "beam_width",
                 "learning_rate", "decay_steps", "log_step_count_steps"):
        positive(name)
    if config.channels not in (1, 3):
        raise ConfigError(f"field 'channels' must be 1 (grayscale) or 3 (RGB), got {config.channels}")
    if config.image_height % 16:
        raise ConfigError(f"field 'image_height' must be a multiple of 16 (the conv stack halves it 4 times), got {config.image_height}")
    if config.min_image_width > config.max_image_width:
        raise ConfigError("field 'min_image_width' must not exceed 'max_image_width'")
    BACKBONES[config.backbone].check(config)  # only the chosen backbone's fields: the others mean nothing
    if not config.lstm_units or min(config.lstm_units) <= 0:
        raise ConfigError(f"field 'lstm_units' must list one or more positive sizes, got {config.lstm_units}")
    if not 0.0 <= config.max_skipped_label_share <= 1.0:
        raise ConfigError(f"field 'max_skipped_label_share' must be in [0, 1], got {config.max_skipped_label_share}")
    if not 0.0 < config.batch_norm_momentum < 1.0:
        raise ConfigError(f"field 'batch_norm_momentum' must be in (0, 1), got {config.batch_norm_momentum}")
    for name in ("blur_probability", "low_resolution_probability"):
        if not 0.0 <= getattr(config.augmentation, name) <= 1.0:
            raise ConfigError(f"field 'augmentation.{name}' must be in [0, 1], got {getattr(config.augmentation, name)}")
    if not 0.0 <= config.dropout < 1.0:
        raise ConfigError(f"field 'dropout' must be in [0, 1), got {config.dropout}")
    if not 0 <= config.top_paths <= config.beam_width:
        raise ConfigError(f"field 'top_paths' must be in [0, beam_width={config.beam_width}] "
                          f"(0: no alternative readings), got {config.top_paths}")
    unknown_parts = [part for part in config.freeze if part not in NETWORK_PARTS]
    if unknown_parts:
        raise ConfigError(f"field 'freeze': unknown part(s) {', '.join(map(repr, unknown_parts))}; "
                          f"the parts are {', '.join(NETWORK_PARTS)}")
    present = [part for part in NETWORK_PARTS if part != "stn" or config.spatial_transformer]
    if not set(present) - set(config.freeze):
        raise ConfigError(f"field 'freeze' leaves nothing to train (the network's parts: {', '.join(present)})")
    if config.alphabet:
        return config  # taken from init_from (no alphabet_file given)
    if not config.alphabet_file:
        raise ConfigError("field 'alphabet_file' is required (one unit a line; see `python -m tf_crnn.data.make_alphabet`), "
                          "unless init_from names a model whose alphabet to keep")
    if not os.path.isfile(config.alphabet_file):
        raise ConfigError(f"field 'alphabet_file': file not found: {config.alphabet_file}")
    return config


def load_config(path: str, overrides: Optional[dict] = None) -> Config:
    """Reads, resolves and validates a config file; `overrides` (from flags) win over it.

    The alphabet file is read here too, so the units travel inside the config (and into
    the model dir) and nothing later needs the file.
    """
    from tf_crnn.alphabet import Alphabet  # the alphabet module imports TensorFlow lazily

    if not os.path.isfile(path):
        raise ConfigError(f"config file not found: {path}")
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot be read: {err}") from None
    config = _build(Config, data, path)
    for key, value in (overrides or {}).items():
        if value is not None:
            setattr(config, key, value)
    base_dir = os.path.dirname(os.path.abspath(path))
    config.train_files = [_resolve(base_dir, p) for p in config.train_files]
    config.eval_files = [_resolve(base_dir, p) for p in config.eval_files]
    for source in config.train_sources + config.eval_sources:
        source.files = [_resolve(base_dir, p) for p in source.files]
    config.alphabet_file = _resolve(base_dir, config.alphabet_file)
    if not (overrides or {}).get("model_dir"):
        config.model_dir = _resolve(base_dir, config.model_dir)
    if config.init_from:
        given = set(data) | {key for key, value in (overrides or {}).items() if value is not None}
        _inherit_architecture(config, given, base_dir)
    validate(config)
    config.precision = resolve_precision(config.precision, config.gpu)
    if not config.alphabet:
        config.alphabet = list(Alphabet.from_file(config.alphabet_file).units)
    return config


def _inherit_architecture(config: Config, given: set, base_dir: str) -> None:
    """Fills the architecture fields the config does not set (and the alphabet, when it
    names no alphabet_file) from `init_from`. Once the model dir has a checkpoint,
    init_from is not needed any more: if it is gone, the model dir's own config serves."""

    try:
        source = resolve_source(config.init_from, base_dir)
        architecture = source.architecture
        if source.kind != "shipped model":
            config.init_from = _resolve(base_dir, config.init_from)
    except ConfigError:
        if not os.path.isfile(os.path.join(config.model_dir, RESOLVED_NAME)):
            raise
        with open(os.path.join(config.model_dir, RESOLVED_NAME), encoding="utf-8") as handle:
            architecture = json.load(handle)
    for name in ARCHITECTURE_FIELDS:
        if name == "alphabet":
            if not config.alphabet_file and "alphabet" in architecture:
                config.alphabet = list(architecture["alphabet"])
        elif name not in given and name in architecture:
            setattr(config, name, architecture[name])


def config_from_dict(data: dict) -> Config:
    """Rebuilds a resolved config (as written into a model dir)."""
    data = dict(data)
    alphabet = data.pop("alphabet", [])
    config = _build(Config, data, "config")
    config.alphabet = list(alphabet)
    return config



def write_resolved(config: Config, model_dir: str) -> None:
    """Writes the resolved config into the model dir, atomically."""
    write_json(config.to_dict(), os.path.join(model_dir, RESOLVED_NAME))


def read_resolved(model_dir: str) -> Config:
    """The config a model dir was trained with."""
    path = os.path.join(model_dir, RESOLVED_NAME)
    if not os.path.isfile(path):
        raise ConfigError(f"{model_dir} holds no {RESOLVED_NAME}: is it a tf_crnn model dir?")
    with open(path, encoding="utf-8") as handle:
        return config_from_dict(json.load(handle))


def check_same_architecture(config: Config, model_dir: str) -> None:
    """Refuses to resume a model dir with a network that does not match its checkpoints.

    Without a checkpoint there is nothing to match: the config.json of a run refused or
    stopped before its first checkpoint does not bind the next run.
    """
    if not os.path.isfile(os.path.join(model_dir, RESOLVED_NAME)):
        return
    if not any(name.endswith(".index") for name in os.listdir(model_dir)):
        return
    previous = read_resolved(model_dir).architecture()
    current = config.architecture()
    changed = [name for name in ARCHITECTURE_FIELDS if previous[name] != current[name]]
    if changed:
        details = "; ".join(
            f"{name}: {previous[name] if name != 'alphabet' else len(previous[name])} -> "
            f"{current[name] if name != 'alphabet' else len(current[name])}"
            for name in changed
        )
        raise ConfigError(
            f"model dir {model_dir} was trained with a different architecture ({details}); "
            "use a new --model_dir or restore the old settings"
        )
