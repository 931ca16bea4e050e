"""CTC decoding in numpy, for runtimes without TensorFlow (TFLite, ONNX Runtime).

The portable models stop at the per-frame logits; this module turns them into words
exactly as tf_crnn/decoding/ctc.py does inside TensorFlow, so a TFLite or ONNX deployment
reads the same words with the same confidences as the SavedModel:

- greedy: TensorFlow's best path (`tf.nn.ctc_greedy_decoder`, repeats merged, first
  maximum on ties); the confidence is the best path's probability.
- beam search: TensorFlow's prefix beam search (`tf.nn.ctc_beam_search_decoder`),
  reproduced step by step, including its quirks (a prefix that falls out of the beam
  loses its history; label order decides which candidate enters a full beam first);
  the confidence is the beam's probability, summed over its paths. Following the same
  steps is what makes the same beams come out; the arithmetic is float64 here and
  float32 there, so scores agree to about 1e-5 and only near-exact ties could order
  differently.

Each unit's probability and x range (`unit_details`) follow tf_crnn/decoding/ctc.py too: the
frames of the best path (greedy) or of the word's most probable alignment (beam).

Inputs are batch-major, as the portable models emit them: log-probabilities
[batch, frames, classes] (`log_softmax` of the models' logits) with the CTC blank last,
and each image's frame count (`frame_counts` of its width).
"""

import heapq
import math
from typing import List, Sequence, Tuple

import numpy as np

from tf_crnn.config import FRAME_WIDTH  # pixels of the resized image per frame

LOG_ZERO = -math.inf


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Per-frame log-probabilities from logits (what the SavedModel's decoders are fed)."""
    logits = np.asarray(logits, dtype=np.float32)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def frame_counts(widths: Sequence[int]) -> np.ndarray:
    """Frames the network emits for images of these true widths: one per 4 pixels, rounded up,
    as tf_crnn.model.network.sequence_lengths (which needs TensorFlow)."""
    return (np.asarray(widths, dtype=np.int64) + FRAME_WIDTH - 1) // FRAME_WIDTH


def greedy(log_probs: np.ndarray, lengths: Sequence[int]) -> Tuple[List[List[int]], np.ndarray]:
    """Best path: (ids per image, confidences [batch])."""
    log_probs = np.asarray(log_probs)
    blank = log_probs.shape[-1] - 1
    best = log_probs.argmax(axis=-1)
    best_scores = log_probs.max(axis=-1)
    paths, confidences = [], np.zeros(len(log_probs), dtype=np.float32)
    for row, length in enumerate(lengths):
        frames = best[row, :length]
        keep = frames != blank
        keep[1:] &= frames[1:] != frames[:-1]
        paths.append(frames[keep].tolist())
        confidences[row] = math.exp(float(best_scores[row, :length].astype(np.float64).sum()))
    return paths, confidences


def best_path_frames(log_probs: np.ndarray, length: int) -> Tuple[List[int], np.ndarray]:
    """One image's greedy path: (unit index each frame emits or -1, frame probabilities)."""
    log_probs = np.asarray(log_probs)[:length]
    blank = log_probs.shape[-1] - 1
    best = log_probs.argmax(axis=-1)
    units, unit, previous = [], -1, -1
    for label in best:
        if label != blank and label != previous:
            unit += 1
        units.append(unit if label != blank else -1)
        previous = label
    return units, np.exp(log_probs.max(axis=-1).astype(np.float64))


def aligned_frames(log_probs: np.ndarray, length: int, ids: Sequence[int]) -> Tuple[List[int], np.ndarray]:
    """One image's most probable path spelling `ids` (Viterbi over blank, unit, blank, ...)."""
    log_probs = np.asarray(log_probs, dtype=np.float64)[:length]
    blank = log_probs.shape[-1] - 1
    states = [blank]
    for unit in ids:
        states += [unit, blank]
    emit = log_probs[:, states]  # [frames, states]
    count = len(states)
    score = np.full(count, -np.inf)
    score[:2] = emit[0, :2]
    backs = []
    for t in range(1, length):
        choices = np.full((count, 3), -np.inf)
        choices[:, 0] = score
        choices[1:, 1] = score[:-1]
        for s in range(3, count, 2):
            if states[s] != states[s - 2]:
                choices[s, 2] = score[s - 2]
        back = choices.argmax(axis=1)  # the first maximum, as tf.argmax
        score = choices[np.arange(count), back] + emit[t]
        backs.append(back)
    state = count - 1
    if ids and score[count - 2] > score[count - 1]:
        state = count - 2
    path = [state]
    for back in reversed(backs):
        state -= back[state]
        path.append(state)
    path.reverse()
    units = [(s - 1) // 2 if s % 2 else -1 for s in path]
    return units, np.exp(emit[np.arange(length), path])


def unit_details(frame_units: Sequence[int], frame_probs: np.ndarray, width: int,
                 source_width: int) -> List[Tuple[float, Tuple[int, int]]]:
    """Per emitted unit: (probability, (first pixel, one past the last)) in the pixels of
    the image as given, as tf_crnn.decoding.ctc.unit_details."""
    spans = {}
    for frame, unit in enumerate(frame_units):
        if unit >= 0:
            first, _, best = spans.get(unit, (frame, frame, 0.0))
            spans[unit] = (first, frame, max(best, float(frame_probs[frame])))
    scale = source_width / max(width, 1)
    return [(best, (int(round(first * FRAME_WIDTH * scale)), int(round(min((last + 1) * FRAME_WIDTH, width) * scale))))
            for first, last, best in (spans[unit] for unit in sorted(spans))]


def log_sum_exp(a: float, b: float) -> float:
    """log(exp(a) + exp(b)), exact when either is log zero."""
    if a == LOG_ZERO:
        return b
    if b == LOG_ZERO:
        return a
    return a + math.log1p(math.exp(b - a)) if a > b else b + math.log1p(math.exp(a - b))


class _Prefix:
    """One node of the prefix tree: a label sequence and its probabilities (log) at t-1 and t."""

    __slots__ = ("parent", "label", "children", "old", "new")

    def __init__(self, parent, label):
        self.parent, self.label, self.children = parent, label, {}
        self.old = [LOG_ZERO, LOG_ZERO, LOG_ZERO]  # total, ending in blank, ending in label
        self.new = [LOG_ZERO, LOG_ZERO, LOG_ZERO]

    def active(self) -> bool:
        return self.new[0] != LOG_ZERO

    def labels(self) -> List[int]:
        out, node = [], self
        while node.parent is not None:
            out.append(node.label)
            node = node.parent
        return out[::-1]


class _Beam:
    """The `beam_width` best prefixes, kept as a min-heap on their current total."""

    def __init__(self, width: int):
        self.width, self.heap, self.pushes = width, [], 0

    def push(self, prefix: _Prefix) -> None:
        self.pushes += 1
        item = (prefix.new[0], self.pushes, prefix)
        if len(self.heap) < self.width:
            heapq.heappush(self.heap, item)
        else:
            heapq.heapreplace(self.heap, item)

    def full(self) -> bool:
        return len(self.heap) >= self.width

    def bottom(self) -> _Prefix:
        return self.heap[0][2]

    def extract(self) -> List[_Prefix]:
        """The prefixes, best first; the beam is left empty."""
        items = sorted(self.heap, key=lambda item: (-item[0], item[1]))
        self.heap = []
        return [item[2] for item in items]


def _step(beam: _Beam, frame: np.ndarray, blank: int) -> None:
    """One frame of TensorFlow's CTCBeamSearchDecoder::Step."""
    frame = frame.astype(np.float64)
    top = frame.max()
    scores = frame - (top + math.log(np.exp(frame - top).sum()))  # log-softmax, as TensorFlow does
    branches = beam.extract()
    for prefix in branches:
        prefix.old = list(prefix.new)
    for prefix in branches:
        total, _, label_p = prefix.new
        if prefix.parent is not None:
            if prefix.parent.active():
                parent = prefix.parent.old
                previous = parent[1] if prefix.label == prefix.parent.label else parent[0]
                label_p = log_sum_exp(label_p, previous)
            label_p += scores[prefix.label]
        blank_p = prefix.old[0] + scores[blank]
        prefix.new = [log_sum_exp(blank_p, label_p), blank_p, label_p]
        beam.push(prefix)

    def is_candidate(total: float) -> bool:
        return total > LOG_ZERO and (not beam.full() or total > beam.bottom().new[0])

    for prefix in branches:
        if not is_candidate(prefix.old[0]):
            continue
        extended = scores[:blank] + prefix.old[0]
        if 0 <= prefix.label < blank:
            extended[prefix.label] = scores[prefix.label] + prefix.old[1]
        label = 0
        while label < blank and not beam.full():  # every label is a candidate until the beam fills
            _extend(beam, prefix, label, extended[label], is_candidate)
            label += 1
        if label < blank:
            # From here a label must beat the bottom, which only rises: skip hopeless ones in bulk,
            # but deactivate their existing children as TensorFlow does.
            hopeful = set((np.nonzero(extended[label:] > beam.bottom().new[0])[0] + label).tolist())
            for index in sorted(hopeful | {k for k in prefix.children if k >= label}):
                if index in hopeful:
                    _extend(beam, prefix, index, extended[index], is_candidate)
                else:
                    child = prefix.children[index]
                    if not child.active():
                        child.old = [LOG_ZERO] * 3
                        child.new = [LOG_ZERO] * 3


def _extend(beam: _Beam, prefix: _Prefix, label: int, label_p: float, is_candidate) -> None:
    child = prefix.children.get(label)
    if child is None:
        child = prefix.children[label] = _Prefix(prefix, label)
    if child.active():
        return
    child.new = [label_p, LOG_ZERO, label_p]
    if is_candidate(label_p):
        if beam.full():
            beam.bottom().new = [LOG_ZERO] * 3
        beam.push(child)
    else:
        child.old = [LOG_ZERO] * 3
        child.new = [LOG_ZERO] * 3


def beam_search(log_probs: np.ndarray, lengths: Sequence[int], beam_width: int,
                top_paths: int) -> Tuple[List[List[List[int]]], np.ndarray]:
    """Beam search: (ids [batch][path], scores [batch, top_paths]), as tf_crnn.decoding.ctc.beam_search."""
    if top_paths > beam_width:
        raise ValueError("top_paths must not exceed beam_width")
    log_probs = np.asarray(log_probs)
    blank = log_probs.shape[-1] - 1
    paths, scores = [], np.zeros((len(log_probs), top_paths), dtype=np.float32)
    for row, length in enumerate(lengths):
        beam = _Beam(beam_width)
        root = _Prefix(None, -1)
        root.new = [0.0, 0.0, LOG_ZERO]
        beam.push(root)
        for t in range(int(length)):
            _step(beam, log_probs[row, t], blank)
        best = beam.extract()
        if len(best) < top_paths:
            raise ValueError("fewer beams than top_paths: the images are too narrow for that many paths")
        paths.append([prefix.labels() for prefix in best[:top_paths]])
        scores[row] = [math.exp(prefix.new[0]) for prefix in best[:top_paths]]
    return paths, scores


def decode(log_probs: np.ndarray, lengths: Sequence[int], alphabet, decoder: str, beam_width: int,
           top_paths: int, widths: Sequence[int] = None, source_widths: Sequence[int] = None) -> dict:
    """What a SavedModel prediction returns: words, confidences, top_words, top_scores (and ids);
    with the images' `widths` (and `source_widths`, before resizing), each word's `chars`:
    [{"char", "confidence", "x_range"}] as the SavedModel's chars, char_confidences and
    char_x_ranges.

    As tf_crnn.decoding.ctc.decode, `top_paths` 0 returns no alternatives and, for greedy, runs no beam search."""
    if top_paths > 0 or decoder == "beam":
        beams, beam_scores = beam_search(log_probs, lengths, beam_width, max(top_paths, 1))
    if top_paths == 0:
        top_beams, top_scores = [[] for _ in lengths], np.zeros((len(lengths), 0), dtype=np.float32)
    else:
        top_beams, top_scores = beams, beam_scores
    if decoder == "beam":
        ids, confidences = [paths[0] for paths in beams], beam_scores[:, 0]
    else:
        ids, confidences = greedy(log_probs, lengths)
    outputs = {
        "ids": ids,
        "words": [alphabet.decode(row) for row in ids],
        "confidences": confidences,
        "top_words": [[alphabet.decode(path) for path in paths] for paths in top_beams],
        "top_scores": top_scores,
    }
    if widths is not None:
        source_widths = widths if source_widths is None else source_widths
        outputs["chars"] = []
        for row, length in enumerate(lengths):
            if decoder == "beam":
                frame_units, frame_probs = aligned_frames(log_probs[row], int(length), ids[row])
            else:
                frame_units, frame_probs = best_path_frames(log_probs[row], int(length))
            details = unit_details(frame_units, frame_probs, int(widths[row]), int(source_widths[row]))
            outputs["chars"].append([{"char": alphabet.decode([unit]), "confidence": confidence, "x_range": list(x)}
                                     for unit, (confidence, x) in zip(ids[row], details)])
    return outputs
