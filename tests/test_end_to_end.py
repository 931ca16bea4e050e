"""Train a tiny CRNN until it reads what it was shown, export it, serve it from a fresh process."""

import glob
import json
import os
import random
import re
import subprocess
import sys
import textwrap

import pytest

from conftest import (LOWER_ALNUM, REPO, TINY_WORDS, assert_clean_error, render_text, run_module,
                      training_images)


def _newest_export(root):
    folder = root / "model" / "export" / "latest"
    return str(folder / max((d for d in os.listdir(folder) if d.isdigit()), key=int))


def _export(root, out, *extra):
    result = subprocess.run([sys.executable, os.path.join(REPO, "export_model.py"), str(root / "model"),
                             "--output_dir", str(out), *extra], capture_output=True, text=True, cwd=REPO,
                            env=dict(os.environ, PYTHONPATH=REPO), timeout=300)
    assert result.returncode == 0, result.stderr
    path = result.stdout.strip().splitlines()[-1]
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    assert os.path.basename(path).isdigit()  # a numbered version folder, as TF Serving wants
    from tf_crnn.model_files import read_metadata

    assert read_metadata(path)["alphabet"] == list(LOWER_ALNUM)
    return path


@pytest.fixture(scope="module")
def exported(trained_tiny, tmp_path_factory):
    """`export_model.py` of the tiny model with the config's decoder, made once for this file."""
    return _export(trained_tiny[0], tmp_path_factory.mktemp("exported"))


def test_training_writes_checkpoints_summaries_and_exports(trained_tiny):
    root, _ = trained_tiny
    model = root / "model"
    assert os.path.isfile(model / "checkpoint")
    assert glob.glob(str(model / "events.out.tfevents.*"))
    assert glob.glob(str(model / "eval" / "events.out.tfevents.*"))
    assert glob.glob(str(model / "export" / "latest" / "*" / "saved_model.pb"))
    assert glob.glob(str(model / "export" / "best" / "*" / "saved_model.pb"))
    # The best export of the final evaluation is a whole copy of the latest exporter's export
    # of the same checkpoint (same version name, same files), not a second export.
    with open(model / "export" / "best" / "best.json", encoding="utf-8") as handle:
        best = json.load(handle)["export"]
    latest = model / "export" / "latest" / os.path.basename(best)

    def files(folder):
        return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)

    assert files(best) == files(latest) and "saved_model.pb" in files(best)
    assert not glob.glob(str(model / "export" / "best" / "temp-*"))
    with open(model / "config.json", encoding="utf-8") as handle:
        assert json.load(handle)["alphabet"] == list(LOWER_ALNUM)
    import tensorflow as tf

    def tags(folder):
        found = set()
        for path in glob.glob(str(folder / "events.out.tfevents.*")):
            for event in tf.compat.v1.train.summary_iterator(path):
                found.update(value.tag for value in event.summary.value)
        return found

    assert {"loss", "learning_rate"} <= tags(model)
    eval_tags = tags(model / "eval")
    assert {"word_accuracy", "alnum_word_accuracy", "cer", "loss"} <= eval_tags
    assert any(tag.startswith("eval_images") for tag in eval_tags), eval_tags
    assert any(tag.startswith("eval_true_vs_predicted") for tag in eval_tags), eval_tags


def test_model_reads_its_training_images_through_predict(trained_tiny, exported):
    root, _ = trained_tiny
    saved = exported
    samples = training_images(root)
    result = run_module("tf_crnn.predict", saved, *[path for path, _ in samples], "--json", check=True)
    rows = json.loads(result.stdout)
    truth = dict(samples)
    correct = sum(row["text"] == truth[row["path"]] for row in rows)
    assert len(rows) == len(samples)
    assert correct / len(rows) >= 0.9, rows[:10]
    # --json also says what each reading is made of.
    assert all("".join(c["char"] for c in row["chars"]) == row["text"] for row in rows)
    assert all(0 < c["confidence"] <= 1 and 0 <= c["x_range"][0] < c["x_range"][1] for row in rows for c in row["chars"])


def test_fresh_process_serves_png_bytes_and_decoded_images(trained_tiny, tmp_path):
    root, _ = trained_tiny
    saved = _export(root, tmp_path / "exported", "--decoder", "beam", "--beam_width", "5", "--top_paths", "3")
    render_text("moon").save(tmp_path / "moon.png")
    script = textwrap.dedent(f"""
        import json
        import numpy as np
        import tensorflow as tf
        from PIL import Image
        model = tf.saved_model.load({saved!r})
        data = open({str(tmp_path / "moon.png")!r}, "rb").read()
        out = model.signatures["serving_default"](images=tf.constant([data, data]))
        pixels = np.asarray(Image.open({str(tmp_path / "moon.png")!r}).convert("L"), np.float32) / 255.0
        height, width = pixels.shape
        scaled = tf.image.resize(pixels[None, :, :, None], [32, round(width * 32 / height)], antialias=True)
        alt = model.signatures["images:serving_default"](images=scaled, widths=tf.constant([scaled.shape[2]]),
                                                         source_widths=tf.constant([width]))
        print(json.dumps({{
            "signatures": sorted(model.signatures.keys()),
            "words": [w.decode() for w in out["words"].numpy()],
            "confidences": out["confidences"].numpy().tolist(),
            "top_words": [[w.decode() for w in row] for row in out["top_words"].numpy()],
            "top_scores": out["top_scores"].numpy().tolist(),
            "alt_words": [w.decode() for w in alt["words"].numpy()],
            "chars": [[u.decode() for u in row] for row in out["chars"].numpy()],
            "char_confidences": out["char_confidences"].numpy().tolist(),
            "char_x_ranges": out["char_x_ranges"].numpy().tolist(),
            "alt_char_x_ranges": alt["char_x_ranges"].numpy().tolist(),
            "width": width,
        }}))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["signatures"] == ["images:logits", "images:serving_default", "logits", "serving_default"]
    assert out["words"] == ["moon", "moon"]
    assert 0.5 < out["confidences"][0] <= 1.0
    assert out["top_words"][0][0] == "moon" and len(out["top_words"][0]) == 3
    assert out["top_scores"][0] == sorted(out["top_scores"][0], reverse=True)
    assert out["alt_words"] == ["moon"]
    # What the reading is made of: its units, each with a probability and its place in the sent image.
    assert out["chars"] == [list("moon")] * 2 and out["char_x_ranges"][0] == out["alt_char_x_ranges"][0]
    assert all(0 < p <= 1 for p in out["char_confidences"][0])
    starts = [x[0] for x in out["char_x_ranges"][0]]
    assert starts == sorted(starts) and all(0 <= a < b <= out["width"] for a, b in out["char_x_ranges"][0])


def test_a_batch_reads_as_its_images_alone_in_the_order_sent(exported, tmp_path):
    """The export runs a batch in groups of similar width (tf_crnn/model/model_fn.py
    in_width_groups): 40 images of mixed widths, shuffled, make three groups; each must
    come back in its place with the words, confidences and frames it gets alone."""
    rng = random.Random(5)
    words = [rng.choice(TINY_WORDS) for _ in range(40)]
    paths = []
    for index, word in enumerate(words):
        render_text(word, pad=rng.choice([2, 4, 8, 16, 32])).save(tmp_path / f"{index}.png")
        paths.append(str(tmp_path / f"{index}.png"))
    script = textwrap.dedent(f"""
        import json
        import tensorflow as tf
        model = tf.saved_model.load({exported!r})
        data = [open(path, "rb").read() for path in {paths!r}]
        serve, logits = model.signatures["serving_default"], model.signatures["logits"]
        together, raw = serve(images=tf.constant(data)), logits(images=tf.constant(data))
        alone = [serve(images=tf.constant([d])) for d in data]
        alone_raw = [logits(images=tf.constant([d])) for d in data]
        print(json.dumps({{
            "together": [w.decode() for w in together["words"].numpy()],
            "alone": [a["words"].numpy()[0].decode() for a in alone],
            "confidence_gap": max(abs(float(together["confidences"][i]) - float(a["confidences"][0]))
                                  for i, a in enumerate(alone)),
            "frames": raw["frame_lengths"].numpy().tolist(),
            "alone_frames": [int(a["frame_lengths"][0]) for a in alone_raw],
            "log_prob_gap": max(float(tf.reduce_max(tf.abs(raw["log_probs"][i, :int(a["frame_lengths"][0])]
                                                          - a["log_probs"][0])))
                                for i, a in enumerate(alone_raw)),
        }}))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["together"] == out["alone"] and sum(a == b for a, b in zip(out["alone"], words)) >= 20
    assert out["frames"] == out["alone_frames"] and len(set(out["frames"])) > 5
    assert out["confidence_gap"] < 1e-4 and out["log_prob_gap"] < 1e-3


def test_confidence_is_higher_on_right_readings(exported, tmp_path):
    """Seen words are mostly read right, unseen random strings mostly wrong: compare confidences."""
    saved = exported
    rng = random.Random(7)
    truth = {}
    for index in range(40):
        word = TINY_WORDS[index % len(TINY_WORDS)] if index < 20 else "".join(
            rng.choice(LOWER_ALNUM) for _ in range(rng.randint(3, 5)))
        path = str(tmp_path / f"c{index}.png")
        render_text(word).save(path)
        truth[path] = word
    rows = json.loads(run_module("tf_crnn.predict", saved, *truth, "--json", check=True).stdout)
    right = [row["confidence"] for row in rows if row["text"] == truth[row["path"]]]
    wrong = [row["confidence"] for row in rows if row["text"] != truth[row["path"]]]
    assert len(right) >= 10 and len(wrong) >= 10, (len(right), len(wrong))
    assert sum(right) / len(right) > sum(wrong) / len(wrong) + 0.2, (right, wrong)


def test_saved_model_cli_shows_both_signatures(trained_tiny):
    root, _ = trained_tiny
    saved = _newest_export(root)
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    result = subprocess.run([cli, "show", "--dir", saved, "--all"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for fragment in ("signature_def['serving_default']", "signature_def['images:serving_default']",
                     "signature_def['logits']", "outputs['log_probs']", "outputs['frame_lengths']",
                     "outputs['words']", "outputs['confidences']", "outputs['top_words']", "outputs['top_scores']",
                     "outputs['chars']", "outputs['char_x_ranges']", "inputs['source_widths']"):
        assert fragment in result.stdout


def test_predict_and_export_errors_are_clean(trained_tiny, tmp_path):
    root, _ = trained_tiny
    saved = _newest_export(root)
    assert_clean_error(run_module("tf_crnn.predict", saved, tmp_path / "nothing.png"), "nothing.png")
    assert_clean_error(run_module("tf_crnn.predict", "--model", tmp_path, tmp_path), "no SavedModel")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    render_text("cat").save(tmp_path / "cat.png")
    result = run_module("tf_crnn.predict", saved, tmp_path / "broken.png", tmp_path / "cat.png")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "broken.png\tERROR: not an image (unknown format)" in result.stdout
    # The bad image does not stop the others from being read.
    assert re.search(r"cat\.png\t[0-9a-z]+\t[01]\.\d{3}\n", result.stdout), result.stdout
    result = subprocess.run([sys.executable, os.path.join(REPO, "export_model.py"), str(tmp_path),
                             "--output_dir", str(tmp_path / "x")], capture_output=True, text=True, cwd=REPO,
                            env=dict(os.environ, PYTHONPATH=REPO))
    assert_clean_error(result, "config.json")


def test_predict_takes_the_model_as_a_flag_or_first_argument(trained_tiny, tmp_path, monkeypatch, capsys):
    from tf_crnn.cli import predict

    root, _ = trained_tiny
    saved = _newest_export(root)
    render_text("moon").save(tmp_path / "moon.png")
    for argv in (["--model", str(saved), str(tmp_path)], [str(saved), str(tmp_path / "moon.png")]):
        predict.main(argv)
        assert capsys.readouterr().out.split("\t")[1] == "moon"
    # With no model and none shipped, the message says what to pass.
    monkeypatch.setattr(predict, "SHIPPED_MODEL", str(tmp_path / "no_model"))
    with pytest.raises(SystemExit) as stop:
        predict.main([str(tmp_path / "moon.png")])
    assert stop.value.code == 2 and "--model" in capsys.readouterr().err
