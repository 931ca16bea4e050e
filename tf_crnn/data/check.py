"""What a training run is about to read, checked before its first step.

An input pipeline that drops every example does not fail: it waits for the next one,
forever. So before training starts, each set (train_files, eval_files, each of the
train_sources and eval_sources with its own label handling) is checked:

- every label is counted against the alphabet, inside TensorFlow (only offending rows
  reach Python): an empty set stops the run, so does any label with units outside the
  alphabet under the `error` policy, and under `skip` the share of labels dropped is
  printed and stops the run above `max_skipped_label_share`;
- a sample of records (at most `DECODE_SAMPLE`, spread over the shards) goes through the
  training parser: when none of them decodes, the run stops naming the first images.

The label count is kept in the cache folder (tf_crnn/cache.py), keyed by the shards' names,
sizes and times and by the alphabet, so neither a resumed run nor a new run on the same
shards scans 9 million labels again.
"""

import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import List

from tf_crnn.cache import cache_folder
from tf_crnn.errors import DataError

_CACHE = "label-counts.json"
_CACHE_ENTRIES = 64  # sets of shards remembered (a run has a few; older entries are dropped)
_SHOWN = 5
DECODE_SAMPLE = 256


@dataclass
class LabelCount:
    """The labels of one set of shards: how many, and how many training would drop."""

    records: int = 0
    empty: int = 0  # no unit at all: always dropped
    unknown: int = 0  # units outside the alphabet: an error, skipped, or read as the unknown token
    first_unknown: List[list] = field(default_factory=list)  # [shard, image path, label, units]


def _fingerprint(config, files) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([config.alphabet, config.lowercase_labels], ensure_ascii=False).encode())
    for path in files:
        stat = os.stat(path)
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def count_labels(config, files, limit: int = _SHOWN) -> LabelCount:
    """Counts the records, empty labels and labels with units outside the alphabet of `files`."""
    import tensorflow as tf

    from tf_crnn.alphabet import Alphabet
    from tf_crnn.data import schema

    alphabet = Alphabet(config.alphabet)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def parse(records):
        parsed = schema.parse_examples(records, keys=(schema.LABEL, schema.PATH))
        labels = parsed[schema.LABEL]
        if config.lowercase_labels:
            labels = tf.strings.lower(labels, encoding="utf-8")
        ids = alphabet.tf_encode(labels)
        bad = tf.reduce_any(ids < 0, axis=1)
        empty = tf.reduce_sum(tf.cast(tf.equal(tf.strings.length(labels), 0), tf.int32))
        return tf.size(labels), empty, tf.boolean_mask(parsed[schema.PATH], bad), tf.boolean_mask(labels, bad)

    count = LabelCount()
    for path in files:  # one shard at a time, so a broken one is named
        try:
            for records in tf.data.TFRecordDataset(path).batch(4096):
                size, empty, paths, labels = parse(records)
                count.records += int(size)
                count.empty += int(empty)
                count.unknown += int(labels.shape[0])
                for image_path, label in zip(paths.numpy(), labels.numpy()):
                    if len(count.first_unknown) < limit:
                        text = label.decode("utf-8")
                        count.first_unknown.append([path, image_path.decode("utf-8"), text,
                                                    "".join(sorted(set(alphabet.unknown_units(text))))])
        except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as err:
            raise schema.unreadable_shard(path, err, count.records) from None
    return count


def _read_cache(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            cached = json.load(handle)
        return cached if isinstance(cached, dict) else {}
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: counted again and rewritten


def cached_label_count(config, files) -> LabelCount:
    """`count_labels`, read from the cache folder when the shards and alphabet are unchanged."""
    folder = cache_folder()
    if folder is None:
        return count_labels(config, files)
    cache = os.path.join(folder, _CACHE)
    fingerprint = _fingerprint(config, files)
    cached = _read_cache(cache)
    if isinstance(cached.get(fingerprint), dict):
        try:
            return LabelCount(**cached[fingerprint])
        except TypeError:
            pass  # written by another version: counted again
    count = count_labels(config, files)
    cached = _read_cache(cache)  # another run may have added its sets meanwhile
    cached.pop(fingerprint, None)
    cached[fingerprint] = asdict(count)
    cached = dict(list(cached.items())[-_CACHE_ENTRIES:])
    try:
        os.makedirs(folder, exist_ok=True)
        staged = f"{cache}.{os.getpid()}.tmp"  # runs at the same time each stage their own
        with open(staged, "w", encoding="utf-8") as handle:
            json.dump(cached, handle, ensure_ascii=False)
        os.replace(staged, cache)
    except OSError:
        pass  # a read-only cache folder only costs the next run a count
    return count


def _shown(files: List[str], most: int = 3) -> str:
    return ", ".join(files[:most]) + (f" and {len(files) - most} more" if len(files) > most else "")


def check_label_count(config, what: str, files: List[str], count: LabelCount) -> None:
    """Applies the unknown-label policy to one set's count; prints what will be dropped."""
    if not count.records:
        raise DataError(f"field '{what}': no examples: every shard is empty ({_shown(files)})")
    first = "\n".join(f"  {shard}: {path}: {label!r} has {units!r}"
                      for shard, path, label, units in count.first_unknown)
    if count.unknown and config.unknown_label_policy == "error":
        raise DataError(
            f"{count.unknown} label(s) have characters outside the alphabet ({config.alphabet_file}); the first:\n"
            f"{first}\nAdd the units to the alphabet, or set unknown_label_policy to 'skip', 'strip' or 'unknown'."
        )
    skipped = count.unknown if config.unknown_label_policy == "skip" else 0
    if count.unknown and config.unknown_label_policy == "strip":
        print(f"{what}: {count.unknown} of {count.records} labels lose their characters outside the alphabet "
              "(unknown_label_policy 'strip'; an example left with no character is skipped)", file=sys.stderr)
    dropped = count.empty + skipped
    if dropped == count.records:
        raise DataError(f"field '{what}': no example survives: of {count.records} labels, {skipped} have characters "
                        f"outside the alphabet (unknown_label_policy 'skip') and {count.empty} are empty"
                        + (f"; the first:\n{first}" if first else ""))
    share = dropped / count.records
    if dropped:
        print(f"{what}: {dropped} of {count.records} examples ({share:.1%}) will be skipped: {skipped} with "
              f"characters outside the alphabet, {count.empty} with an empty label", file=sys.stderr)
    if share > config.max_skipped_label_share:
        raise DataError(
            f"field '{what}': {dropped} of {count.records} examples ({share:.1%}) would be skipped, more than "
            f"max_skipped_label_share ({config.max_skipped_label_share:g}); the first:\n{first}\n"
            "Add the units to the alphabet, or raise max_skipped_label_share."
        )


def check_images_decode(config, what: str, files: List[str], sample: int = DECODE_SAMPLE) -> None:
    """Runs up to `sample` records, spread over the shards, through the training parser.

    When none of them decodes the run stops with the first images and why; when some do
    not, their share is printed (training skips such examples).
    """
    import tensorflow as tf

    from tf_crnn.data import schema
    from tf_crnn.data.input import example_parser

    shards = files[::max(1, len(files) // 32)][:32]
    per_shard = max(1, sample // len(shards))
    # The usual case, every image decodes, in one pass of tf.data; only when some fail are
    # the records run one at a time below, to name them.
    sampled = tf.data.Dataset.from_tensor_slices(shards).flat_map(
        lambda path: tf.data.TFRecordDataset(path).take(per_shard))
    counted = sampled.reduce(0, lambda count, _: count + 1)
    decoded = sampled.map(example_parser(config, training=False)).ignore_errors().reduce(0, lambda n, _: n + 1)
    if int(decoded) == int(counted):
        return
    parse = tf.function(example_parser(config, training=False))  # traced once, not per record
    tried, failures = 0, []
    for path in shards:
        for record in tf.data.TFRecordDataset(path).take(per_shard):
            tried += 1
            try:
                parse(record)
            except tf.errors.OpError as err:
                source = schema.parse_examples(record, keys=(schema.PATH,))[schema.PATH].numpy().decode("utf-8")
                failures.append(f"{path}: {source or 'record'}: {err.message.splitlines()[0]}")
    if not failures:
        return
    listed = "\n".join(f"  {line}" for line in failures[:_SHOWN])
    if len(failures) == tried:
        raise DataError(f"field '{what}': no example survives: none of the {tried} images sampled from "
                        f"{_shown(files)} decodes; the first:\n{listed}")
    print(f"{what}: {len(failures)} of {tried} sampled images do not decode (training skips them); the first:\n"
          f"{listed}", file=sys.stderr)


def check_training_data(config, sets) -> None:
    """Checks each (field name, files) of `sets`; raises DataError when training could not run on it."""
    for what, files in sets:
        check_label_count(config, what, files, cached_label_count(config, files))
        check_images_decode(config, what, files)
