"""Inference: loaded models that read image bytes, one protocol for every runtime.

`reader` (the protocol: bytes in, log-probabilities and metadata out, words by any decoder),
`saved_model` and `portable` (its SavedModel, TFLite, ONNX and bytes-in TFLite readers),
`runtimes` (the runtimes by name; a model path opened as readers), `recognizer` (image files
read into words, confidences and units), `files` (finding images and reading them in batches
without losing a good image to a bad one).
"""
