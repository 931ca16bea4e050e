"""Image preprocessing shared by training, evaluation and the serving graph.

Keeping decode and resize in one place is what makes a served model see exactly the
pixels it was trained on.
"""

import tensorflow as tf


def decode_image(encoded: tf.Tensor, channels: int) -> tf.Tensor:
    """Encoded PNG/JPEG/GIF/BMP bytes -> float32 [height, width, channels] in [0, 1].

    TensorFlow's BMP and GIF decoders only give colour, so for a grey model those two are
    decoded in colour and converted; PNG and JPEG keep their own grey decoding, the one
    every model so far was trained on.
    """
    if channels == 1:
        magic = tf.strings.substr(encoded, 0, 3)
        colour_only = tf.logical_or(tf.equal(magic, "GIF"), tf.equal(tf.strings.substr(encoded, 0, 2), "BM"))
        image = tf.cond(
            colour_only,
            lambda: tf.image.rgb_to_grayscale(tf.io.decode_image(encoded, channels=3, expand_animations=False)),
            lambda: tf.io.decode_image(encoded, channels=1, expand_animations=False),
        )
    else:
        image = tf.io.decode_image(encoded, channels=channels, expand_animations=False)
    image.set_shape([None, None, channels])
    return tf.image.convert_image_dtype(image, tf.float32)


def resize_to_height(image: tf.Tensor, height: int, min_width: int, max_width: int):
    """Scales to a fixed height keeping the aspect ratio; the width is clipped to [min, max].

    Returns the resized image and its width, which sets the image's own CTC sequence
    length however wide the padded batch is.
    """
    shape = tf.cast(tf.shape(image), tf.float32)
    width = tf.cast(tf.round(shape[1] * height / shape[0]), tf.int32)
    width = tf.clip_by_value(width, min_width, max_width)
    resized = tf.image.resize(image, tf.stack([height, width]), method="bilinear", antialias=True)
    resized.set_shape([height, None, image.shape[-1]])
    return tf.clip_by_value(resized, 0.0, 1.0), width
