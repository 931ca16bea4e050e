"""Checks image bytes before they go into a shard, so training never meets a bad one."""

import io

from PIL import Image, UnidentifiedImageError

# Formats tf.io.decode_image reads; anything else is re-encoded to PNG.
_KEPT_FORMATS = {"PNG", "JPEG", "GIF", "BMP"}


class BadImage(Exception):
    """The bytes are not a complete image."""


def checked_image_bytes(data: bytes) -> bytes:
    """Returns bytes TensorFlow can decode, or raises BadImage saying what is wrong.

    The image is fully decoded (not only its header) because truncated JPEGs, the usual
    corruption in large crawled sets, only fail when their pixels are read.
    """
    if not data:
        raise BadImage("empty file")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.width < 1 or image.height < 1:
                raise BadImage("image has no pixels")
            if image.format in _KEPT_FORMATS:
                return data
            out = io.BytesIO()
            image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(out, format="PNG")
            return out.getvalue()
    except UnidentifiedImageError:
        raise BadImage("not an image (unknown format)") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise BadImage(f"image does not decode ({err})") from None
    except Image.DecompressionBombError as err:
        raise BadImage(str(err)) from None
