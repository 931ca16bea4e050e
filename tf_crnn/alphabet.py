"""The alphabet: the one place that maps text to class ids and back.

A unit is what the network predicts in one step: usually one character, but it may be
several (a ligature, a digraph, a grapheme cluster). Labels are split into units by
longest match, so `ch` wins over `c` when both are units. The CTC blank is the last
class (`blank_id == len(units)`), which is TensorFlow's convention for `ctc_loss`.

`python -m tf_crnn.data.make_alphabet OUT.txt LABEL_FILES...` derives an alphabet file
from the labels of annotation files or TFRecord shards.
"""

import os
import re
from typing import Iterable, List, Optional, Sequence

from tf_crnn.errors import DataError
from tf_crnn.text_files import read_lines

# Separates units inside the TensorFlow tokenizer; it can therefore not be a unit.
_SEPARATOR = "\x1f"


class Alphabet:
    """An ordered list of units, with lookups in Python and in TensorFlow graphs."""

    def __init__(self, units: Sequence[str], unknown_token: Optional[str] = None):
        units = list(units)
        if unknown_token is not None and unknown_token not in units:
            units.append(unknown_token)
        for i, unit in enumerate(units):
            if not unit:
                raise DataError(f"alphabet unit {i + 1} is empty")
            if _SEPARATOR in unit or "\n" in unit:
                raise DataError(f"alphabet unit {i + 1} contains a control character that cannot be a unit")
        seen = {}
        for i, unit in enumerate(units):
            if unit in seen:
                raise DataError(f"alphabet unit {unit!r} appears twice (units {seen[unit] + 1} and {i + 1})")
            seen[unit] = i
        self.units = units
        self.unknown_token = unknown_token
        self._ids = seen
        self._multi = sorted((u for u in units if len(u) > 1), key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(u) for u in self._multi) + "|." if self._multi else ".", re.S)

    # -- files -------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str, unknown_token: Optional[str] = None) -> "Alphabet":
        """Reads one unit a line, as every text file is read (tf_crnn/text_files.py: UTF-8, a
        byte-order mark dropped). Blank lines are refused: a space unit is written as ' '."""
        lines = read_lines(path, "alphabet file")
        units = []
        for number, unit in enumerate(lines, start=1):
            if unit == "":
                raise DataError(f"{path}:{number}: empty line (write a space unit as a line holding one space)")
            if unit in units:
                raise DataError(f"{path}:{number}: unit {unit!r} already on line {units.index(unit) + 1}")
            units.append(unit)
        if not units:
            raise DataError(f"{path}: the alphabet file is empty")
        return cls(units, unknown_token)

    def to_file(self, path: str) -> None:
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write("".join(unit + "\n" for unit in self.units))
        os.replace(tmp, path)

    @classmethod
    def from_labels(cls, labels: Iterable[str]) -> "Alphabet":
        """The sorted set of characters used by `labels`."""
        chars = set()
        for label in labels:
            chars.update(label)
        chars.discard("\n")
        if not chars:
            raise DataError("no characters found in the labels")
        return cls(sorted(chars))

    # -- Python lookups ---------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        """Units plus the CTC blank."""
        return len(self.units) + 1

    @property
    def blank_id(self) -> int:
        return len(self.units)

    def tokenize(self, text: str) -> List[str]:
        """Splits text into units by longest match; unknown characters stay single tokens."""
        return self._pattern.findall(text)

    def unknown_units(self, text: str) -> List[str]:
        return [token for token in self.tokenize(text) if token not in self._ids]

    def encode(self, text: str) -> List[int]:
        """Class ids of the units of `text`; an unknown unit maps to the unknown token or -1."""
        fallback = self._ids.get(self.unknown_token, -1)
        return [self._ids.get(token, fallback) for token in self.tokenize(text)]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of a sequence of ids; the blank and negative (padding) ids are dropped."""
        return "".join(self.units[i] for i in ids if 0 <= i < len(self.units))

    # -- TensorFlow lookups -------------------------------------------------------------------
    def tf_tokenize(self, labels):
        """Splits a batch of UTF-8 strings into a RaggedTensor of units, inside the graph."""
        import tensorflow as tf

        if not self._multi:
            return tf.strings.unicode_split(labels, "UTF-8")
        alternatives = "|".join(_re2_escape(u) for u in self._multi)
        marked = tf.strings.regex_replace(labels, f"(?s)({alternatives}|.)", "\\1" + _SEPARATOR)
        marked = tf.strings.regex_replace(marked, _SEPARATOR + "$", "")
        tokens = tf.strings.split(marked, _SEPARATOR)
        # An empty label splits into one empty token; drop it.
        return tf.ragged.boolean_mask(tokens, tf.strings.length(tokens) > 0)

    def tf_encode(self, labels):
        """Batch of strings -> RaggedTensor of int32 ids (-1 for unknown without unknown token)."""
        import tensorflow as tf

        tokens = self.tf_tokenize(labels)
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(self.units), tf.range(len(self.units), dtype=tf.int64)
            ),
            default_value=self._ids.get(self.unknown_token, -1),
        )
        return tf.cast(tf.ragged.map_flat_values(table.lookup, tokens), tf.int32)

    def tf_decode(self, ids):
        """Dense int ids [batch, time] (blank/-1 as padding) -> strings [batch], in the graph."""
        import tensorflow as tf

        return tf.strings.reduce_join(self.tf_units(ids), axis=-1)

    def tf_units(self, ids):
        """Dense int ids [batch, time] -> the units' text [batch, time] ('' for blank/-1), in the graph."""
        import tensorflow as tf

        vocabulary = tf.constant(self.units + [""])
        ids = tf.cast(ids, tf.int32)
        valid = tf.logical_and(ids >= 0, ids < len(self.units))
        return tf.gather(vocabulary, tf.where(valid, ids, len(self.units)))


def _re2_escape(text: str) -> str:
    """Escapes RE2 metacharacters (Python's re.escape also escapes characters RE2 rejects)."""
    return "".join("\\" + ch if ch in r"\.+*?()|[]{}^$" else ch for ch in text)


def for_config(config) -> Alphabet:
    """The alphabet a config trains with, including the unknown token when its policy asks."""
    unknown = config.unknown_token if config.unknown_label_policy == "unknown" else None
    return Alphabet(config.alphabet, unknown)
