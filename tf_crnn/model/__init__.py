"""The model: the CRNN network (`network`, its `backbones` and the optional `stn`), the
Estimator's `model_fn` (CTC loss, decoding, metrics), the `estimator` that runs it, and
`warm_start` (a new model dir starting from another model's weights)."""
