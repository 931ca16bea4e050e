"""TFLite models of a trained CRNN (`python -m tf_crnn.tflite_convert MODEL_DIR --output_dir DIR`).

Writes two kinds of model, for two kinds of runtime:

- the core (tf_crnn/export/portable.py): float images of one fixed width and their true
  widths in, logits out; builtin ops only, so any TFLite runtime runs it (TF's
  interpreter, ai-edge-litert, the mobile libraries). Three precisions:
  `crnn_fp32.tflite`; `crnn_fp16.tflite` (weights stored as float16, computed in
  float32); `crnn_int8.tflite` (weights and activations int8, calibrated on a sample of
  the training shards prepared exactly as in training; float inputs and outputs; the
  few ops without int8 kernels stay float).
  Decoding is tf_crnn/decoding/numpy_ctc.py. With several widths (`--width 64,128,256`)
  each file holds one signature per width over the same weights: the widest is
  `serving_default`, the others `width_64` and so on (tf_crnn.json's `signatures`), and
  readers run each image on the narrowest that holds it.
- `crnn_bytes_flex.tflite`: the SavedModel's whole `serving_default` graph, encoded
  image bytes in, `words`/`confidences`/`top_words`/`top_scores` out, any width. It
  keeps TensorFlow ops (image decoding, the resize, the CTC decoders) that only the
  Flex delegate runs: TensorFlow's own `tf.lite.Interpreter` has it, and a custom Flex
  build must include `ScaleAndTranslate` (the antialiased resize).

`tf_crnn.json` next to them holds the alphabet, the image height, the fixed width and
the rest of the export metadata: all a user (or tf_crnn.portable_evaluate) needs.

    python -m tf_crnn.tflite_convert runs/crnn --output_dir exports/tflite --width 128
    python -m tf_crnn.tflite_convert runs/crnn --output_dir exports/tflite --width 64,128,256
"""

import contextlib
import glob
import os
import sys
import tempfile
from typing import Dict, List

from tf_crnn.errors import ConfigError

CORE_FILES = {"fp32": "crnn_fp32.tflite", "fp16": "crnn_fp16.tflite", "int8": "crnn_int8.tflite"}
FLEX_FILE = "crnn_bytes_flex.tflite"
FORMS = tuple(CORE_FILES) + ("flex",)
# The antialiased resize of tf_crnn/data/preprocess.py; not on the default Flex allowlist.
EXTRA_FLEX_OPS = ["ScaleAndTranslate"]
# TFLite kernels without int8 support (the backward LSTM's tf.reverse_sequence).
FLOAT_ONLY_OPS = ["REVERSE_SEQUENCE"]


@contextlib.contextmanager
def converter_log_captured():
    """Keeps the converter's C++ log (hundreds of op statistics lines on stderr) out of the
    terminal, and shows its end if the conversion fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read()[-20000:].decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def shard_files(patterns: List[str], source: str) -> List[str]:
    files = sorted({path for pattern in patterns for path in glob.glob(pattern)})
    if not files:
        raise ConfigError(f"no shards match {', '.join(patterns)} ({source})")
    return files


def representative_images(files: List[str], samples: int, seed: int = 0) -> List[bytes]:
    """Encoded images of up to `samples` examples drawn (seeded) from the shards."""
    import tensorflow as tf

    from tf_crnn.data.schema import IMAGE, parse_examples

    records = tf.data.Dataset.from_tensor_slices(files).interleave(tf.data.TFRecordDataset, cycle_length=4)
    records = records.shuffle(10 * samples, seed=seed).take(samples)
    return [parse_examples(record)[IMAGE].numpy() for record in records]


def calibration_inputs(core, encoded: List[bytes]):
    """One core input a sample, prepared as in training; images that do not decode are skipped.

    A core of several widths gets (signature key, input) pairs: each sample for every
    signature, cut to its width (so none goes uncalibrated).
    """
    import numpy as np
    import tensorflow as tf

    from tf_crnn.export.portable import FixedWidthInputs, signature_key

    prepare = FixedWidthInputs(core.metadata())
    for data in encoded:
        try:
            images, widths = prepare([data])
        except tf.errors.InvalidArgumentError:
            continue
        if not core.narrower:
            yield {"images": images, "widths": widths}
            continue
        for width in core.widths:
            yield signature_key(width, core.width), {"images": np.ascontiguousarray(images[:, :, :width]),
                                                     "widths": np.minimum(widths, width)}


def save_core(core, folder: str) -> str:
    """The core as a SavedModel with one `serving_default` signature: what each precision converts from.

    The converter would save a SavedModel per precision otherwise. It holds the
    variables and the signature only: saving the Keras model itself retraces every
    unrolled layer, ten times slower.
    """
    import tensorflow as tf

    holder = tf.Module()
    holder.weights = list(core.model.variables)
    tf.saved_model.save(holder, folder, signatures=core.signatures())
    return folder


def convert_core(saved_core: str, precision: str, calibration=None, signature_keys=None) -> bytes:
    """The saved core as a builtin-only TFLite flatbuffer in `precision` (fp32, fp16 or int8).

    `calibration` is a list of core inputs ({'images', 'widths'}) for int8, or of
    (signature key, input) pairs for a core of several widths.
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(saved_core, signature_keys=signature_keys)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if precision == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    if precision != "int8":
        with converter_log_captured():
            return converter.convert()
    if not calibration:
        raise ConfigError("no representative image decodes: int8 needs calibration samples")
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: iter(calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    # The converter quantizes ops whose TFLite kernels have no int8 version; those stay float.
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=FLOAT_ONLY_OPS)
    with converter_log_captured():  # the debugger converts (and calibrates) when it is made
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=lambda: iter(calibration), debug_options=options)
        return debugger.get_nondebug_quantized_model()


def check_runs(model: bytes, core, name: str) -> None:
    """Runs each signature of a converted core once: a model the converter accepts may still lack a kernel."""
    import numpy as np
    import tensorflow as tf

    from tf_crnn.export.portable import signature_key

    interpreter = tf.lite.Interpreter(model_content=model)
    for width in core.widths:
        shape = [1, core.config.image_height, width, core.config.channels]
        try:
            runner = interpreter.get_signature_runner(signature_key(width, core.width))
            runner(images=np.zeros(shape, np.float32), widths=np.array([width], np.int32))
        except (RuntimeError, ValueError) as err:
            raise RuntimeError(f"the converted {name} model does not run at width {width}: {err}") from None


def convert_bytes_model(model_dir: str, checkpoint: str = None) -> bytes:
    """The serving SavedModel's `serving_default` (bytes in, words out) with Select TF ops."""
    import tensorflow as tf

    from tf_crnn.export.saved_model import export_saved_model

    with tempfile.TemporaryDirectory() as scratch:
        # TFLite has no bfloat16: the export is float32 (same variables) even when the
        # config's export_precision asks for mixed_bfloat16.
        saved_model = export_saved_model(model_dir, scratch, checkpoint, precision="float32")
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model, signature_keys=["serving_default"])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS, tf.lite.OpsSet.SELECT_TF_OPS]
        converter.target_spec.experimental_select_user_tf_ops = EXTRA_FLEX_OPS
        with converter_log_captured():
            return converter.convert()


def _write(path: str, data: bytes) -> None:
    with open(path + ".tmp", "wb") as handle:
        handle.write(data)
    os.replace(path + ".tmp", path)


def convert(model_dir: str, output_dir: str, width=128, representative: List[str] = None,
            samples: int = 200, checkpoint: str = None, forms=FORMS) -> Dict[str, str]:
    """Writes the requested forms and tf_crnn.json to `output_dir`; returns {form: path}.

    `width`: the core's fixed width, or several (one signature each, see the module doc).
    """
    from tf_crnn.export.portable import build_core, check_widths, load_model_config
    from tf_crnn.model_files import METADATA, write_json

    config = load_model_config(model_dir)  # bad input first, before anything slow
    widths = check_widths(config, (width,) if isinstance(width, int) else width)
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise ConfigError(f"--output_dir {output_dir} is a file")
    shards = None
    if "int8" in forms:
        if not (representative or config.train_files):
            raise ConfigError("the model's config lists no train_files: give --representative SHARDS_GLOB")
        shards = shard_files(representative or config.train_files,
                             "--representative" if representative else "the model's train_files")
    core = build_core(model_dir, widths[-1], checkpoint, narrower=widths[:-1])
    models = {}
    with tempfile.TemporaryDirectory() as scratch:
        saved_core = save_core(core, scratch) if set(forms) & set(CORE_FILES) else None
        for precision in CORE_FILES:
            if precision in forms:
                calibration = None
                if precision == "int8":
                    calibration = list(calibration_inputs(core, representative_images(shards, samples)))
                models[precision] = convert_core(saved_core, precision, calibration, core.signature_keys())
                check_runs(models[precision], core, precision)
    if "flex" in forms:
        models["flex"] = convert_bytes_model(model_dir, core.checkpoint)
    os.makedirs(output_dir, exist_ok=True)
    written = {}
    for form, model in models.items():
        written[form] = os.path.join(output_dir, CORE_FILES.get(form, FLEX_FILE))
        _write(written[form], model)
    metadata = core.metadata()
    metadata["checkpoint"] = os.path.basename(core.checkpoint)
    metadata["files"] = {form: os.path.basename(path) for form, path in written.items()}
    write_json(metadata, os.path.join(output_dir, METADATA))
    return written


def parse_widths(text: str) -> tuple:
    """`--width 64,128,256` as a tuple of widths (an argparse type: a bad value is a usage error)."""
    import argparse

    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a width or comma-separated widths: {text!r}") from None


def parse_forms(text: str):
    forms = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [form for form in forms if form not in FORMS]
    if unknown or not forms:
        raise ConfigError(f"--forms: unknown form(s) {', '.join(unknown) or '(none given)'}; "
                          f"use {', '.join(FORMS)}")
    return forms
