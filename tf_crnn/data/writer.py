"""Writes shards so that a reader never sees a half-written one.

A shard is written under a temporary name and renamed to its final name
(`NAME-00003-of-00012.tfrecord`) only once it is complete and flushed. Every writer in
the project (converters, generators, the renderer) goes through `write_shard`, and every
shard set is planned up front with `shard_paths`, so the shard count in the names is
known before the first byte is written and each shard can be written by its own worker.
Writing needs no TensorFlow (tf_crnn/data/tfrecord.py); counting records reads with it.
"""

import os
import re
from typing import Iterable, List

from tf_crnn.data.tfrecord import write_record

SHARD_SUFFIX = ".tfrecord"
_SHARD_RE = re.compile(r"^(?P<prefix>.+)-(?P<index>\d{5})-of-(?P<total>\d{5})\.tfrecord$")


def shard_name(prefix: str, index: int, total: int) -> str:
    """The file name of shard `index` of `total` (0-based index)."""
    return f"{prefix}-{index:05d}-of-{total:05d}{SHARD_SUFFIX}"


def shard_paths(output_dir: str, prefix: str, total: int) -> List[str]:
    """All the paths of a planned set of `total` shards."""
    return [os.path.join(output_dir, shard_name(prefix, i, total)) for i in range(total)]


def shard_pattern(output_dir: str, prefix: str) -> str:
    """A glob that matches the complete shards of a set and never a temporary file."""
    return os.path.join(output_dir, f"{prefix}-?????-of-?????{SHARD_SUFFIX}")


def is_shard_name(name: str) -> bool:
    return _SHARD_RE.match(os.path.basename(name)) is not None


def write_shard(path: str, records: Iterable[bytes]) -> int:
    """Writes serialized examples to `path` atomically and returns how many were written.

    The records go to `path + '.tmp-<pid>'`, which is renamed to `path` after the writer
    is closed; a killed process leaves only the temporary file, which no glob of
    `shard_pattern` matches and the next run overwrites.
    """
    tmp_path = f"{path}.tmp-{os.getpid()}"
    count = 0
    try:
        with open(tmp_path, "wb", buffering=1 << 20) as handle:
            for record in records:
                write_record(handle, record)
                count += 1
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise
    return count


def count_records(path: str) -> int:
    """Counts the records of one shard (reads it through)."""
    import tensorflow as tf

    return sum(1 for _ in tf.data.TFRecordDataset(path))
