"""Finds the fonts that can draw the words of a data set.

The renderer picks a random face for every word, so it needs the list of faces that
really draw its characters. For Latin text some installed fonts do not: dingbat and
symbol fonts map ASCII codes to pictures or Greek letters, and initials or keycap fonts
lack the lowercase. A font is kept for Latin text only if every ASCII letter and digit
has a real glyph and its lowercase letters show the structure of Latin script (a shared
x-height, ascenders that rise above it, descenders that drop below the baseline), which
no symbol font has.

Any other script (Cyrillic, Greek, CJK...) is checked glyph by glyph: `survey_fonts`
keeps the fonts that have a real glyph (not the missing-glyph box) for every character
the data set needs, lists the others with the characters they lack, and names the
characters no font has, so that no word is ever drawn as boxes with a label that says
otherwise.
"""

import functools
import json
import os
import string
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

from PIL import ImageFont

from tf_crnn.cache import cache_folder
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
    The result is kept in memory, and each font's probe in the cache folder (`_Probes`).
    """
    key = tuple(os.path.expanduser(d) for d in (dirs or DEFAULT_FONT_DIRS))
    if key not in _cache:
        _cache[key] = [path for path in _font_files(key) if draws_latin_text(path)]
        _probes().save()
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


@dataclass(frozen=True)
class FontSurvey:
    """Which fonts can draw a data set's characters, and what stands in the way.

    `usable`: sorted paths of the fonts with a glyph for every drawable character;
    `skipped`: (path, why) of the others; `undrawable`: the characters no font has (the
    words that need them cannot be drawn).
    """

    usable: Tuple[str, ...]
    skipped: Tuple[Tuple[str, str], ...]
    undrawable: str


def survey_fonts(characters: str, sources: Optional[Sequence[str]] = None) -> FontSurvey:
    """Checks the fonts of `sources` (font files or folders; the system font folders by
    default) for the glyphs of `characters` (spaces need none).

    When `characters` hold ASCII letters, a font must also draw them as Latin text (see
    the module doc). Raises `DataError` when a source does not exist, when no font file is
    found, or when no font has a single one of the characters.
    """
    paths = _font_sources(sources)
    needed = sorted(set(characters) - {" "})
    latin = any(char in string.ascii_letters for char in needed)
    skipped, candidates = [], []
    for path in paths:
        why = _unusable_reason(path, latin)
        if why:
            skipped.append((path, why))
        else:
            candidates.append(path)
    undrawable = "".join(char for char in needed if not any(_has_glyph(path, char) for path in candidates))
    drawable = [char for char in needed if char not in undrawable]
    if needed and not drawable:
        raise DataError(
            f"none of the {len(paths)} fonts under {', '.join(_shown_sources(sources))} has a glyph for any of "
            f"the characters {_shown_characters(needed)}; pass fonts for this script with --fonts"
        )
    usable = []
    for path in candidates:
        lacking = [char for char in drawable if not _has_glyph(path, char)]
        if lacking:
            skipped.append((path, f"no glyph for {_shown_characters(lacking)}"))
        else:
            usable.append(path)
    _probes().save()
    if not usable:
        raise DataError(
            f"no font under {', '.join(_shown_sources(sources))} has glyphs for all of {_shown_characters(drawable)}; "
            "each font lacks some (see --fonts, or split the word list by script)"
        )
    return FontSurvey(tuple(usable), tuple(sorted(skipped)), "".join(undrawable))


def _font_sources(sources: Optional[Sequence[str]]) -> List[str]:
    """The font files of `sources` (files are taken as they are, folders searched)."""
    if not sources:
        dirs = [os.path.expanduser(d) for d in DEFAULT_FONT_DIRS]
        paths = _font_files(dirs)
        if not paths:
            raise DataError(
                f"no usable TrueType/OpenType font found under {', '.join(dirs)}; "
                "run scripts/install_fonts.sh (as root) to install the fonts the renderer uses"
            )
        return paths
    paths = set()
    for source in sources:
        if os.path.isdir(source):
            found = _font_files([source])
            if not found:
                raise DataError(f"{source}: no {' or '.join(FONT_EXTENSIONS)} font file in this folder")
            paths.update(found)
        elif os.path.isfile(source):
            paths.add(source)
        else:
            raise DataError(f"{source}: no such font file or folder")
    return sorted(paths)


def _unusable_reason(path: str, latin: bool) -> str:
    """Why the font cannot be used at all ('' when it can)."""
    try:
        load_font(path, _PROBE_SIZE)
    except OSError:
        return "not a font file FreeType can open"
    if latin and not draws_latin_text(path):
        return "does not draw ASCII letters as Latin text (a symbol, dingbat or all-caps font)"
    return ""


def _shown_sources(sources: Optional[Sequence[str]]) -> List[str]:
    return list(sources) if sources else list(DEFAULT_FONT_DIRS)


def _shown_characters(chars: Sequence[str], limit: int = 12) -> str:
    """Characters with their code points, since a missing glyph is often one that the
    terminal cannot show either: 'ж' (U+0436)."""
    shown = ", ".join(f"{char!r} (U+{ord(char):04X})" for char in list(chars)[:limit])
    return shown + (f" and {len(chars) - limit} more" if len(chars) > limit else "")


def draws_latin_text(path: str) -> bool:
    """Whether the font at `path` draws ASCII letters and digits as Latin text (probed once
    per font file and machine: `_Probes`)."""
    return _probes().remember(path, "latin", lambda: _draws_latin_text(path))


def _draws_latin_text(path: str) -> bool:
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
    return _probes().remember(path, "glyph " + char, lambda: _draws_glyph(path, char))


def _draws_glyph(path: str, char: str) -> bool:
    font = load_font(path, _PROBE_SIZE)
    signature = _glyph_signature(font, char)
    return signature != _glyph_signature(font, _UNMAPPED_CHAR) and any(signature[1])


class _Probes:
    """What probing each font file found, kept in the cache folder between runs
    (tf_crnn/cache.py), so the renderer starts in a second instead of half a minute.

    A probe draws dozens of glyphs at 100 px, about 40 ms a font: 30 s for the 700 fonts of
    a well-stocked machine, at every start of the renderer. Each result is kept under the
    font's path and stamped with its size and modification time (a changed font is probed
    again); the whole file is dropped when Pillow's version or the probe changes. Writes
    are atomic, so processes that probe at once each leave a whole file.
    """

    FILE = "font-probes.json"
    VERSION = 1

    def __init__(self):
        import PIL

        folder = cache_folder()
        self.path = os.path.join(folder, self.FILE) if folder else None
        self.header = {"version": self.VERSION, "pillow": PIL.__version__, "probe_size": _PROBE_SIZE}
        self.fonts, self.dirty = {}, False
        try:
            with open(self.path, encoding="utf-8") as handle:
                stored = json.load(handle)
            if stored.get("header") == self.header:
                self.fonts = stored["fonts"]
        except (OSError, TypeError, ValueError, KeyError):
            pass

    def remember(self, font_path: str, question: str, probe):
        try:
            info = os.stat(font_path)
        except OSError:
            return probe()  # reports the problem its own way
        stamp = [info.st_size, info.st_mtime_ns]
        entry = self.fonts.get(font_path)
        if entry is None or entry.get("stamp") != stamp:
            entry = self.fonts[font_path] = {"stamp": stamp, "answers": {}}
        if question not in entry["answers"]:
            entry["answers"][question] = bool(probe())
            self.dirty = True
        return entry["answers"][question]

    def save(self) -> None:
        if not (self.dirty and self.path):
            return
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            draft = f"{self.path}.{os.getpid()}.tmp"
            with open(draft, "w", encoding="utf-8") as handle:
                json.dump({"header": self.header, "fonts": self.fonts}, handle)
            os.replace(draft, self.path)
            self.dirty = False
        except OSError:
            pass  # a cache: the next run probes again


_probe_store: Optional[_Probes] = None


def _probes() -> _Probes:
    global _probe_store
    if _probe_store is None:
        _probe_store = _Probes()
    return _probe_store
