"""A character n-gram language model over an alphabet's units, for the CTC beam search.

CTC treats the characters of a reading as independent given the image: nothing in the
loss tells the network that "atrways" is a less likely word than "airways". A character
language model adds that knowledge at decoding time (tf_crnn/decoding/lm_beam.py) without
constraining the output to a word list, so a name or a number the model has never seen
can still be read.

The model is an interpolated Witten-Bell n-gram: the probability of a unit after a
history of n-1 units mixes what followed that history in the training text with the
estimate from the history one unit shorter, weighted by how many different units were
seen after it (a history followed by many different units is trusted less). It needs no
tuning and handles histories never seen. Words are modelled whole: each starts after
n-1 start marks and ends with an end mark, so the model knows how words begin and end.

The n-grams are counted with numpy: each one is a base-B number (B = units + 2 marks),
so counting is `np.unique` and a lookup is `np.searchsorted`. Distributions are
computed for a history when it is first asked for and then kept.

The built-in `english` model takes seconds to fit (a million labels drawn, then counted),
and `predict --language_model english` would pay that at every call: its counts are kept
in the user's cache folder after the first fit (`cache_folder`) and read back in a
fraction of a second.
"""

import hashlib
import json
import os
import zipfile
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from tf_crnn.cache import cache_folder
from tf_crnn.errors import DataError
from tf_crnn.decoding.lexicon import read_lines

DEFAULT_ORDER = 5  # chosen on rendered validation words: benchmarks/results/lm_tuning.json
ENGLISH = "english"  # the name of the built-in text: words as the renderer draws them
ENGLISH_SAMPLES = 1_000_000
ENGLISH_SEED = 20261127
_CACHE_FORMAT = 1
_TABLE_FIELDS = ("codes", "counts", "contexts", "context_totals", "context_distinct")
_MAX_CODE = 2**62


class CharNgramModel:
    """P(next unit or end of word | the previous order-1 units) for one alphabet.

    `next_log_probs(history)` returns log-probabilities over the alphabet's units followed
    by the end of the word (ids 0..V-1, then V), for a history of unit ids.
    """

    def __init__(self, alphabet, order: int, tables: List["_OrderTable"], dropped: int, texts: int):
        self.alphabet = alphabet
        self.order = order
        self.tables = tables  # tables[k-1] counts the k-grams
        self.dropped = dropped  # training texts the alphabet cannot spell
        self.texts = texts
        self.units = len(alphabet.units)
        self.end = self.units
        self.start = self.units + 1
        self._cache: Dict[Tuple[int, ...], np.ndarray] = {}

    @classmethod
    def fit(cls, texts: Iterable[str], alphabet, order: int = DEFAULT_ORDER) -> "CharNgramModel":
        """Counts the n-grams of `texts` (one word or line each) as the alphabet spells them."""
        if order < 1:
            raise DataError(f"the language model order must be at least 1, got {order}")
        base = len(alphabet.units) + 2
        if base ** order >= _MAX_CODE:
            raise DataError(f"a {order}-gram model of {len(alphabet.units)} units is too large; use a lower order")
        start, end = len(alphabet.units) + 1, len(alphabet.units)
        pieces, dropped, kept = [], 0, 0
        for text in texts:
            ids = alphabet.encode(text)
            if not ids or min(ids) < 0:
                dropped += 1
                continue
            pieces.append([start] * (order - 1) + ids + [end])
            kept += 1
        if not kept:
            raise DataError("the language model text has no word the model's alphabet can spell")
        flat = np.fromiter((i for piece in pieces for i in piece), dtype=np.int64)
        targets = np.flatnonzero(flat != start)  # every unit and end mark is predicted once
        # The k-gram ending at a target is the target plus the unit j back times base**j:
        # the oldest unit is the most significant digit, so its history is `code // base`.
        tables, code = [], np.zeros(len(targets), dtype=np.int64)
        for k in range(1, order + 1):
            code = code + flat[targets - (k - 1)] * base ** (k - 1)
            tables.append(_OrderTable.count(code, base))
        return cls(alphabet, order, tables, dropped, kept)

    def next_log_probs(self, history: Sequence[int]) -> np.ndarray:
        """Log-probabilities [units + 1] of what follows `history` (unit ids, oldest first)."""
        key = tuple(history[-(self.order - 1):]) if self.order > 1 else ()
        cached = self._cache.get(key)
        if cached is None:
            if len(self._cache) > 200_000:
                self._cache.clear()
            cached = self._cache[key] = np.log(self._probabilities(key))
        return cached

    def log_prob(self, text: str) -> float:
        """log P(text as a whole word), end mark included."""
        ids = self.alphabet.encode(text)
        total = 0.0
        for i, unit in enumerate(ids + [self.end]):
            total += float(self.next_log_probs(ids[:i])[unit])
        return total

    def _probabilities(self, history: Tuple[int, ...]) -> np.ndarray:
        padded = (self.start,) * (self.order - 1 - len(history)) + history
        base = self.units + 2
        outcomes = np.arange(self.units + 1, dtype=np.int64)
        probabilities = np.full(self.units + 1, 1.0 / (self.units + 1))
        for k, table in enumerate(self.tables, start=1):
            context = 0
            for unit in padded[len(padded) - (k - 1):] if k > 1 else ():
                context = context * base + unit
            seen = table.context_stats(context)
            if seen is None:
                break  # a longer history containing this one was not seen either
            total, distinct = seen
            counts = table.counts_of(context * base + outcomes)
            probabilities = (counts + distinct * probabilities) / (total + distinct)
        return probabilities


class _OrderTable:
    """Counts of the k-grams of one order: sorted codes (history digits, then the outcome)."""

    def __init__(self, codes, counts, contexts, context_totals, context_distinct):
        self.codes, self.counts = codes, counts
        self.contexts, self.context_totals, self.context_distinct = contexts, context_totals, context_distinct

    @classmethod
    def count(cls, codes: np.ndarray, base: int) -> "_OrderTable":
        codes, counts = np.unique(codes, return_counts=True)
        contexts, first, distinct = np.unique(codes // base, return_index=True, return_counts=True)
        totals = np.add.reduceat(counts, first)
        return cls(codes, counts.astype(np.float64), contexts, totals.astype(np.float64), distinct.astype(np.float64))

    def context_stats(self, context: int) -> Optional[Tuple[float, float]]:
        i = int(np.searchsorted(self.contexts, context))
        if i == len(self.contexts) or self.contexts[i] != context:
            return None
        return self.context_totals[i], self.context_distinct[i]

    def counts_of(self, codes: np.ndarray) -> np.ndarray:
        i = np.minimum(np.searchsorted(self.codes, codes), len(self.codes) - 1)
        return np.where(self.codes[i] == codes, self.counts[i], 0.0)


def english_texts(alphabet, count: int = ENGLISH_SAMPLES, seed: int = ENGLISH_SEED) -> List[str]:
    """`count` labels drawn as the renderer draws them (tf_crnn/synth/words.py): English words,
    half by web frequency and half uniformly, plus digit and random strings, in the
    alphabet's single-character units and its case. Its own seed: not the training text."""
    from tf_crnn.synth.words import WordSampler

    charset = "".join(unit for unit in alphabet.units if len(unit) == 1 and not unit.isspace())
    if not charset:
        raise DataError("the built-in English text needs an alphabet of single characters")
    case = "mixed" if any(c.swapcase() != c and c.swapcase() in charset for c in charset) else "lower"
    sampler = WordSampler(charset, np.random.default_rng(seed), 1, 24, case)
    return [sampler.sample() for _ in range(count)]


def read_texts(path: str) -> List[str]:
    """One text a line (UTF-8), blank lines skipped: the words of the user's own domain."""
    texts = read_lines(path, "language model text")
    if not texts:
        raise DataError(f"{path}: the language model text is empty")
    return texts


def load_language_model(source: str, alphabet, order: int = DEFAULT_ORDER) -> CharNgramModel:
    """A model fitted on a text file (one word a line), or on `english`, the built-in text
    (from the cache folder when it was fitted before for this alphabet and order)."""
    if source != ENGLISH:
        return CharNgramModel.fit(read_texts(source), alphabet, order)
    folder = cache_folder()
    path = os.path.join(folder, f"char_lm-english-{_english_key(alphabet, order)}.npz") if folder else None
    model = _read_cached(path, alphabet, order) if path else None
    if model is None:
        model = CharNgramModel.fit(english_texts(alphabet, ENGLISH_SAMPLES), alphabet, order)
        if path:
            _write_cached(model, path)
    return model


def _english_key(alphabet, order: int) -> str:
    """Names what the built-in model's counts depend on: the alphabet, the order, the draw
    (count, seed, the sampler's code) and the word lists it draws from."""
    from importlib import metadata

    from tf_crnn.synth import words

    with open(words.__file__, "rb") as handle:
        sampler_code = hashlib.sha256(handle.read()).hexdigest()
    word_lists = [metadata.version(name) for name in ("english-words", "wordsegment")]
    fields = [_CACHE_FORMAT, list(alphabet.units), order, ENGLISH_SAMPLES, ENGLISH_SEED, sampler_code, word_lists,
              np.__version__]
    return hashlib.sha256(json.dumps(fields).encode("utf-8")).hexdigest()[:24]


def _read_cached(path: str, alphabet, order: int) -> Optional[CharNgramModel]:
    """The cached model, or None when there is none or it cannot be read (it is then fitted again)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if int(stored["order"]) != order:
                return None
            tables = [_OrderTable(*(stored[f"{field}_{k}"] for field in _TABLE_FIELDS)) for k in range(1, order + 1)]
            return CharNgramModel(alphabet, order, tables, int(stored["dropped"]), int(stored["texts"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def _write_cached(model: CharNgramModel, path: str) -> None:
    """Writes under a temporary name and renames, so a reader never sees half a file; a
    cache folder that cannot be written only costs the next run the fit."""
    arrays = {"order": np.int64(model.order), "dropped": np.int64(model.dropped), "texts": np.int64(model.texts)}
    for k, table in enumerate(model.tables, start=1):
        arrays.update({f"{field}_{k}": getattr(table, field) for field in _TABLE_FIELDS})
    staged = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(staged, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(staged, path)
    except OSError:
        if os.path.exists(staged):
            os.remove(staged)
