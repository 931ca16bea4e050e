"""Exports: a trained model dir -> forms that run without it.

`saved_model` (the serving SavedModel for TF Serving, and `python -m tf_crnn.export`),
`exporters` (the best export kept during training), `portable` (the fixed-width core that
TFLite and ONNX can run), `tflite` and `onnx` (those conversions). What every export says
about itself is tf_crnn/model_files.py's.
"""
