"""Lexicon-based decoding: the CRNN paper's "lexicon-based" mode, in numpy.

Given a lexicon (a list of allowed words) and a network's per-frame log-probabilities,
the reading is the lexicon word the network finds most probable among the words close to
its own lexicon-free reading:

1. the candidates are the lexicon words within edit distance `max_distance` (3 in the
   paper) of the greedy reading; if there is none, the words at the smallest distance;
2. each candidate is scored by its CTC log-likelihood log p(word | frames), the sum over
   every frame alignment of the word, and the best one wins.

Searching a neighbourhood and then scoring is what makes a large lexicon usable: scoring
all of a 235k-word lexicon against every image would be far too slow, and the
neighbourhood almost always holds the right word when the lexicon-free reading is close.

Edit distances are computed for all lexicon words of a compatible length at once, as
vectorized numpy rows of the Wagner-Fischer table (a word whose length differs from the
reading by more than `max_distance` cannot be within it), so no index has to be built
and a lexicon of a quarter of a million words costs tens of milliseconds a query.
"""

from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from tf_crnn import text_files
from tf_crnn.errors import DataError

ENGLISH = "english"  # the name of the built-in lexicon: the renderer's English word list
_NEG_INF = -np.inf


def read_lines(path: str, what: str) -> List[str]:
    """The non-blank lines of a text file (tf_crnn/text_files.py), stripped; `what` names it in errors."""
    return [line.strip() for line in text_files.read_lines(path, what) if line.strip()]


def read_word_list(path: str) -> List[str]:
    """One word a line (UTF-8); blank lines are skipped. `english` names the built-in list."""
    if path == ENGLISH:
        from tf_crnn.synth.words import dictionary_words

        return list(dictionary_words())
    words = read_lines(path, "lexicon file")
    if not words:
        raise DataError(f"{path}: the lexicon file has no words")
    return words


class Lexicon:
    """The words of a lexicon as alphabet ids, grouped by length for the distance search.

    A word is kept if the alphabet can spell it as written, or else lower-cased (so a
    lower-case model can use a capitalised word list); other words cannot be read by the
    model and are counted in `dropped`.
    """

    def __init__(self, words: Iterable[str], alphabet):
        self.alphabet = alphabet
        self.dropped = 0
        by_length: Dict[int, Dict[Tuple[int, ...], str]] = {}
        for word in words:
            ids = self._spell(word)
            if ids is None:
                self.dropped += 1
                continue
            by_length.setdefault(len(ids), {}).setdefault(tuple(ids), alphabet.decode(ids))
        if not by_length:
            raise DataError("the lexicon has no word the model's alphabet can spell")
        self.groups = {n: np.array(list(entries), dtype=np.int32).reshape(len(entries), n)
                       for n, entries in by_length.items()}
        self.texts = {n: list(entries.values()) for n, entries in by_length.items()}
        self.histograms = {n: _histograms(words, alphabet.num_classes) for n, words in self.groups.items()}

    def __len__(self) -> int:
        return sum(len(texts) for texts in self.texts.values())

    def _spell(self, word: str) -> Optional[List[int]]:
        for text in (word, word.lower()):
            ids = self.alphabet.encode(text)
            if ids and not self.alphabet.unknown_units(text):
                return ids
        return None

    def neighbours(self, ids: Sequence[int], max_distance: int) -> "Candidates":
        """Lexicon words within `max_distance` of `ids`, or else the nearest ones."""
        query = np.asarray(ids, dtype=np.int32)
        near = [n for n in self.groups if abs(n - len(query)) <= max_distance]
        found = self._search(query, near, max_distance)
        if not len(found.texts):
            found = self._search(query, list(self.groups), None)
            found = found.select(found.distances == found.distances.min())
        return found

    def _search(self, query: np.ndarray, lengths: List[int], max_distance: Optional[int]) -> "Candidates":
        query_histogram = _histograms(query[None, :], self.alphabet.num_classes)[0]
        longest = max(lengths, default=0)
        ids, lengths_found, texts, distances = [], [], [], []
        for n in sorted(lengths):
            words = self.groups[n]
            if max_distance is None:
                rows = np.arange(len(words))
            else:
                # Each edit changes the letter counts by at most two, so half their
                # difference bounds the distance from below and rules out most words cheaply.
                difference = np.abs(self.histograms[n] - query_histogram).sum(axis=1)
                rows = np.flatnonzero(difference <= 2 * max_distance)
            distance = edit_distances(query, words[rows])
            if max_distance is not None:
                rows, distance = rows[distance <= max_distance], distance[distance <= max_distance]
            padded = np.full((len(rows), longest), -1, dtype=np.int32)
            padded[:, :n] = words[rows]
            ids.append(padded)
            lengths_found.append(np.full(len(rows), n, dtype=np.int32))
            texts.extend(self.texts[n][i] for i in rows)
            distances.append(distance)
        if not ids:
            return Candidates(np.zeros((0, 0), np.int32), np.zeros(0, np.int32), [], np.zeros(0, np.int64))
        return Candidates(np.concatenate(ids), np.concatenate(lengths_found), texts, np.concatenate(distances))


class Candidates:
    """Lexicon words found by a search: ids [count, longest] padded with -1, their lengths,
    texts and edit distances to the query."""

    def __init__(self, ids: np.ndarray, lengths: np.ndarray, texts: List[str], distances: np.ndarray):
        self.ids, self.lengths, self.texts, self.distances = ids, lengths, texts, distances

    def select(self, keep: np.ndarray) -> "Candidates":
        rows = np.flatnonzero(keep)
        return Candidates(self.ids[rows], self.lengths[rows], [self.texts[i] for i in rows], self.distances[rows])


def _histograms(words: np.ndarray, num_classes: int) -> np.ndarray:
    """Unit counts of each row of `words` [count, n] -> [count, num_classes] (int16)."""
    counts = np.zeros((len(words), num_classes), dtype=np.int16)
    if words.size:
        np.add.at(counts, (np.repeat(np.arange(len(words)), words.shape[1]), words.ravel()), 1)
    return counts


def edit_distances(query: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Levenshtein distances from one id sequence to every row of `words` [count, n].

    One row of the dynamic-programming table is computed at a time for all words: the
    substitution and deletion terms are plain array operations, and the insertion chain
    along the row is a running minimum of (cell - column) plus the column.
    """
    count, n = words.shape
    columns = np.arange(n + 1, dtype=np.int32)
    row = np.broadcast_to(columns, (count, n + 1)).copy()
    for i, symbol in enumerate(query, start=1):
        diagonal = row[:, :-1] + (words != symbol)
        above = row[:, 1:] + 1
        cells = np.empty_like(row)
        cells[:, 0] = i
        cells[:, 1:] = np.minimum(diagonal, above)
        row = np.minimum.accumulate(cells - columns, axis=1) + columns
    return row[:, n]


def ctc_log_likelihoods(log_probs: np.ndarray, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """log p(word | frames) under CTC for each word, ids [count, longest] padded, with `lengths`.

    `log_probs` is [frames, classes] with the blank last (one image, its real frames
    only). All words run through the forward recursion together; padding states come
    after a word's own states and never feed back into them. A word that needs more
    frames than there are gets -inf.
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    frames, classes = log_probs.shape
    blank = classes - 1
    count = len(ids)
    if frames == 0:
        return np.full(count, _NEG_INF)
    extended = np.full((count, 2 * ids.shape[1] + 1), blank, dtype=np.int64)
    extended[:, 1::2] = np.where(ids >= 0, ids, blank)
    # A skip from s-2 to s is allowed onto a label that differs from the label two back.
    can_skip = np.zeros(extended.shape, dtype=bool)
    can_skip[:, 2:] = (extended[:, 2:] != blank) & (extended[:, 2:] != extended[:, :-2])

    alpha = np.full(extended.shape, _NEG_INF)
    alpha[:, 0] = log_probs[0, blank]
    if extended.shape[1] > 1:
        alpha[:, 1] = log_probs[0, extended[:, 1]]
    skip = np.full(extended.shape, _NEG_INF)
    for t in range(1, frames):
        previous = alpha
        alpha = previous.copy()
        alpha[:, 1:] = np.logaddexp(previous[:, 1:], previous[:, :-1])
        skip[:, 2:] = np.where(can_skip[:, 2:], previous[:, :-2], _NEG_INF)
        alpha = np.logaddexp(alpha, skip) + log_probs[t][extended]
    ends = 2 * np.asarray(lengths, dtype=np.int64)
    rows = np.arange(count)
    # an empty word ends only in the all-blank state; others in their last label or a blank after it
    last_label = np.where(ends > 0, alpha[rows, np.maximum(ends - 1, 0)], _NEG_INF)
    return np.logaddexp(alpha[rows, ends], last_label)


class LexiconDecoder:
    """Reads an image's frames as the most probable lexicon word near its greedy reading."""

    def __init__(self, lexicon: Lexicon, max_distance: int = 3):
        if max_distance < 0:
            raise DataError(f"the lexicon distance must be at least 0, got {max_distance}")
        self.lexicon = lexicon
        self.max_distance = max_distance

    def decode(self, log_probs: np.ndarray, greedy_ids: Sequence[int]) -> Tuple[str, float]:
        """(word, its CTC probability) for one image: `log_probs` [frames, classes] over its
        real frames, `greedy_ids` its lexicon-free greedy reading."""
        found = self.lexicon.neighbours(greedy_ids, self.max_distance)
        scores = ctc_log_likelihoods(log_probs, found.ids, found.lengths)
        if np.isneginf(scores).all():
            best = int(np.argmin(found.distances))  # too few frames for any of them: the nearest
        else:
            best = int(np.argmax(scores))
        return found.texts[best], float(np.exp(scores[best]))


def load_lexicon(paths: Sequence[str], alphabet, extra_words: Iterable[str] = ()) -> Lexicon:
    """A lexicon from word-list files (or `english`) plus `extra_words`."""
    words: List[str] = list(extra_words)
    for path in paths:
        words.extend(read_word_list(path))
    return Lexicon(words, alphabet)
