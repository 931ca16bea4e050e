"""Several training and validation sources: weights honoured (counted in what a run draws,
before and after a resume), each source's own label handling, each validation source
reported on its own and the best export picked on a named one, and one clear error for a
bad weight or an empty source."""

import glob
import json
import os

import numpy as np
import pytest

from conftest import LOWER_ALNUM, assert_clean_error, run_module, write_config, write_list_dataset

WORDS_A = ["cat", "dog", "sun", "tree"]
WORDS_B = ["Moon", "FISH", "zoo", "bird"]  # upper case: read only where the source lower-cases


def _shards(root, prefix, words, count, seed):
    from tf_crnn.cli import convert as convert_cli
    from tf_crnn.data import convert

    list_file = write_list_dataset(str(root / prefix / "images"), words, count, seed=seed)
    convert.convert(convert_cli.parse_args([list_file, "--output_dir", str(root / "shards"), "--prefix", prefix,
                                        "--val_ratio", "0.25", "--workers", "1", "--examples_per_shard", "40"]))
    return str(root / "shards" / f"{prefix}-train-*.tfrecord"), str(root / "shards" / f"{prefix}-val-*.tfrecord")


@pytest.fixture(scope="module")
def two_sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    (root / "alphabet.txt").write_text("".join(c + "\n" for c in LOWER_ALNUM), encoding="utf-8")
    return root, _shards(root, "a", WORDS_A, 120, 1), _shards(root, "b", WORDS_B, 120, 2)


def _fields(root, a, b, **overrides):
    fields = dict(
        train_sources=[{"name": "plain", "files": [a[0]], "weight": 3.0},
                       {"name": "shouted", "files": [b[0]], "weight": 1.0, "lowercase_labels": True}],
        eval_sources=[{"name": "plain_val", "files": [a[1]]},
                      {"name": "shouted_val", "files": [b[1]], "lowercase_labels": True}],
        best_eval_source="shouted_val",
        model_dir=str(root / "model"), alphabet_file=str(root / "alphabet.txt"),
        conv_channels=[8, 16, 16, 16, 16, 16, 16], lstm_units=[16], batch_size=16, train_steps=30,
        save_checkpoints_steps=30, log_step_count_steps=10, bucket_boundaries=[], shuffle_buffer=100,
        augmentation={"enabled": False}, seed=5)
    fields.update(overrides)
    return fields


def _load(root, fields):
    from tf_crnn.config import load_config

    return load_config(write_config(root / f"p{abs(hash(json.dumps(fields, sort_keys=True)))}.json", **fields))


def _training_batches(config, count):
    from tf_crnn.data.input import make_input_fn
    from tf_crnn.training import expanded_sources

    sources = [(source, files) for source, files, _ in expanded_sources(config, "train")]
    return list(make_input_fn(config, sources, training=True)().take(count).as_numpy_iterator())


def test_training_draws_each_source_in_proportion_to_its_weight(two_sources):
    root, a, b = two_sources
    for weights, expected in (((3.0, 1.0), 0.75), ((1.0, 4.0), 0.2)):
        fields = _fields(root, a, b)
        for source, weight in zip(fields["train_sources"], weights):
            source["weight"] = weight
        batches = _training_batches(_load(root, fields), 60)  # 960 examples; the sources hold 90 each
        drawn = np.concatenate([features["source"] for features, _ in batches])
        share = float(np.mean(drawn == 0))
        # Binomial spread of 960 draws: about 0.014; 0.05 is more than three of it.
        assert abs(share - expected) < 0.05, (weights, share)
        assert set(drawn.tolist()) == {0, 1}


def _words_by_source(config, batches=20):
    from tf_crnn.alphabet import for_config

    alphabet = for_config(config)
    words = {0: set(), 1: set()}
    for features, labels in _training_batches(config, batches):
        for source, ids in zip(features["source"], labels["ids"]):
            words[int(source)].add(alphabet.decode([i for i in ids if i >= 0]))
    return words


def test_each_source_handles_its_labels_its_own_way(two_sources):
    """The second source lower-cases its labels, so all its words reach training. Not
    lower-cased, under `skip`, only its words without upper case do, while the first
    source, all lower case, is read whole either way."""
    root, a, b = two_sources
    assert _words_by_source(_load(root, _fields(root, a, b))) == {0: set(WORDS_A), 1: {w.lower() for w in WORDS_B}}
    fields = _fields(root, a, b)
    fields["train_sources"][1].update(lowercase_labels=False, unknown_label_policy="skip")
    assert _words_by_source(_load(root, fields)) == {0: set(WORDS_A), 1: {"zoo", "bird"}}
    # `strip` drops the units outside the alphabet; a label left empty ('FISH') is skipped.
    fields["train_sources"][1].update(unknown_label_policy="strip")
    assert _words_by_source(_load(root, fields)) == {0: set(WORDS_A), 1: {"oon", "zoo", "bird"}}


def _source_shares(model_dir):
    """{source name: [share at each summarized step]} from the training event files."""
    import tensorflow as tf

    shares = {}
    for path in sorted(glob.glob(os.path.join(model_dir, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag.startswith("source_share/"):
                    shares.setdefault(value.tag.split("/", 1)[1], []).append(
                        (event.step, float(tf.make_ndarray(value.tensor)) if value.HasField("tensor")
                         else value.simple_value))
    return shares


@pytest.mark.slow
def test_a_run_reports_each_source_and_a_resume_keeps_the_mix(two_sources, tmp_path):
    root, a, b = two_sources
    fields = _fields(root, a, b, model_dir=str(tmp_path / "model"), train_steps=40, save_checkpoints_steps=20,
                     log_step_count_steps=1)
    config = write_config(tmp_path / "p.json", **fields)
    first = run_module("tf_crnn.train", config, "--train_steps=20", check=True, timeout=600)
    assert "word accuracy by source: plain_val " in first.stdout and "shouted_val " in first.stdout, first.stdout
    # Training runs oneDNN's kernels unless the environment chose (tf_crnn/kernels.py), and says which.
    chosen = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    assert ("CPU kernels: TensorFlow's own" if chosen == "0" else "CPU kernels: oneDNN's") in first.stdout
    second = run_module("tf_crnn.train", config, check=True, timeout=600)
    assert "step 40/40" in second.stdout, second.stdout
    shares = _source_shares(tmp_path / "model")
    assert set(shares) == {"plain", "shouted"}
    plain = dict(shares["plain"])
    before = [share for step, share in plain.items() if step <= 20]
    after = [share for step, share in plain.items() if step > 20]
    assert len(before) >= 15 and len(after) >= 15, plain
    # 3:1 in both halves (each half 300+ draws; binomial spread about 0.025).
    assert abs(np.mean(before) - 0.75) < 0.1 and abs(np.mean(after) - 0.75) < 0.1, (before, after)
    with open(tmp_path / "model" / "export" / "best" / "best.json", encoding="utf-8") as handle:
        assert "word_accuracy/shouted_val" in json.load(handle)
    # Every evaluation's figures, each source's own among them, one JSON line each.
    with open(tmp_path / "model" / "evaluations.jsonl", encoding="utf-8") as handle:
        evaluations = [json.loads(line) for line in handle]
    assert [row["global_step"] for row in evaluations] == [20, 40]
    assert all({"word_accuracy/plain_val", "word_accuracy/shouted_val", "cer/plain_val"} <= set(row)
               for row in evaluations), evaluations


@pytest.mark.parametrize("change, message", [
    (lambda f: f["train_sources"][0].update(weight=0), "'weight' must be a finite number greater than 0, got 0"),
    (lambda f: f["train_sources"][1].update(weight=-2), "train_sources[1]' (shouted): 'weight' must be"),
    (lambda f: f["train_sources"][1].update(weight="heavy"), "field 'weight' must be a number"),
    (lambda f: f["train_sources"][1].update(files=[]), "train_sources[1]' (shouted): 'files' lists no shards"),
    (lambda f: f["train_sources"][1].update(name="real crops"), "'name' must be letters, digits"),
    (lambda f: f["train_sources"][1].update(name="plain"), "the name 'plain' is used twice"),
    (lambda f: f.update(best_eval_source="nope"), "'nope' is not the name of one of the eval_sources"),
    (lambda f: f.update(train_files=["x-*.tfrecord"]), "give field 'train_files' or field 'train_sources', not both"),
])
def test_bad_sources_are_named(two_sources, tmp_path, change, message):
    root, a, b = two_sources
    fields = _fields(root, a, b, model_dir=str(tmp_path / "model"))
    change(fields)
    assert_clean_error(run_module("tf_crnn.train", write_config(tmp_path / "p.json", **fields)), message)
    assert not os.path.exists(tmp_path / "model" / "checkpoint")


def test_a_source_of_no_shards_or_no_examples_is_named(two_sources, tmp_path):
    root, a, b = two_sources
    fields = _fields(root, a, b, model_dir=str(tmp_path / "model"))
    fields["train_sources"][1]["files"] = [str(tmp_path / "missing-*.tfrecord")]
    result = run_module("tf_crnn.train", write_config(tmp_path / "p.json", **fields))
    assert_clean_error(result, "train_sources[1] (shouted)", "no file matches")
    empty = tmp_path / "empty-00000-of-00001.tfrecord"
    empty.write_bytes(b"")
    fields["train_sources"][1]["files"] = [str(empty)]
    result = run_module("tf_crnn.train", write_config(tmp_path / "p.json", **fields))
    assert_clean_error(result, "train_sources[1] (shouted)", "no examples")
