"""Two conversions of one prefix into one folder at the same time (issue 34): the second is
refused at once, naming the first; never an empty set, or a mix of both inputs, with exit 0."""

import glob
import os
import subprocess
import sys
import time

from conftest import REPO, render_text
from tf_crnn.data import schema
from tf_crnn.data.prefix_lock import exclusive_prefix, lock_path
from tf_crnn.errors import DataError

PAIRS = 20


def write_input(folder, word, count):
    """`count` images of `word` with a `path label` list; returns the list's path."""
    os.makedirs(folder)
    render_text(word).save(os.path.join(folder, "word.png"))
    path = os.path.join(folder, "list.txt")
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines("word.png " + word + "\n" for _ in range(count))
    return path


def conversion(annotations, output_dir, log):
    command = [sys.executable, "-m", "tf_crnn.data.convert", annotations, "--output_dir", output_dir,
               "--prefix", "set", "--examples_per_shard", "20", "--workers", "1"]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, text=True,
                            env=dict(os.environ, PYTHONPATH=REPO))


def test_a_second_conversion_of_the_same_prefix_is_refused_and_the_set_stays_whole(tmp_path):
    # Inputs of different sizes and words, so a set with shards of both shows.
    inputs = {"alpha": (write_input(str(tmp_path / "alpha"), "alpha", 60), 60),
              "omega": (write_input(str(tmp_path / "omega"), "omega", 40), 40)}
    outcomes = set()
    for pair in range(PAIRS):
        output_dir = str(tmp_path / f"out{pair}")
        order = ["alpha", "omega"] if pair % 2 == 0 else ["omega", "alpha"]
        logs, processes = {}, {}
        for index, name in enumerate(order):
            logs[name] = open(tmp_path / f"log{pair}-{name}.txt", "w+", encoding="utf-8")
            processes[name] = conversion(inputs[name][0], output_dir, logs[name])
            if index == 0 and pair % 4 >= 2:
                time.sleep(0.3)  # the first one well started: planning or writing
        codes = {name: process.wait(timeout=300) for name, process in processes.items()}
        outputs = {}
        for name, log in logs.items():
            log.seek(0)
            outputs[name] = log.read()
            log.close()

        for name, code in codes.items():
            assert code in (0, 2), (name, code, outputs[name])
            assert "Traceback" not in outputs[name], outputs[name]
            if code == 2:
                assert "another conversion is writing this set" in outputs[name], outputs[name]
                assert "process " in outputs[name], outputs[name]
        succeeded = [name for name, code in codes.items() if code == 0]
        assert succeeded, outputs  # one of them always gets the lock
        labels = [label for path in sorted(glob.glob(os.path.join(output_dir, "set-*.tfrecord")))
                  for label in schema.read_labels(path)]
        # The set published last is whole: one input's words, all of them.
        words = set(labels)
        assert len(words) == 1 and words <= set(succeeded), (pair, codes, words)
        word = words.pop()
        assert len(labels) == inputs[word][1], (pair, codes, len(labels))
        assert not glob.glob(os.path.join(output_dir, ".staging-*")), os.listdir(output_dir)
        assert not os.path.exists(lock_path(output_dir, "set")), os.listdir(output_dir)
        outcomes.add(len(succeeded))
    assert 1 in outcomes, "no pair overlapped: the test did not test the refusal"


def test_the_lock_dies_with_its_holder(tmp_path):
    """A holder killed with -9 leaves the lock file behind but not the lock."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from tf_crnn.data.prefix_lock import exclusive_prefix\n"
         "with exclusive_prefix(sys.argv[1], 'set'):\n    print('held', flush=True); time.sleep(600)",
         str(tmp_path)], stdout=subprocess.PIPE, text=True, cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO))
    try:
        assert holder.stdout.readline().strip() == "held"
        try:
            with exclusive_prefix(str(tmp_path), "set"):
                raise AssertionError("took a lock another process holds")
        except DataError as err:
            assert f"process {holder.pid}" in str(err), str(err)
    finally:
        holder.kill()
        holder.wait()
    assert os.path.exists(lock_path(str(tmp_path), "set"))
    with exclusive_prefix(str(tmp_path), "set"):
        pass
    assert not os.path.exists(lock_path(str(tmp_path), "set"))
