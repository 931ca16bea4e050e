"""The pre-training data check keeps its label counts in the cache folder: a second run on
the same shards and alphabet reads them back instead of scanning every label again, and
anything that changes the answer (a rewritten shard, another alphabet) counts again."""

import glob
import os

from conftest import tiny_model_fields, write_config

from tf_crnn.cache import CACHE_ENV
from tf_crnn.config import load_config
from tf_crnn.data import check


def _counting(monkeypatch):
    """Wraps check.count_labels so the test sees each real scan."""
    scans, real = [], check.count_labels
    monkeypatch.setattr(check, "count_labels", lambda config, files, **kw: scans.append(1) or real(config, files, **kw))
    return scans


def test_label_counts_are_read_back_until_a_shard_or_the_alphabet_changes(tiny_shards, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(cache))
    config = load_config(write_config(tmp_path / "p.json", **tiny_model_fields(tiny_shards)))
    files = sorted(glob.glob(config.train_files[0]))
    scans = _counting(monkeypatch)

    first = check.cached_label_count(config, files)
    assert first.records == 192 and scans == [1]
    assert sorted(p.name for p in cache.iterdir()) == ["label-counts.json"]  # nothing staged left behind
    assert check.cached_label_count(config, files) == first and scans == [1]

    # Another run of the same data on another alphabet is another count.
    other = load_config(write_config(tmp_path / "p2.json", **tiny_model_fields(tiny_shards), lowercase_labels=True))
    check.cached_label_count(other, files)
    assert len(scans) == 2
    check.cached_label_count(config, files)  # both are remembered
    assert len(scans) == 2

    # A shard written again (its time changes) is counted again.
    stat = os.stat(files[0])
    os.utime(files[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert check.cached_label_count(config, files) == first and len(scans) == 3

    # A damaged cache file costs a count, then is replaced.
    (cache / "label-counts.json").write_text("{not json", encoding="utf-8")
    assert check.cached_label_count(config, files) == first and len(scans) == 4
    assert check.cached_label_count(config, files) == first and len(scans) == 4


def test_an_empty_cache_setting_keeps_nothing(tiny_shards, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, "")
    monkeypatch.chdir(tmp_path)
    config = load_config(write_config(tmp_path / "p.json", **tiny_model_fields(tiny_shards)))
    files = sorted(glob.glob(config.train_files[0]))
    scans = _counting(monkeypatch)
    check.cached_label_count(config, files)
    check.cached_label_count(config, files)
    assert len(scans) == 2 and [p.name for p in tmp_path.iterdir()] == ["p.json"]
