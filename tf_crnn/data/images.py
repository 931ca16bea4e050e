"""What an image is, for every command: bytes checked before they go into a shard or to a
model, so training never meets a bad one and every command reads a file as it looks.

The rule (`checked_image_bytes`), the same in the converter, predict, evaluate and the
serving client: the file must fully decode with Pillow; EXIF orientation is applied;
transparency is laid on a background that keeps the text visible; CMYK becomes RGB.
"""

import io

from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

# Files every command takes, by extension: what Pillow decodes and the converter, the
# folder reader, predict and evaluate accept alike.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"})

# Kept byte for byte; anything else (BMP, GIF, TIFF, WebP, ...) is re-encoded to PNG, which
# is lossless and which TensorFlow decodes in grey and in colour alike (its BMP decoder
# refuses 1-bit files and neither its BMP nor its GIF decoder gives grey).
_KEPT_FORMATS = {"PNG", "JPEG"}
_EXIF_ORIENTATION = 0x0112


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
    corruption in large crawled sets, only fail when their pixels are read. PNG and JPEG
    files are kept byte for byte unless TensorFlow would read them otherwise than they
    look (`_needs_rewrite`); those, and every other format, become PNG as they look.
    """
    if not data:
        raise BadImage("empty file", "empty file")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.width < 1 or image.height < 1:
                raise BadImage("image has no pixels", "no pixels")
            if image.format in _KEPT_FORMATS and not _needs_rewrite(image):
                return data
            out = io.BytesIO()
            as_it_looks(image).save(out, format="PNG")
            return out.getvalue()
    except UnidentifiedImageError:
        raise BadImage("not an image (unknown format)", "not an image") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise BadImage(f"image does not decode ({err})", "does not decode") from None
    except Image.DecompressionBombError as err:
        raise BadImage(str(err), "too large") from None


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(_EXIF_ORIENTATION, 1) or 1)
    except (ValueError, TypeError, SyntaxError):
        return 1


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info


def _needs_rewrite(image: Image.Image) -> bool:
    """Whether TensorFlow's decoders would read this PNG or JPEG otherwise than it looks:
    a CMYK JPEG (TensorFlow does not decode it), a phone photo's EXIF rotation (TensorFlow
    ignores it), or transparency (TensorFlow drops the alpha channel, and with it the text
    when the text is drawn by the alpha alone)."""
    return image.mode not in ("L", "RGB") or _orientation(image) != 1 or _has_transparency(image)


def as_it_looks(image: Image.Image) -> Image.Image:
    """The image upright (EXIF orientation applied), in grey or RGB, its transparency laid
    on a background that keeps the text visible: white under dark ink, black under light
    ink (judged by the opaque pixels' mean brightness)."""
    image = ImageOps.exif_transpose(image)
    if _has_transparency(image):
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A")
        ink = ImageStat.Stat(rgba.convert("L"), mask=alpha).mean[0] if alpha.getbbox() else 0.0
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255) if ink < 128 else (0, 0, 0, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("L" if image.mode in ("L", "1", "I;16", "I", "F", "LA") else "RGB")
