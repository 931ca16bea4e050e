"""The project's own synthetic word data (MJSynth-like): fonts, words, renderer, generator.

`python -m tf_crnn.synth.generate --output_dir DIR --count N` writes TFRecord shards of
rendered words; `scripts/install_fonts.sh` installs the fonts it draws with. This package
does not import TensorFlow, except in the generator's writing step, so that rendering
worker processes start fast.
"""
