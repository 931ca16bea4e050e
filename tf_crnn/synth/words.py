"""The text of synthetic samples: dictionary words, numbers and random strings.

A user's word list (`read_word_list`: any script, phrases with spaces) replaces the
English vocabulary described below; its entries are drawn uniformly, as written.

Most samples are English words, so the model learns the letter statistics of real text.
The vocabulary is the `web2` list of the `english-words` package (234k words) plus the
plurals and inflected forms web2 leaves out ("gifts", "ladies", "opened"), from the word
list of the `wordsegment` package (337k words in all). Half the words are drawn by how
often they occur in English web text, so common words ("open", "street", "the") recur as
they do on signs and pages; the other half are drawn uniformly, with word lengths from a
prior that favours short words, as scene text does, rather than the vocabulary's own
distribution, where 9-letter words are the most common.
Digit strings and a few strings drawn uniformly from the charset make sure every
character of the charset occurs, including ones no word has (digits, punctuation,
accents).
"""

import bisect
import functools
import string
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tf_crnn.errors import ConfigError, DataError
from tf_crnn.text_files import read_lines

# lower: lower-case labels; mixed: lower, Title, UPPER and rAnDoM labels; as_written: a
# word list's entries keep the case they are written in.
CASES = ("lower", "mixed", "as_written")
# How a word is written when its case is free: lower, Title, UPPER, rAnDoM.
_CASE_STYLES = ("lower", "title", "upper", "random")
_MIXED_LABEL_STYLE_P = (0.4, 0.3, 0.25, 0.05)
# A lower-case-only charset cannot tell 'HOT' from 'hot', so the renderer may draw the
# word in any case while the label stays lower case: scene text is often capitalised.
_CASELESS_DISPLAY_STYLE_P = (0.45, 0.2, 0.35, 0.0)
_PUNCTUATION_FRACTION = 0.08
# Share of dictionary words drawn by frequency rather than uniformly by length.
_COMMON_WORD_SHARE = 0.5
# Web counts span nine orders of magnitude; drawing by count ** 0.5 keeps common words
# frequent (the 10,000 most common make about half of these draws) without letting "the"
# and "of" crowd out the rest (the 100 most common make 4%).
_FREQUENCY_EXPONENT = 0.5
# The marks that stick to words in real text; others occur only in random strings.
_WORD_PUNCTUATION = ".,'-!?:;\"()&"
# Scene-text benchmarks label "HOT!" or "TEL:" as HOT and TEL, and so do alphanumeric
# charsets: a mark the charset lacks is drawn beside some words but kept out of the
# label, so that the model learns to pass over it instead of reading it as an i or l.
_UNLABELLED_MARK_FRACTION = 0.1
_TRAILING_MARKS = ".,!?:'\")"
_LEADING_MARKS = "\"'(#"
# Numbers on signs are mostly prices and percentages: "$599" must not read as 5599.
_NUMBER_MARK_FRACTION = 0.3
_CURRENCY_MARKS = "$€£"
_NUMBER_TRAILING_MARKS = "%"


@functools.lru_cache(maxsize=1)
def dictionary_words() -> Tuple[str, ...]:
    """The English word list (web2), sorted so that a seed gives the same words in every
    process; also the lexicon decoder's built-in lexicon."""
    from english_words import get_english_words_set

    return tuple(sorted(get_english_words_set(["web2"], lower=True, alpha=True)))


@functools.lru_cache(maxsize=1)
def rendering_vocabulary() -> Tuple[str, ...]:
    """web2 plus the inflected forms of `wordsegment`'s word list, sorted."""
    from wordsegment import Segmenter

    with open(Segmenter.WORDS_FILENAME, encoding="utf-8") as handle:
        inflected = {word for word in handle.read().split() if word.isalpha()}
    return tuple(sorted(inflected.union(dictionary_words())))


@functools.lru_cache(maxsize=1)
def web_counts() -> Dict[str, int]:
    """How often each word occurs in Google's trillion-word web corpus (the unigram counts
    `wordsegment` ships: its 333k most common tokens, web junk included; only the ones in
    the vocabulary are ever drawn)."""
    from wordsegment import Segmenter

    return {word: int(count) for word, count in Segmenter.parse(Segmenter.UNIGRAMS_FILENAME).items()}


def read_word_list(path: str) -> List[str]:
    """The entries of a word list: one word or phrase a line, read as every text file is
    (tf_crnn/text_files.py), runs of white space inside a phrase made one space, blank
    lines skipped.

    Raises `DataError` naming the file, or the line that is not UTF-8.
    """
    entries = [" ".join(line.split()) for line in read_lines(path, "word list")]
    entries = [entry for entry in entries if entry]
    if not entries:
        raise DataError(f"{path}: the word list has no entry (one word or phrase a line)")
    return entries


def length_prior(lengths: List[int]) -> np.ndarray:
    """Probabilities of word lengths: a gamma-like bump peaking at 4-5 characters."""
    lengths = np.asarray(lengths, np.float64)
    weights = lengths**2 * np.exp(-lengths / 2.2)
    return weights / weights.sum()


class WordSampler:
    """Draws labels whose characters all belong to `charset`.

    `case="lower"` draws lower-case labels (upper case when the charset has no lower
    case); `case="mixed"` draws lower, Title, UPPER and random-case labels and needs a
    charset with both cases; `case="as_written"` keeps the case of `words`.
    `digit_fraction` and `random_fraction` are the shares of digit strings and of uniform
    random charset strings; the rest are dictionary words, or entries of `words` (a user's
    word list, already limited to the charset and lengths) when it is given.
    """

    def __init__(
        self,
        charset: str,
        rng: np.random.Generator,
        min_len: int = 1,
        max_len: int = 20,
        case: str = "lower",
        digit_fraction: float = 0.1,
        random_fraction: float = 0.05,
        words: Optional[Sequence[str]] = None,
    ):
        _check_arguments(charset, min_len, max_len, case, digit_fraction, random_fraction)
        self.charset = "".join(sorted(set(charset)))
        self.rng = rng
        self.min_len, self.max_len = min_len, max_len
        self.case = case
        self.digits = "".join(c for c in self.charset if c in string.digits)
        self.symbols = "".join(c for c in self.charset if not c.isspace())
        marks = [c for c in self.symbols if not c.isalnum()]
        self.punctuation = "".join(c for c in marks if c in _WORD_PUNCTUATION) or "".join(marks)
        self.trailing_marks = "".join(c for c in _TRAILING_MARKS if c not in self.charset)
        self.leading_marks = "".join(c for c in _LEADING_MARKS if c not in self.charset)
        self.currency_marks = "".join(c for c in _CURRENCY_MARKS if c not in self.charset)
        self.number_trailing_marks = "".join(c for c in _NUMBER_TRAILING_MARKS if c not in self.charset)
        self.case_sensitive = any(c != c.swapcase() and c.swapcase() in self.charset for c in self.charset)
        self.user_words = list(words or ())
        if self.user_words:
            self.buckets, self.common_words, self.common_cdf = {}, [], []
        else:
            self.buckets = _words_by_length(self.charset, min_len, max_len)
            self.common_words, self.common_cdf = _common_words(self.charset, min_len, max_len)
        self.word_lengths = sorted(self.buckets)
        self.word_length_cdf = _cdf(length_prior(self.word_lengths)) if self.buckets else None
        self.string_lengths = list(range(min_len, max_len + 1))
        self.string_length_cdf = _cdf(length_prior(self.string_lengths))
        self.kind_cdf = _cdf(self._kind_probabilities(digit_fraction, random_fraction))

    def sample(self) -> str:
        """One label."""
        kind = _draw(self.rng, self.kind_cdf)
        if kind == 0:
            return self._dictionary_word()
        if kind == 1:
            return self._random_string(self.digits)
        return self._random_string(self.symbols)

    def display_form(self, label: str) -> str:
        """The text to draw for `label`: the label itself, or another case of it when the
        charset has no case distinction (see `_CASELESS_DISPLAY_STYLE_P`), now and then
        with a punctuation mark the charset lacks beside it (see `_UNLABELLED_MARK_FRACTION`)."""
        text = label
        if not self.case_sensitive:
            style = _CASE_STYLES[_draw(self.rng, _CASELESS_DISPLAY_STYLE_CDF)]
            text = _apply_case(label, style, self.rng)
        return self._maybe_add_unlabelled_mark(text)

    def _maybe_add_unlabelled_mark(self, text: str) -> str:
        """Adds a mark outside the charset after (mostly) or before `text`, or quotes; a
        currency sign before a number, or a percent sign after it."""
        if text.isdigit() and self.rng.random() < _NUMBER_MARK_FRACTION:
            if self.currency_marks and (self.rng.random() < 0.75 or not self.number_trailing_marks):
                return self.currency_marks[self.rng.integers(len(self.currency_marks))] + text
            if self.number_trailing_marks:
                return text + self.number_trailing_marks[self.rng.integers(len(self.number_trailing_marks))]
        if self.rng.random() >= _UNLABELLED_MARK_FRACTION:
            return text
        where = self.rng.random()
        if where < 0.6 and self.trailing_marks:
            return text + self.trailing_marks[self.rng.integers(len(self.trailing_marks))]
        if where < 0.85 and self.leading_marks:
            return self.leading_marks[self.rng.integers(len(self.leading_marks))] + text
        if '"' not in self.charset:
            return f'"{text}"'
        return text

    def _kind_probabilities(self, digit_fraction: float, random_fraction: float) -> np.ndarray:
        """Shares of word / digit / random samples, dropping kinds the charset cannot make."""
        shares = np.array(
            [
                (1.0 - digit_fraction - random_fraction) if self.buckets or self.user_words else 0.0,
                digit_fraction if self.digits else 0.0,
                random_fraction,
            ]
        )
        if shares.sum() == 0:
            shares[2] = 1.0
        return shares / shares.sum()

    def _dictionary_word(self) -> str:
        if self.user_words:
            return self._fit_case(self.user_words[self.rng.integers(len(self.user_words))])
        if self.common_words and self.rng.random() < _COMMON_WORD_SHARE:
            word = self.common_words[_draw(self.rng, self.common_cdf)]
        else:
            length = self.word_lengths[_draw(self.rng, self.word_length_cdf)]
            bucket = self.buckets[length]
            word = bucket[self.rng.integers(len(bucket))]
        return self._maybe_punctuate(self._fit_case(word))

    def _random_string(self, alphabet: str) -> str:
        length = self.string_lengths[_draw(self.rng, self.string_length_cdf)]
        text = "".join(alphabet[i] for i in self.rng.integers(len(alphabet), size=length))
        return self._fit_case(text)

    def _fit_case(self, text: str) -> str:
        """Applies the label case; a character the charset lacks in that case keeps (or,
        for a dictionary word's letter, flips) its original case, which the charset has."""
        if self.case == "as_written":
            return text
        style = "lower"
        if self.case == "mixed":
            style = _CASE_STYLES[_draw(self.rng, _MIXED_LABEL_STYLE_CDF)]
        styled = _apply_case(text, style, self.rng)
        return "".join(
            new if new in self.charset else old if old in self.charset else old.swapcase()
            for old, new in zip(text, styled)
        )

    def _maybe_punctuate(self, word: str) -> str:
        """Sometimes adds a punctuation mark of the charset, as in "it's", "end." or "(a"."""
        if not self.punctuation or len(word) >= self.max_len or self.rng.random() >= _PUNCTUATION_FRACTION:
            return word
        mark = self.punctuation[self.rng.integers(len(self.punctuation))]
        return word + mark if self.rng.random() < 0.7 else mark + word


def _cdf(p) -> List[float]:
    """The normalised cumulative sum that `Generator.choice(n, p=p)` builds on every call,
    built once: drawing a label made thousands of those calls per second."""
    cdf = np.asarray(p, dtype=np.float64).cumsum()
    cdf /= cdf[-1]
    return cdf.tolist()


def _draw(rng: np.random.Generator, cdf: List[float]) -> int:
    """An index drawn with the probabilities behind `cdf`: what `rng.choice(len(cdf), p=p)`
    returns, from the same one uniform number, so a seed gives the labels it always gave."""
    return bisect.bisect_right(cdf, rng.random())


_MIXED_LABEL_STYLE_CDF = _cdf(_MIXED_LABEL_STYLE_P)
_CASELESS_DISPLAY_STYLE_CDF = _cdf(_CASELESS_DISPLAY_STYLE_P)


def has_both_cases(charset: str) -> bool:
    """Whether some letter of `charset` is in it in both cases: what case 'mixed' needs."""
    return any(c.islower() and c.upper() in charset for c in charset)


def _check_arguments(charset, min_len, max_len, case, digit_fraction, random_fraction):
    if not charset.strip():
        raise ConfigError("the charset has no character other than white space")
    if not 1 <= min_len <= max_len:
        raise ConfigError(f"need 1 <= min_length <= max_length, got {min_len} and {max_len}")
    if case not in CASES:
        raise ConfigError(f"case must be one of {', '.join(CASES)}, got {case!r}")
    if case == "mixed" and not has_both_cases(charset):
        raise ConfigError("case 'mixed' needs a charset with both lower- and upper-case letters")
    if digit_fraction < 0 or random_fraction < 0 or digit_fraction + random_fraction > 1:
        raise ConfigError("digit_fraction and random_fraction must be >= 0 and add up to at most 1")


@functools.lru_cache(maxsize=8)
def _words_by_length(charset: str, min_len: int, max_len: int) -> Dict[int, List[str]]:
    """The vocabulary words the charset can spell in some case, by length; kept per process
    because filtering the 337k words takes about a second and every shard needs them."""
    buckets: Dict[int, List[str]] = {}
    for word in rendering_vocabulary():
        if _spells(charset, word, min_len, max_len):
            buckets.setdefault(len(word), []).append(word)
    return buckets


@functools.lru_cache(maxsize=8)
def _common_words(charset: str, min_len: int, max_len: int) -> Tuple[List[str], List[float]]:
    """The vocabulary words the charset can spell that have a web count, most common
    first, and the cumulative distribution of drawing them by count ** exponent."""
    vocabulary = set(rendering_vocabulary())
    counted = sorted(
        ((count, word) for word, count in web_counts().items() if word in vocabulary and _spells(charset, word, min_len, max_len)),
        reverse=True,
    )
    if not counted:
        return [], []
    weights = np.array([count for count, _ in counted], np.float64) ** _FREQUENCY_EXPONENT
    return [word for _, word in counted], _cdf(weights)


def _spells(charset: str, word: str, min_len: int, max_len: int) -> bool:
    """Whether `word` has an allowed length and every letter in the charset in some case."""
    return min_len <= len(word) <= max_len and all(c in charset or c.upper() in charset for c in word)


def _apply_case(text: str, style: str, rng: np.random.Generator) -> str:
    """`text` in a case style, character by character so that the length never changes."""
    if style == "upper":
        uppers = [True] * len(text)
    elif style == "title":
        uppers = [i == 0 for i in range(len(text))]
    elif style == "random":
        uppers = list(rng.random(len(text)) < 0.5)
    else:
        uppers = [False] * len(text)
    return "".join(_char_case(c, upper) for c, upper in zip(text, uppers))


def _char_case(char: str, upper: bool) -> str:
    """One character in a case; kept as it is when that case is not a single character (ß)."""
    changed = char.upper() if upper else char.lower()
    return changed if len(changed) == 1 else char
