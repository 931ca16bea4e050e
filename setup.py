"""tf_crnn: train CRNN text recognizers with tf.estimator and export them for TF Serving.

TensorFlow is pinned to 2.15: tf.estimator was removed in TensorFlow 2.16, so 2.15 is the
last release that has it. numpy 2 breaks TensorFlow 2.15, hence numpy<2.

TensorFlow itself comes from an extra, because the CPU and GPU builds are two packages
that install the same files and must never both be present:
    pip install -e .[cpu]   # tensorflow-cpu: the default, what `make` installs
    pip install -e .[gpu]   # tensorflow with CUDA libraries, for machines with a GPU
"""

from setuptools import find_packages, setup

TENSORFLOW = "2.15.1"

setup(
    name="tf_crnn",
    version="0.1.0",
    description="Train CRNN text recognizers (CNN + BiLSTM + CTC) with tf.estimator and export them for serving",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.9,<3.12",
    packages=find_packages(include=["tf_crnn", "tf_crnn.*", "hlp"]),
    py_modules=["export_model"],
    # The word recognizer `python -m tf_crnn.predict` uses when given no model.
    package_data={"tf_crnn": ["pretrained/*/*/*.pb", "pretrained/*/*/variables/*", "pretrained/*/*/assets.extra/*",
                              "pretrained/*/README.md"]},
    install_requires=[
        "tensorflow-estimator==2.15.0",
        "numpy>=1.23,<2",
        "pillow>=10.1",
        "absl-py>=1.0",
        "english-words>=2.0,<3",
        # Its word list (inflected forms) and web word counts feed the synthetic words.
        "wordsegment==1.3.1",
        "matplotlib>=3.7,<3.11",
        # Progress bars of the converter and the renderer; edit distance in C for evaluation.
        "tqdm>=4.66,<5",
        "rapidfuzz>=3.5,<4",
        # CRC-32C in C: the converters write TFRecords without loading TensorFlow (tf_crnn/data/tfrecord.py).
        "google-crc32c>=1.5,<2",
    ],
    extras_require={
        "cpu": [
            f"tensorflow-cpu=={TENSORFLOW}; platform_machine == 'x86_64' or platform_machine == 'AMD64'",
            # On ARM the plain package is the CPU build.
            f"tensorflow=={TENSORFLOW}; platform_machine != 'x86_64' and platform_machine != 'AMD64'",
        ],
        "gpu": [f"tensorflow[and-cuda]=={TENSORFLOW}"],
        # `make test` runs the suite in two processes (pytest-xdist): on 2 cores most tests
        # wait on one (process start-up, small graphs), so two at once nearly halve the time.
        "test": ["pytest>=7", "pytest-xdist==3.8.0"],
        # tensorflow-serving-api==2.15.1 itself goes in with `pip install --no-deps` (the
        # Makefile does it): its own requirements would pull a second TensorFlow.
        "serving": ["grpcio>=1.24.3,<2"],
        # Unpinned, tf2onnx/onnx upgrade numpy and protobuf and break TensorFlow 2.15.
        "onnx": ["tf2onnx==1.17.0", "onnx==1.17.0", "onnxruntime==1.31.1", "numpy>=1.23.5,<2", "protobuf>=4.25.8,<5"],
        "tflite": ["ai-edge-litert==2.3.0"],
    },
    # One front door, `tf-crnn COMMAND` (tf_crnn/cli/); tf-crnn-train kept from earlier releases.
    entry_points={"console_scripts": ["tf-crnn=tf_crnn.cli:main", "tf-crnn-train=tf_crnn.cli.train:main"]},
)
