"""Inference: loaded models that read image bytes.

`saved_model` (a serving SavedModel, its words or its per-frame log-probabilities),
`portable` (TFLite and ONNX cores, and the bytes-in TFLite model), `files` (finding
images and reading them in batches without losing a good image to a bad one).
"""
