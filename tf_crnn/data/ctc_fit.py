"""Whether a label fits its image under CTC: one frame per unit, one more between repeats.

The network emits one frame per `FRAME_WIDTH` pixels of the image resized to the model
height (its width clipped to [min, max], as tf_crnn/data/preprocess.py does). CTC can
only spell a label in at least as many frames as it has units plus one blank between
each pair of equal neighbours ("ll" needs three). Training drops the examples that do
not fit (`ignore_longer_outputs_than_inputs`: they would have an infinite loss), so the
converter counts them for the settings a model will use, and training says how many it
met. Plain Python, so the converter's planning process stays free of TensorFlow.
"""

from dataclasses import dataclass
from typing import Sequence

from tf_crnn.config import FRAME_WIDTH


@dataclass(frozen=True)
class InputSize:
    """The resizing a model applies: its height and the range of widths."""

    image_height: int = 32
    min_image_width: int = 8
    max_image_width: int = 256

    def frames(self, width: int, height: int) -> int:
        """Frames the network emits for an image of `width` x `height` pixels."""
        resized = int(round(width * self.image_height / max(height, 1)))
        resized = min(max(resized, self.min_image_width), self.max_image_width)
        return (resized + FRAME_WIDTH - 1) // FRAME_WIDTH


def frames_needed(units: Sequence) -> int:
    """The fewest frames CTC needs to spell `units`: one each, plus a blank between repeats."""
    return len(units) + sum(1 for before, after in zip(units, units[1:]) if before == after)
