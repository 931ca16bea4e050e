"""An optional spatial transformer in front of the conv stack (Jaderberg et al., 2015).

A small localization network looks at the whole image and predicts an affine transform;
the image is resampled through it before recognition, so a rotated or slanted word is
straightened by a transform learned from the CTC loss alone. It starts as the identity
(zero weights, identity bias), so switching it on never hurts at step 0.

Widths vary within a batch: each image's transform works in coordinates normalized to
its own true width, so padding is never pulled into the word.
"""

import tensorflow as tf

# The `call` method below holds no Python control flow over tensors, so it is marked
# do_not_convert: AutoGraph would otherwise transpile it whenever a graph is built
# (training, evaluation and export each build one), start-up time for nothing.


class SpatialTransformer(tf.keras.layers.Layer):
    """images [batch, H, W, C] in [0, 1], widths [batch] -> resampled images, same shape."""

    def __init__(self, filters=(16, 32, 64), dtype=None, name="stn"):
        super().__init__(name=name, dtype=dtype)
        self.localization = []
        for index, count in enumerate(filters):
            self.localization += [
                tf.keras.layers.Conv2D(count, 3, padding="same", activation="relu", name=f"loc_conv{index + 1}",
                                       dtype=dtype),
                tf.keras.layers.MaxPool2D(2, padding="same", name=f"loc_pool{index + 1}", dtype=dtype),
            ]
        self.hidden = tf.keras.layers.Dense(64, activation="relu", name="loc_dense", dtype=dtype)
        self.affine = tf.keras.layers.Dense(
            6, name="loc_affine", dtype="float32", kernel_initializer="zeros",
            bias_initializer=tf.keras.initializers.Constant([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
        )

    def transforms(self, images, training=None):
        x = images * 2.0 - 1.0
        for layer in self.localization:
            x = layer(x, training=training)
        x = tf.reduce_mean(x, axis=[1, 2])
        return tf.reshape(self.affine(self.hidden(x, training=training)), [-1, 2, 3])

    @tf.autograph.experimental.do_not_convert
    def call(self, images, widths=None, training=None):
        images = tf.cast(images, tf.float32)
        shape = tf.shape(images)
        batch, height, width = shape[0], shape[1], shape[2]
        if widths is None:
            widths = tf.fill([batch], width)
        theta = self.transforms(images, training=training)
        true_width = tf.cast(tf.maximum(widths, 2), tf.float32)[:, None, None]
        # Output grid in each image's own normalized coordinates ([-1, 1] over its true width).
        ys = tf.linspace(-1.0, 1.0, height)
        xs_pixels = tf.cast(tf.range(width), tf.float32)
        grid_y = tf.broadcast_to(ys[None, :, None], [batch, height, width])
        grid_x = 2.0 * xs_pixels[None, None, :] / (true_width - 1.0) - 1.0
        grid_x = tf.broadcast_to(grid_x, [batch, height, width])
        ones = tf.ones_like(grid_x)
        grid = tf.stack([grid_x, grid_y, ones], axis=-1)  # [b, h, w, 3]
        source = tf.einsum("bij,bhwj->bhwi", theta, grid)  # [b, h, w, 2] as (x, y)
        source_x = (source[..., 0] + 1.0) * 0.5 * (true_width - 1.0)
        source_y = (source[..., 1] + 1.0) * 0.5 * tf.cast(height - 1, tf.float32)
        return bilinear_sample(images, source_x, source_y, widths)


def bilinear_sample(images, x, y, widths):
    """Samples images at float pixel positions; outside an image's true extent reads 0."""
    shape = tf.shape(images)
    batch, height = shape[0], shape[1]
    x0, y0 = tf.floor(x), tf.floor(y)
    result = 0.0
    limit_x = tf.cast(widths, tf.float32)[:, None, None]
    for dx in (0.0, 1.0):
        for dy in (0.0, 1.0):
            xi, yi = x0 + dx, y0 + dy
            weight = (1.0 - tf.abs(x - xi)) * (1.0 - tf.abs(y - yi))
            inside = (xi >= 0) & (xi < limit_x) & (yi >= 0) & (yi < tf.cast(height, tf.float32))
            xi_c = tf.clip_by_value(tf.cast(xi, tf.int32), 0, shape[2] - 1)
            yi_c = tf.clip_by_value(tf.cast(yi, tf.int32), 0, height - 1)
            batch_index = tf.broadcast_to(tf.range(batch)[:, None, None], tf.shape(xi_c))
            pixels = tf.gather_nd(images, tf.stack([batch_index, yi_c, xi_c], axis=-1))
            result += pixels * (weight * tf.cast(inside, tf.float32))[..., None]
    return result
