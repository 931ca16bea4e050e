"""Checks image bytes before they go into a shard, so training never meets a bad one."""

import io

from PIL import Image, UnidentifiedImageError

# Files every command takes, by extension: what Pillow decodes and the converter, the
# folder reader, predict and evaluate accept alike.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"})

# Kept byte for byte; anything else (BMP, GIF, TIFF, WebP, ...) is re-encoded to PNG, which
# is lossless and which TensorFlow decodes in grey and in colour alike (its BMP decoder
# refuses 1-bit files and neither its BMP nor its GIF decoder gives grey).
_KEPT_FORMATS = {"PNG", "JPEG"}


class BadImage(Exception):
    """The file is missing or not a complete image; `kind` groups it in the converter's report."""

    def __init__(self, message: str, kind: str = "does not decode"):
        super().__init__(message)
        self.kind = kind


def read_checked_image(path: str) -> bytes:
    """The bytes of the image file at `path`, checked (see `checked_image_bytes`)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise BadImage("image not found", "image not found") from None
    except OSError as err:
        raise BadImage(f"image cannot be read ({err.strerror})", "image unreadable") from None
    return checked_image_bytes(data)


def checked_image_bytes(data: bytes) -> bytes:
    """Returns bytes TensorFlow can decode, or raises BadImage saying what is wrong.

    The image is fully decoded (not only its header) because truncated JPEGs, the usual
    corruption in large crawled sets, only fail when their pixels are read.
    """
    if not data:
        raise BadImage("empty file", "empty file")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.width < 1 or image.height < 1:
                raise BadImage("image has no pixels", "no pixels")
            if image.format in _KEPT_FORMATS:
                return data
            out = io.BytesIO()
            image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(out, format="PNG")
            return out.getvalue()
    except UnidentifiedImageError:
        raise BadImage("not an image (unknown format)", "not an image") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise BadImage(f"image does not decode ({err})", "does not decode") from None
    except Image.DecompressionBombError as err:
        raise BadImage(str(err), "too large") from None
