"""The GPU path, run: a tiny CRNN trained on one GPU, then with `distribute: mirrored` on that
GPU, then on the CPU for comparison; images/s of each, whether cuDNN's LSTM kernel ran, and
whether the GPU-trained models read their words.

    make setup TF=gpu && .venv/bin/python scripts/gpu_check.py [--steps 300] [--work_dir DIR]

About two to four minutes on one NVIDIA GPU with the TF=gpu set-up (issue 35). Exits 1 when
a GPU-trained model does not read (at least 90% of its training words), 2 without a GPU.
Nothing is downloaded: the words are drawn with Pillow's built-in font.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

WORDS = ["cat", "dog", "sun", "tree", "42", "bird", "fish", "moon", "7up", "zoo"]
ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def render_words(folder, count=240, seed=0):
    """`count` images of WORDS, black on white, and their `path label` list."""
    from PIL import Image, ImageDraw, ImageFont

    os.makedirs(folder, exist_ok=True)
    font = ImageFont.load_default(size=22)
    rng = random.Random(seed)
    lines = []
    for index in range(count):
        word = WORDS[index] if index < len(WORDS) else rng.choice(WORDS)
        left, _, right, _ = font.getbbox(word)
        image = Image.new("L", (right - left + 8, 32), 255)
        ImageDraw.Draw(image).text((4 - left, 16), word, font=font, fill=0, anchor="lm")
        name = f"img{index:04d}.png"
        image.save(os.path.join(folder, name))
        lines.append(f"{name} {word}\n")
    with open(os.path.join(folder, "list.txt"), "w", encoding="utf-8") as handle:
        handle.writelines(lines)
    return os.path.join(folder, "list.txt")


def tiny_config(work, name, steps, **extra):
    fields = dict(
        train_files=[os.path.join(work, "shards", "tiny-train-*.tfrecord")],
        eval_files=[os.path.join(work, "shards", "tiny-val-*.tfrecord")],
        model_dir=os.path.join(work, name), alphabet_file=os.path.join(work, "alphabet.txt"),
        conv_channels=[16, 32, 48, 48, 64, 64, 64], lstm_units=[48, 48], batch_size=16, train_steps=steps,
        save_checkpoints_steps=steps, log_step_count_steps=50, bucket_boundaries=[], learning_rate=0.003,
        learning_rate_schedule="cosine", decay_steps=steps, decay_rate=0.05, augmentation={"enabled": False},
        batch_norm_momentum=0.9, **extra)
    path = os.path.join(work, f"{name}.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(fields, handle)
    return path


def train(config_path, env=None):
    """Runs tf_crnn.train; returns (images/s of the last progress line, word accuracy)."""
    result = subprocess.run([sys.executable, "-m", "tf_crnn.train", config_path], capture_output=True, text=True,
                            cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO, **(env or {})))
    print(result.stdout, file=sys.stderr)
    if result.returncode != 0:
        sys.exit(f"training failed ({result.returncode}):\n{result.stderr[-3000:]}")
    speeds = re.findall(r"([\d.]+) images/s", result.stdout)
    accuracy = re.search(r"word_accuracy=([\d.]+)", result.stdout)
    return float(speeds[-1]) if speeds else float("nan"), float(accuracy.group(1)) if accuracy else 0.0


def cudnn_lstm_ran(config_path) -> bool:
    """One traced training step of the config's model_fn on the GPU, with right-padded
    masks as training has them: True when a CudnnRNN kernel ran (Keras falls back to its
    own loop when the conditions for cuDNN do not hold)."""
    import numpy as np
    import tensorflow as tf

    from tf_crnn.config import load_config
    from tf_crnn.model.model_fn import model_fn

    config = load_config(config_path)
    rng = np.random.default_rng(0)
    with tf.Graph().as_default():
        features = {"images": tf.constant(rng.random((8, 32, 96, 1)), tf.float32),
                    "widths": tf.constant([96, 90, 80, 72, 64, 60, 56, 48], tf.int32)}
        labels = {"ids": tf.constant(rng.integers(0, 36, (8, 4)), tf.int32), "lengths": tf.fill([8], 4)}
        spec = model_fn(features, labels, tf.estimator.ModeKeys.TRAIN, {"config": config})
        options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
        metadata = tf.compat.v1.RunMetadata()
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run(spec.train_op, options=options, run_metadata=metadata)
    names = [node.node_name + " " + node.timeline_label for device in metadata.step_stats.dev_stats
             for node in device.node_stats]
    return any("CudnnRNN" in name for name in names)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps of each GPU run")
    parser.add_argument("--cpu_steps", type=int, default=100, help="training steps of the CPU run (speed only)")
    parser.add_argument("--work_dir", help="where data and models go (default: a temporary folder)")
    args = parser.parse_args(argv)

    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        print("error: no GPU visible: this check needs an NVIDIA GPU and the TF=gpu set-up "
              "(make setup TF=gpu)", file=sys.stderr)
        return 2
    details = tf.config.experimental.get_device_details(gpus[0])
    work = args.work_dir or tempfile.mkdtemp(prefix="gpu_check-")
    list_file = render_words(os.path.join(work, "images"))
    with open(os.path.join(work, "alphabet.txt"), "w", encoding="utf-8") as handle:
        handle.write("".join(c + "\n" for c in ALPHABET))
    subprocess.run([sys.executable, "-m", "tf_crnn.data.convert", list_file, "--output_dir",
                    os.path.join(work, "shards"), "--prefix", "tiny", "--examples_per_shard", "64",
                    "--val_ratio", "0.2", "--workers", "1"], check=True, cwd=REPO, capture_output=True,
                   env=dict(os.environ, PYTHONPATH=REPO))

    one_gpu = tiny_config(work, "one_gpu", args.steps)
    results = {"gpu": f"{details.get('device_name', gpus[0].name)} (compute capability "
                      f"{'.'.join(map(str, details.get('compute_capability', ())))})",
               "cudnn_lstm_ran": cudnn_lstm_ran(one_gpu)}
    results["one_gpu"] = train(one_gpu)
    results["mirrored_one_gpu"] = train(tiny_config(work, "mirrored", args.steps, distribute="mirrored",
                                                    devices=["/gpu:0"]))
    results["cpu"] = train(tiny_config(work, "cpu", args.cpu_steps, gpu="-1"))
    print(json.dumps(results, indent=2))
    for name in ("one_gpu", "mirrored_one_gpu"):
        speed, accuracy = results[name]
        print(f"{name}: {speed:.0f} images/s, reads {accuracy:.1%} of its validation words")
    print(f"cpu: {results['cpu'][0]:.0f} images/s; cuDNN's LSTM kernel ran: {results['cudnn_lstm_ran']}")
    failed = [name for name in ("one_gpu", "mirrored_one_gpu") if results[name][1] < 0.9]
    if failed:
        print(f"error: {', '.join(failed)} did not learn to read its words (under 90%)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
