"""Training-only distortions, all as TensorFlow ops so they run inside tf.data in parallel.

They model what separates real crops from clean renderings: a slightly rotated or
slanted baseline, uneven lighting and contrast, focus blur, the soft blocky strokes of a
word photographed small and enlarged to the model's height, and sensor noise.
"""

import math

import tensorflow as tf


def _random_affine(image: tf.Tensor, max_rotation_degrees: float, max_shear: float) -> tf.Tensor:
    """Rotates and shears about the image centre; borders are filled with the nearest pixel."""
    shape = tf.cast(tf.shape(image), tf.float32)
    height, width = shape[0], shape[1]
    angle = tf.random.uniform([], -1.0, 1.0) * max_rotation_degrees * math.pi / 180.0
    shear = tf.random.uniform([], -1.0, 1.0) * max_shear
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Output pixel (x, y) samples input (a0 x + a1 y + a2, b0 x + b1 y + b2).
    a0, a1 = cos, sin + shear
    b0, b1 = -sin, cos
    cx, cy = width / 2.0, height / 2.0
    a2 = cx - a0 * cx - a1 * cy
    b2 = cy - b0 * cx - b1 * cy
    transform = tf.reshape(tf.stack([a0, a1, a2, b0, b1, b2, 0.0, 0.0]), [1, 8])
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None],
        transforms=transform,
        output_shape=tf.shape(image)[:2],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="NEAREST",
    )
    return out[0]


def _gaussian_blur(image: tf.Tensor, sigma: tf.Tensor) -> tf.Tensor:
    taps = tf.range(-2.0, 3.0)
    kernel = tf.exp(-(taps ** 2) / (2.0 * sigma ** 2))
    kernel = kernel / tf.reduce_sum(kernel)
    kernel_2d = kernel[:, None] * kernel[None, :]
    channels = tf.shape(image)[-1]
    kernel_4d = tf.tile(kernel_2d[:, :, None, None], [1, 1, channels, 1])
    return tf.nn.depthwise_conv2d(image[None], kernel_4d, [1, 1, 1, 1], "SAME")[0]


LOW_RESOLUTION_SCALES = (0.3, 0.7)


def _low_resolution(image: tf.Tensor, scale: tf.Tensor) -> tf.Tensor:
    """Shrinks by `scale` with area averaging (what a small sensor patch records) and
    enlarges back bilinearly, as preprocessing does with a word a few pixels high."""
    size = tf.shape(image)[:2]
    small = tf.maximum(tf.cast(tf.cast(size, tf.float32) * scale, tf.int32), 1)
    shrunk = tf.image.resize(image, small, method="area")
    return tf.image.resize(shrunk, size, method="bilinear")


def augment(image: tf.Tensor, settings) -> tf.Tensor:
    """Applies the configured distortions to one float image in [0, 1]."""
    static_shape = image.shape
    if settings.max_rotation_degrees > 0 or settings.max_shear > 0:
        image = _random_affine(image, settings.max_rotation_degrees, settings.max_shear)
    if settings.blur_probability > 0:
        sigma = tf.random.uniform([], 0.5, 1.2)
        image = tf.cond(
            tf.random.uniform([]) < settings.blur_probability,
            lambda: _gaussian_blur(image, sigma),
            lambda: image,
        )
    if settings.low_resolution_probability > 0:
        scale = tf.random.uniform([], *LOW_RESOLUTION_SCALES)
        image = tf.cond(
            tf.random.uniform([]) < settings.low_resolution_probability,
            lambda: _low_resolution(image, scale),
            lambda: image,
        )
    if settings.contrast > 0:
        factor = tf.random.uniform([], 1.0 - settings.contrast, 1.0 + settings.contrast)
        mean = tf.reduce_mean(image)
        image = (image - mean) * factor + mean
    if settings.brightness > 0:
        image = image + tf.random.uniform([], -settings.brightness, settings.brightness)
    if settings.noise_stddev > 0:
        stddev = tf.random.uniform([], 0.0, settings.noise_stddev)
        image = image + tf.random.normal(tf.shape(image), stddev=stddev)
    image = tf.clip_by_value(image, 0.0, 1.0)
    image.set_shape(static_shape)
    return image
