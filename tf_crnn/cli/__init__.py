"""The commands people type, in one place: `tf-crnn COMMAND [ARGS]`.

Each module of this package is the command line of one command: it parses arguments with
argparse and calls a library function of the layers below (converters, training, export,
readers, evaluation). The names earlier releases gave them (`python -m tf_crnn.train`,
`python -m tf_crnn.data.convert`, `python export_model.py`, `hlp/...`) still run the same
command; they only forward here.

    tf-crnn                      the commands, one line each
    tf-crnn COMMAND --help       one command's arguments
"""

import argparse
import importlib
import sys
from typing import NamedTuple

from tf_crnn.errors import ConfigError


class Command(NamedTuple):
    module: str  # under tf_crnn.cli, with a main(argv, prog)
    summary: str


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are one `error: ...` line and exit status 2, as every other
    user error of the project (tf_crnn.errors), instead of the usage text before it."""

    def error(self, message):
        raise ConfigError(message)


# In the order of the data flow: data in, training, export, reading.
COMMANDS = {
    "convert": Command("convert", "annotation files or folders of images -> sharded TFRecords"),
    "generate": Command("generate", "render synthetic word images into sharded TFRecords"),
    "mnist-numbers": Command("mnist_numbers", "numbers written with MNIST digits, as images or TFRecords"),
    "absolute-paths": Command("absolute_paths", "make the image paths of annotation files absolute"),
    "make-alphabet": Command("make_alphabet", "an alphabet file from the labels of annotations or shards"),
    "train": Command("train", "train and evaluate from a config file (the same command resumes)"),
    "export": Command("export", "a trained model dir -> a serving SavedModel"),
    "tflite-convert": Command("tflite_convert", "a trained model dir -> TFLite models"),
    "onnx-export": Command("onnx_export", "a trained model dir -> an ONNX model"),
    "predict": Command("predict", "read the text in image files or folders"),
    "evaluate": Command("evaluate", "word accuracy and CER of a model on labelled sets"),
    "serving-client": Command("serving_client", "read images with a model served by TF Serving"),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["usage: tf-crnn COMMAND [ARGS]   (tf-crnn COMMAND --help for its arguments)", "", "commands:"]
    lines += [f"  {name:<{width}}  {command.summary}" for name, command in COMMANDS.items()]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: tf-crnn has no command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    command = importlib.import_module(f"tf_crnn.cli.{COMMANDS[name].module}")
    return command.main(rest, prog=f"tf-crnn {name}") or 0
