"""The image rule of tf_crnn/data/images.py, inside the serving graph.

Our commands check every file with Pillow before a model sees it, but a client of TF
Serving sends its bytes straight to the graph, where TensorFlow's decoders would read a
phone photo sideways (they ignore EXIF orientation), drop the alpha channel that carries a
transparent PNG's text, and fail on a CMYK JPEG with "Unsupported color conversion
request". `decode_as_it_looks` reads the bytes the way Pillow's rule does:

- a JPEG's (or a PNG's eXIf) orientation tag is applied, as `ImageOps.exif_transpose`;
- a PNG with transparency is laid on white under dark ink and on black under light ink,
  judged by the mean brightness of its pixels that are not fully transparent;
- a CMYK (or YCCK) JPEG is refused with a message that says so, since TensorFlow has no
  decoder for it; the serving call fails with that message.

Everything else is decoded exactly as before (`preprocess.decode_image`), so a plain PNG
or JPEG reads the same pixels in training and in serving. The byte parsing reads a few
dozen bytes per image: headers only, never the pixels.
"""

import tensorflow as tf

from tf_crnn.data.preprocess import decode_image, resize_to_height

# Zeros appended before reading headers, so that every fixed-size read stays inside the
# string however the header lies; reads then start no later than the real end.
_PADDING = 1024
_MAX_IFD_ENTRIES = 64  # IFD0 of a camera's EXIF holds a dozen or two
_MAX_SEGMENTS = 64  # JPEG segments or PNG chunks before the pixels: a handful in practice
_ORIENTATION_TAG = 0x0112
# Start-of-frame markers (baseline, extended, progressive, lossless, arithmetic); not DHT
# (C4), JPG (C8) or DAC (CC), which share the range.
_SOF_MARKERS = (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)
CMYK_MESSAGE = ("an image is a CMYK JPEG, which TensorFlow cannot decode: send it as RGB or grey "
                "(our clients and commands convert it first)")


def _text_at(padded: tf.Tensor, position: tf.Tensor, count: int) -> tf.Tensor:
    """`count` bytes of `padded` from `position` (clamped into the string), as a string."""
    return tf.strings.substr(padded, tf.clip_by_value(position, 0, tf.strings.length(padded) - _PADDING), count)


def _bytes_at(padded: tf.Tensor, position: tf.Tensor, count: int) -> tf.Tensor:
    """`count` bytes of `padded` from `position` (clamped into the string), as int32 values."""
    return tf.cast(tf.io.decode_raw(_text_at(padded, position, count), tf.uint8), tf.int32)


def _exif_orientation(padded: tf.Tensor, tiff: tf.Tensor) -> tf.Tensor:
    """The orientation tag (1 to 8) of the TIFF structure at `tiff`; 1 when there is none."""
    header = _bytes_at(padded, tiff, 8)
    little = tf.logical_and(tf.equal(header[0], 0x49), tf.equal(header[1], 0x49))  # "II"; "MM" is big-endian

    def number(raw, size):
        """The unsigned integer of the last axis' `size` bytes, in the structure's byte order."""
        weights = [256 ** i for i in range(size)]
        return tf.cond(little, lambda: tf.reduce_sum(raw * weights, axis=-1),
                       lambda: tf.reduce_sum(raw * weights[::-1], axis=-1))

    ifd = tiff + number(header[4:8], 4)
    count = number(_bytes_at(padded, ifd, 2), 2)
    entries = tf.reshape(_bytes_at(padded, ifd + 2, 12 * _MAX_IFD_ENTRIES), [_MAX_IFD_ENTRIES, 12])
    tags = number(entries[:, 0:2], 2)
    values = number(entries[:, 8:10], 2)  # a SHORT: the first two bytes of the value field
    is_orientation = tf.logical_and(tf.equal(tags, _ORIENTATION_TAG), tf.range(_MAX_IFD_ENTRIES) < count)
    found = tf.boolean_mask(values, is_orientation)
    orientation = tf.cond(tf.size(found) > 0, lambda: found[0], lambda: tf.constant(1))
    return tf.where(tf.logical_and(orientation >= 1, orientation <= 8), orientation, 1)


def _jpeg_header(padded: tf.Tensor):
    """(orientation, colour components) read from a JPEG's segments before its first frame header."""

    def more(position, index, orientation, components):
        return tf.logical_and(index < _MAX_SEGMENTS, tf.equal(components, 0))  # not `==`: graph mode

    def next_segment(position, index, orientation, components):
        marker = _bytes_at(padded, position, 10)
        kind = marker[1]
        length = marker[2] * 256 + marker[3]
        exif = tf.logical_and(tf.equal(kind, 0xE1), tf.equal(_text_at(padded, position + 4, 6), b"Exif\x00\x00"))
        orientation = tf.cond(tf.logical_and(exif, tf.equal(orientation, 0)),
                              lambda: _exif_orientation(padded, position + 10), lambda: orientation)
        is_frame = tf.reduce_any(tf.equal(kind, _SOF_MARKERS))
        # Not a marker where one should be, or the scan begins: nothing more to read; -1 stops.
        lost = tf.logical_or(tf.not_equal(marker[0], 0xFF), tf.equal(kind, 0xDA))
        components = tf.where(is_frame, marker[9], tf.where(lost, -1, 0))
        return position + 2 + length, index + 1, orientation, components

    _, _, orientation, components = tf.while_loop(
        more, next_segment, (tf.constant(2), tf.constant(0), tf.constant(0), tf.constant(0)))
    return tf.maximum(orientation, 1), components


def _png_header(padded: tf.Tensor):
    """(orientation, whether it may be transparent) from a PNG's chunks before its image
    data: an eXIf chunk's orientation (its data is a TIFF structure), else 1; transparency
    where the colour type carries alpha (4, 6) or a tRNS chunk gives one."""

    def more(position, index, orientation, transparent):
        return tf.logical_and(index < _MAX_SEGMENTS, position >= 0)

    def next_chunk(position, index, orientation, transparent):
        head = _bytes_at(padded, position, 8)
        length = head[0] * 16777216 + head[1] * 65536 + head[2] * 256 + head[3]
        kind = _text_at(padded, position + 4, 4)
        orientation = tf.cond(tf.logical_and(tf.equal(kind, b"eXIf"), tf.equal(orientation, 0)),
                              lambda: _exif_orientation(padded, position + 8), lambda: orientation)
        transparent = tf.logical_or(transparent, tf.equal(kind, b"tRNS"))
        # The image data, the end, or a length no PNG has: nothing more to read; -1 stops.
        last = tf.reduce_any([tf.equal(kind, b"IDAT"), tf.equal(kind, b"IEND"), length < 0])
        return tf.where(last, -1, position + 12 + length), index + 1, orientation, transparent

    colour_type = _bytes_at(padded, tf.constant(25), 1)[0]
    _, _, orientation, transparent = tf.while_loop(
        more, next_chunk, (tf.constant(8), tf.constant(0), tf.constant(0), tf.reduce_any(tf.equal(colour_type, [4, 6]))))
    return tf.maximum(orientation, 1), transparent


def _upright(image: tf.Tensor, orientation: tf.Tensor) -> tf.Tensor:
    """The stored pixels turned as EXIF orientation 1 to 8 tells a viewer to show them: each
    orientation is a transposition (5 to 8) followed by flips, left-right (2, 3, 6, 7) and
    top-bottom (3, 4, 7, 8); 6 is 90 degrees clockwise, 8 counter-clockwise. Three conds,
    not a switch_case: TFLite's Flex delegate cannot run a Case op's branches."""

    def when(orientations, turn, value):
        return tf.cond(tf.reduce_any(tf.equal(orientation, orientations)), lambda: turn(value), lambda: value)

    image = when([5, 6, 7, 8], tf.image.transpose, image)
    image = when([2, 3, 6, 7], tf.image.flip_left_right, image)
    return when([3, 4, 7, 8], tf.image.flip_up_down, image)


def _png_on_its_background(encoded: tf.Tensor, channels: int) -> tf.Tensor:
    """A PNG that may be transparent, laid on white under dark ink, on black under light
    ink (float32 in [0, 1]); with no pixel less than opaque it decodes as `decode_image` does."""
    rgba = tf.image.convert_image_dtype(tf.io.decode_png(encoded, channels=4), tf.float32)
    alpha = rgba[..., 3:]

    def composite():
        grey = tf.image.rgb_to_grayscale(rgba[..., :3])
        seen = tf.cast(alpha > 0, tf.float32)
        ink = tf.math.divide_no_nan(tf.reduce_sum(grey * seen), tf.reduce_sum(seen))
        background = tf.where(ink < 0.5, 1.0, 0.0)
        rgb = rgba[..., :3] * alpha + background * (1.0 - alpha)
        return tf.image.rgb_to_grayscale(rgb) if channels == 1 else rgb

    return tf.cond(tf.reduce_min(alpha) < 1.0, composite, lambda: decode_image(encoded, channels))


def decode_as_it_looks(encoded: tf.Tensor, channels: int) -> tf.Tensor:
    """Encoded image bytes -> float32 [height, width, channels] in [0, 1], read as the image
    looks (module docstring); a CMYK JPEG raises InvalidArgumentError with CMYK_MESSAGE."""
    padded = tf.strings.join([encoded, tf.constant(b"\x00" * _PADDING)])
    is_jpeg = tf.equal(tf.strings.substr(padded, 0, 2), b"\xff\xd8")
    is_png = tf.equal(tf.strings.substr(padded, 0, 8), b"\x89PNG\r\n\x1a\n")

    def jpeg():
        orientation, components = _jpeg_header(padded)
        check = tf.debugging.Assert(tf.not_equal(components, 4), [tf.constant(CMYK_MESSAGE)])
        with tf.control_dependencies([check]):
            return _upright(decode_image(encoded, channels), orientation)

    def png():
        orientation, transparent = _png_header(padded)
        image = tf.cond(transparent, lambda: _png_on_its_background(encoded, channels),
                        lambda: decode_image(encoded, channels))
        return _upright(image, orientation)

    image = tf.cond(is_jpeg, jpeg, lambda: tf.cond(is_png, png, lambda: decode_image(encoded, channels)))
    image.set_shape([None, None, channels])
    return image


def encoded_batch_to_images(encoded: tf.Tensor, height: int, channels: int, min_width: int, max_width: int,
                            with_source_widths: bool = False):
    """A batch of encoded images -> (float images [batch, height, widest, channels], widths),
    plus each image's width as decoded when `with_source_widths` (to map positions in the
    resized image back to the caller's pixels).

    Each image is padded to `max_width` inside map_fn (fixed shapes keep it simple) and the
    batch is then cut to its own widest image.
    """

    def one(data):
        decoded = decode_as_it_looks(data, channels)
        image, width = resize_to_height(decoded, height, min_width, max_width)
        padded = tf.pad(image, [[0, 0], [0, max_width - width], [0, 0]])
        return padded, width, tf.shape(decoded)[1]

    images, widths, source_widths = tf.map_fn(
        one,
        encoded,
        fn_output_signature=(tf.TensorSpec([height, max_width, channels], tf.float32), tf.TensorSpec([], tf.int32),
                             tf.TensorSpec([], tf.int32)),
    )
    widest = tf.reduce_max(tf.concat([widths, [min_width]], axis=0))
    if with_source_widths:
        return images[:, :, :widest, :], widths, source_widths
    return images[:, :, :widest, :], widths
