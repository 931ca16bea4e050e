"""Checks every label of the shards against the alphabet before training starts.

Under the `error` policy a label with a unit outside the alphabet must stop the run
with a message naming the shard and the first offending labels, not hours later as a
silently skipped example. The check runs inside TensorFlow (only offending rows reach
Python) and its result is cached in the model dir, keyed by the shards' names, sizes and
times and by the alphabet, so a resumed run does not scan 9 million labels again.
"""

import hashlib
import json
import os

from tf_crnn.errors import DataError

_CACHE = "label_check.json"
_SHOWN = 5


def _fingerprint(config, files) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([config.alphabet, config.lowercase_labels], ensure_ascii=False).encode())
    for path in files:
        stat = os.stat(path)
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def find_bad_labels(config, files, limit: int = _SHOWN):
    """[(shard, image path, label, unknown units)] for up to `limit` labels, and their total count."""
    import tensorflow as tf

    from tf_crnn.alphabet import Alphabet
    from tf_crnn.data import schema

    alphabet = Alphabet(config.alphabet)

    def parse(name, records):
        parsed = schema.parse_examples(records, keys=(schema.LABEL, schema.PATH))
        labels = parsed[schema.LABEL]
        if config.lowercase_labels:
            labels = tf.strings.lower(labels, encoding="utf-8")
        ids = alphabet.tf_encode(labels)
        bad = tf.reduce_any(ids < 0, axis=1)
        return name, tf.boolean_mask(parsed[schema.PATH], bad), tf.boolean_mask(labels, bad)

    names = tf.data.Dataset.from_tensor_slices(list(files))
    batches = names.interleave(
        lambda name: tf.data.TFRecordDataset(name).batch(4096).map(lambda records: parse(name, records)),
        cycle_length=2, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True,
    )
    found, total = [], 0
    for name, paths, labels in batches:
        total += int(labels.shape[0])
        for path, label in zip(paths.numpy(), labels.numpy()):
            if len(found) < limit:
                text = label.decode("utf-8")
                found.append((name.numpy().decode(), path.decode("utf-8"), text, sorted(set(alphabet.unknown_units(text)))))
    return found, total


def check_labels(config, files) -> None:
    """Raises DataError when any label has units outside the alphabet; caches a pass."""
    cache = os.path.join(config.model_dir, _CACHE)
    fingerprint = _fingerprint(config, files)
    if os.path.isfile(cache):
        with open(cache, encoding="utf-8") as handle:
            if json.load(handle).get("fingerprint") == fingerprint:
                return
    found, total = find_bad_labels(config, files)
    if found:
        lines = "\n".join(f"  {shard}: {path}: {label!r} has {''.join(units)!r}" for shard, path, label, units in found)
        raise DataError(
            f"{total} label(s) have characters outside the alphabet ({config.alphabet_file}); the first:\n{lines}\n"
            "Add the units to the alphabet, or set unknown_label_policy to 'skip' or 'unknown'."
        )
    os.makedirs(config.model_dir, exist_ok=True)
    with open(cache + ".tmp", "w", encoding="utf-8") as handle:
        json.dump({"fingerprint": fingerprint}, handle)
    os.replace(cache + ".tmp", cache)
