"""The conv stacks a CRNN can read with, one entry each: its builder, the config fields it
reads, and how they are checked.

Adding a backbone is one `Backbone` entry in `BACKBONES` and its builder function in
tf_crnn/model/backbones.py (and, for a setting of its own, a field of tf_crnn.config.Config).
Everything else reads this table: the config's validation (`backbone` must name an entry,
and only the chosen entry's fields are checked, so a mobilenet_v3 config may keep the seven
`conv_channels` it always had), the architecture fields a resumed run must keep, the
network's builder (tf_crnn/model/network.py) and what every export's metadata records.

The table is data and imports no TensorFlow: the config is validated against it before
anything slow starts, and the config (core layer) cannot import tf_crnn.model. So an entry
names its builder instead of holding it.
"""

from dataclasses import dataclass
from typing import Callable, Dict, Tuple

from tf_crnn.errors import ConfigError


def check_conv_channels(config) -> None:
    """vgg's seven conv layers, each with its own channel count."""
    if len(config.conv_channels) != 7 or min(config.conv_channels) <= 0:
        raise ConfigError(f"field 'conv_channels' must list 7 positive channel counts, got {config.conv_channels}")


def check_width_multiplier(config) -> None:
    """Below 0.1 every layer rounds to the 8-channel floor; above 4 the stack outweighs vgg."""
    if not 0.1 <= config.width_multiplier <= 4.0:
        raise ConfigError(f"field 'width_multiplier' must be in [0.1, 4], got {config.width_multiplier}")


@dataclass(frozen=True)
class Backbone:
    """One conv stack.

    Args:
        builder: the function of tf_crnn/model/backbones.py that builds it, called as
            `builder(policy, **settings)` with the config's values of `fields`.
        fields: the Config fields it reads. They fix its variables (a resumed run must
            keep them), and every export records them beside `backbone`.
        check: raises ConfigError, in one line naming the field, for values it cannot build.
    """

    builder: str
    fields: Tuple[str, ...]
    check: Callable[[object], None]


BACKBONES: Dict[str, Backbone] = {
    # The paper's seven 3x3 convolutions.
    "vgg": Backbone(builder="build_vgg", fields=("conv_channels",), check=check_conv_channels),
    # Inverted-residual blocks, a fraction of vgg's FLOPs (docs/configuration.md).
    "mobilenet_v3": Backbone(builder="build_mobilenet_v3", fields=("width_multiplier",),
                             check=check_width_multiplier),
}


def backbone_fields() -> Tuple[str, ...]:
    """Every backbone's fields, in table order, each once."""
    return tuple(dict.fromkeys(name for backbone in BACKBONES.values() for name in backbone.fields))


def backbone_settings(config) -> dict:
    """The config's values of its backbone's fields: the builder's keyword arguments, and
    what an export records of the backbone besides its name.

    >>> from tf_crnn.config import Config
    >>> backbone_settings(Config(backbone="mobilenet_v3", width_multiplier=0.5))
    {'width_multiplier': 0.5}
    """
    return {name: getattr(config, name) for name in BACKBONES[config.backbone].fields}
