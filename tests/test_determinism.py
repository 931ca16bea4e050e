"""`seed` fixes the starting point and `deterministic` the whole run: two runs, one result."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import run_module, tiny_model_fields, write_config


def _train_and_read(tiny_shards, model_dir, steps=25, **overrides):
    fields = tiny_model_fields(tiny_shards, model_dir=str(model_dir), train_steps=steps, save_checkpoints_steps=steps,
                               bucket_boundaries=[64, 96], **overrides)
    run_module("tf_crnn.train", write_config(model_dir.parent / f"{model_dir.name}.json", **fields), check=True)
    reader = tf.train.load_checkpoint(str(model_dir))
    names = sorted(name for name in reader.get_variable_to_shape_map() if name.startswith("crnn/"))
    return {name: reader.get_tensor(name) for name in names}


@pytest.fixture(scope="module")
def runs(tiny_shards, tmp_path_factory):
    """Three 25-step runs: two alike with the default seed, one with seed 7."""
    root = tmp_path_factory.mktemp("determinism")
    return {"first": _train_and_read(tiny_shards, root / "first"),
            "second": _train_and_read(tiny_shards, root / "second"),
            "seed_7": _train_and_read(tiny_shards, root / "seed_7", seed=7)}


def test_two_deterministic_runs_end_with_the_same_weights(runs):
    first, second = runs["first"], runs["second"]
    assert first.keys() == second.keys() and len(first) > 10
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


def test_the_seed_chooses_the_starting_weights(runs):
    """Same data, same steps, same determinism: only the seed differs, and no kernel ends alike."""
    same, other = runs["first"], runs["seed_7"]
    kernels = [name for name in same if name.endswith("kernel")]
    assert kernels and all(not np.allclose(same[name], other[name]) for name in kernels)
