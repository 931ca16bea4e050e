"""Finds the installed fonts that can draw Latin words.

The renderer picks a random face for every word, so it needs the list of faces that
really draw a, b, c... as letters. Some installed fonts do not: dingbat and symbol fonts
map ASCII codes to pictures or Greek letters, and initials or keycap fonts lack the
lowercase. A font is kept only if every ASCII letter and digit has a real glyph and its
lowercase letters show the structure of Latin script (a shared x-height, ascenders that
rise above it, descenders that drop below the baseline), which no symbol font has.
"""

import functools
import os
import string
from typing import Iterable, List, Optional, Sequence, Tuple

from PIL import ImageFont

from tf_crnn.errors import DataError

DEFAULT_FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
)
# Pillow's FreeType opens these; Type 1 copies (.pfb/.t1) of the same URW faces also
# ship as .otf, so reading only these formats avoids counting a face twice.
FONT_EXTENSIONS = (".ttf", ".otf")

_PROBE_SIZE = 100
_REQUIRED_CHARS = string.ascii_letters + string.digits
_X_HEIGHT_LETTERS = "acemnorsuvwxz"
_ASCENDER_LETTERS = "bdhkl"
_DESCENDER_LETTERS = "gpqy"
_CASE_PAIRS = "abdegnqr"
# Share of the script-structure checks a font must pass: real faces, scripts and
# italics included, pass at least 20 of 22; symbol and dingbat fonts pass about half.
_MIN_STRUCTURE_SCORE = 0.8
# A code point no text font maps: whatever the font draws for it is its "missing" glyph.
_UNMAPPED_CHAR = "\U0010fffd"

_cache = {}


def find_fonts(dirs: Optional[Sequence[str]] = None) -> List[str]:
    """Returns the sorted paths of the usable fonts under `dirs` (system font dirs by default).

    The sorted order makes a seed pick the same fonts on every run on one machine.
    The result is kept in memory, since probing all fonts takes about a second.
    """
    key = tuple(os.path.expanduser(d) for d in (dirs or DEFAULT_FONT_DIRS))
    if key not in _cache:
        _cache[key] = [path for path in _font_files(key) if draws_latin_text(path)]
    if not _cache[key]:
        raise DataError(
            f"no usable TrueType/OpenType font found under {', '.join(key)}; "
            "run scripts/install_fonts.sh (as root) to install the fonts the renderer uses"
        )
    return list(_cache[key])


def _font_files(dirs: Iterable[str]) -> List[str]:
    """All font files of the readable formats under `dirs`, sorted, without duplicates."""
    found = set()
    for top in dirs:
        for root, _, names in os.walk(top):
            found.update(
                os.path.join(root, name) for name in names if name.lower().endswith(FONT_EXTENSIONS)
            )
    return sorted(found)


def draws_latin_text(path: str) -> bool:
    """Whether the font at `path` draws ASCII letters and digits as Latin text."""
    try:
        font = load_font(path, _PROBE_SIZE)
        return (
            _has_all_glyphs(font)
            and _cases_differ(font)
            and _script_structure_score(font) >= _MIN_STRUCTURE_SCORE
        )
    except OSError:
        return False


@functools.lru_cache(maxsize=256)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """Opens a font at a size, keeping the recently used ones open.

    Opening takes about 0.1 ms, a few percent of a render, while every open face holds
    about 90 kB: the cache is kept small so that each worker stays small.

    The basic layout engine is used because it is faster than Raqm for single words and
    does not depend on which optional text-shaping libraries the machine has.
    """
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


def _glyph_signature(font: ImageFont.FreeTypeFont, char: str) -> Tuple[Tuple[int, int], bytes]:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


def _has_all_glyphs(font: ImageFont.FreeTypeFont) -> bool:
    """Every letter and digit draws ink, and not the font's missing-glyph box."""
    missing = _glyph_signature(font, _UNMAPPED_CHAR)
    for char in _REQUIRED_CHARS:
        signature = _glyph_signature(font, char)
        if signature == missing or 0 in signature[0] or not any(signature[1]):
            return False
    return True


def _cases_differ(font: ImageFont.FreeTypeFont) -> bool:
    """Lower and upper case look different, so a mixed-case label matches what is drawn.

    All-caps display fonts draw 'a' as 'A', which would teach a case-sensitive model
    wrong labels.
    """
    return all(
        _glyph_signature(font, char) != _glyph_signature(font, char.upper()) for char in _CASE_PAIRS
    )


def _script_structure_score(font: ImageFont.FreeTypeFont) -> float:
    """Share of lowercase letters whose extent matches Latin script (see module doc)."""
    letters = _X_HEIGHT_LETTERS + _ASCENDER_LETTERS + _DESCENDER_LETTERS
    boxes = {char: font.getbbox(char, anchor="ls") for char in letters}
    x_top = sorted(boxes[char][1] for char in _X_HEIGHT_LETTERS)[len(_X_HEIGHT_LETTERS) // 2]
    size = _PROBE_SIZE
    if x_top > -0.2 * size:
        return 0.0

    def on_baseline(char):
        return abs(boxes[char][3]) < 0.08 * size

    checks = [abs(boxes[c][1] - x_top) < 0.15 * size and on_baseline(c) for c in _X_HEIGHT_LETTERS]
    checks += [boxes[c][1] < x_top - 0.1 * size and on_baseline(c) for c in _ASCENDER_LETTERS]
    checks += [boxes[c][3] > 0.1 * size for c in _DESCENDER_LETTERS]
    return sum(checks) / len(checks)


def covers(path: str, text: str) -> bool:
    """Whether the font has a glyph for every non-space character of `text`.

    Needed only for characters beyond ASCII letters and digits (which `find_fonts`
    already checked): a word drawn with missing-glyph boxes would carry a wrong label.
    """
    return all(_has_glyph(path, char) for char in set(text) - set(_REQUIRED_CHARS) - {" "})


@functools.lru_cache(maxsize=65536)
def _has_glyph(path: str, char: str) -> bool:
    font = load_font(path, _PROBE_SIZE)
    signature = _glyph_signature(font, char)
    return signature != _glyph_signature(font, _UNMAPPED_CHAR) and any(signature[1])
