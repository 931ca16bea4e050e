"""CTC prefix beam search with a character language model (shallow fusion), in numpy.

The search keeps the `beam_width` best readings (prefixes) frame by frame, as the plain
beam search does, but a prefix's score is

    log p_ctc(prefix | frames) + weight * log p_lm(prefix) + bonus * len(prefix)

and a finished reading also pays weight * log p_lm(end of word | reading). The language
model (tf_crnn/decoding/char_lm.py) moves the network's near misses ("atrways", "califobnia") to
the words they should be, while any string stays reachable: this is lexicon-free
decoding, unlike tf_crnn/decoding/lexicon.py. The bonus balances the language model's cost per
character, which would otherwise favour dropping letters. `weight` and `bonus` (and the
language model's order) are chosen on rendered validation words
(scripts/tune_language_model.py), never on the benchmarks.

Units whose probability at a frame is below `unit_floor` are not tried there: CTC
outputs are peaked, so a frame proposes one to three units, and the search costs one to
two milliseconds a word.
"""

import math
from typing import Dict, List, Sequence, Tuple

import numpy as np

from tf_crnn.decoding.lexicon import ctc_log_likelihoods
from tf_crnn.decoding.numpy_ctc import LOG_ZERO, log_sum_exp

# Chosen on rendered validation words whose labels the language model never saw
# (scripts/tune_language_model.py, benchmarks/results/lm_tuning.json).
DEFAULT_WEIGHT = 0.1
DEFAULT_BONUS = 0.0
DEFAULT_BEAM_WIDTH = 16
_UNIT_FLOOR = math.log(1e-3)


class LanguageModelDecoder:
    """Reads one image's frames as the best reading under CTC and the language model."""

    def __init__(self, language_model, weight: float = DEFAULT_WEIGHT, bonus: float = DEFAULT_BONUS,
                 beam_width: int = DEFAULT_BEAM_WIDTH, unit_floor: float = _UNIT_FLOOR):
        self.language_model = language_model
        self.weight, self.bonus, self.beam_width, self.unit_floor = weight, bonus, beam_width, unit_floor

    def decode(self, log_probs: np.ndarray) -> Tuple[List[int], float]:
        """(unit ids, CTC probability of that reading) for `log_probs` [frames, classes],
        the image's real frames, blank last."""
        ids = self.search(np.asarray(log_probs, dtype=np.float64))
        padded = np.array([ids or [-1]], dtype=np.int32)
        likelihood = ctc_log_likelihoods(log_probs, padded, np.array([len(ids)]))[0]
        return ids, float(np.exp(likelihood))

    def search(self, log_probs: np.ndarray) -> List[int]:
        blank = log_probs.shape[1] - 1
        lm = self.language_model
        # prefix -> [log p ending in blank, log p ending in a unit], LM terms included
        beams: Dict[Tuple[int, ...], List[float]] = {(): [0.0, LOG_ZERO]}
        for frame in log_probs:
            proposals = [int(u) for u in np.flatnonzero(frame[:blank] >= self.unit_floor)]
            if not proposals:
                proposals = [int(np.argmax(frame[:blank]))]
            following: Dict[Tuple[int, ...], List[float]] = {}
            for prefix, (ends_blank, ends_unit) in beams.items():
                total = log_sum_exp(ends_blank, ends_unit)
                entry = following.setdefault(prefix, [LOG_ZERO, LOG_ZERO])
                entry[0] = log_sum_exp(entry[0], total + frame[blank])
                if prefix:  # the last unit held over one more frame
                    entry[1] = log_sum_exp(entry[1], ends_unit + frame[prefix[-1]])
                context = lm.next_log_probs(prefix)
                for unit in proposals:
                    extended = prefix + (unit,)
                    gain = frame[unit] + self.weight * context[unit] + self.bonus
                    # a repeated unit is a new unit only after a blank
                    source = ends_blank if prefix and prefix[-1] == unit else total
                    slot = following.setdefault(extended, [LOG_ZERO, LOG_ZERO])
                    slot[1] = log_sum_exp(slot[1], source + gain)
            ranked = sorted(following.items(), key=lambda item: log_sum_exp(*item[1]), reverse=True)
            beams = dict(ranked[:self.beam_width])
        best, best_score = (), LOG_ZERO
        for prefix, scores in beams.items():
            final = log_sum_exp(*scores) + self.weight * lm.next_log_probs(prefix)[lm.end]
            if final > best_score:
                best, best_score = prefix, final
        return list(best)


def decode_batch(decoder: LanguageModelDecoder, log_probs: np.ndarray, lengths: Sequence[int]):
    """(ids, confidence) per image of a batch: log_probs [batch, frames, classes]."""
    return [decoder.decode(log_probs[i, :length]) for i, length in enumerate(lengths)]
