"""Renders one word as a cropped scene-text image, in the manner of MJSynth.

A sample is made in steps, each with random strength and driven only by the given
`numpy.random.Generator`, so a seed always gives the same image:

1. draw the text with a random font, size and letter spacing, as three masks: the
   glyphs, an optional border around them and an optional shadow;
2. warp the masks at once (slant, stretch, rotation, perspective, arc-shaped bending);
3. crop tightly around the ink, with small random margins; now and then the word has
   neighbours (letters of the next words on its line, or lines of text above or below
   it) and the crop cuts into them;
4. paint a background (flat, gradient, procedural texture, blended random shapes, and,
   if asked for, stray letters behind the word) and composite shadow, border and text
   onto it in colours of random contrast, dark on light or light on dark;
5. degrade the result like a camera would: uneven lighting, blur, lower resolution,
   sensor noise and JPEG artefacts.

Only Pillow and numpy are used; a 100x32 word takes a couple of milliseconds.
"""

import colorsys
import io
import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tf_crnn.synth.fonts import covers, load_font

# The three bands of the mask image that carries the text through the warp.
_FILL, _BORDER, _SHADOW = 0, 1, 2
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_FONT_TRIES = 8
_MESH_CELL = 12
_MESH_ROWS = 3
# Share of words drawn between neighbouring letters that the crop cuts into, as word
# boxes in photographs often do; a model that never saw them reads a sliver as an i or l.
_NEIGHBOUR_FRACTION = 0.15
# Share of words drawn with a line of text close above or below them, as on signs, labels
# and pages, so that the crop shows the tops or bottoms of that line's letters.
_LINE_FRACTION = 0.1
# The empty space between the word's ink and a line's, in word heights: tight leading.
_LINE_GAP = (0.05, 0.3)
# Share of words squeezed into condensed lettering, and how narrow (width factor): signs
# and shop fronts use narrow letters that few installed fonts have, and a model that saw
# none misreads them (rendered words squeezed to 0.65 of their width: 96.8% -> 86.4%).
_CONDENSED_FRACTION = 0.3
_CONDENSED_WIDTH = (0.5, 0.8)
# Stray letters behind the word (SynthTIGER's "midground"): a line of other letters in
# another font and size, off the word's line and fainter than the word, as the signs and
# posters behind a word in a photograph show. Their contrast with the background, as a
# share of the word's; what share of words have them is `render_word`'s `midground`.
_MIDGROUND_CONTRAST = (0.25, 0.7)


@dataclass(frozen=True)
class _Surroundings:
    """Text drawn around the word on the same surface: letters of the neighbouring words
    on its line (`left`, `right`, with their spaces) and lines `above` and `below` it."""

    left: str = ""
    right: str = ""
    above: str = ""
    below: str = ""

    def __bool__(self) -> bool:
        return any((self.left, self.right, self.above, self.below))


def render_word(
    text: str, rng: np.random.Generator, fonts: List[str], height: int = 32, color: bool = False,
    bulge: Optional[float] = None, midground: float = 0.0,
) -> Image.Image:
    """Returns `text` rendered as a tight word crop: an 'L' image, or 'RGB' if `color`.

    `height` is the typical crop height: crops vary from about 0.8x to 2x of it, with the
    width following the text, like real crops before a model resizes them. `bulge` forces
    the arc bend (0 for none, else its bulge in text heights) instead of drawing it as the
    training data does; one seed then gives the same word, font and colours at every
    bulge, which is how scripts/distortion_check.py measures a model on bent words.
    `midground` is the share of words drawn with stray letters behind them (0, the
    default, draws nothing more from `rng`, so a seed gives the images it always gave).
    """
    size = max(8, int(round(height * rng.uniform(0.85, 1.6))))
    font = load_font(_pick_font(text, rng, fonts), size)
    around = _surroundings(text, rng)
    masks = _draw_masks(text, font, rng, around)
    masks = _warp(masks, rng, line_height=font.size, bulge=bulge)
    masks = _crop_to_ink(masks, rng, around)
    alpha = np.asarray(masks, np.float32)[..., :3] / 255.0
    channels = 3 if color else 1
    palette = _Palette(rng, channels)
    image = _background(alpha.shape[:2], palette, rng)
    if midground and rng.random() < midground:
        image = _stray_letters(image, alpha, text, palette, rng, fonts)
    image = _paint_text(image, alpha, palette, rng)
    image = _uneven_lighting(image, rng)
    return _degrade(image, rng)


def _pick_font(text: str, rng: np.random.Generator, fonts: List[str]) -> str:
    """A random font that has glyphs for all of `text` (the first one that does, if
    several random picks do not)."""
    for _ in range(_FONT_TRIES):
        path = fonts[rng.integers(len(fonts))]
        if covers(path, text):
            return path
    return next((path for path in fonts if covers(path, text)), path)


# --- 1. text masks ---------------------------------------------------------------------


def _surroundings(text: str, rng: np.random.Generator) -> _Surroundings:
    """Usually nothing; sometimes letters of neighbouring words left and right of `text`,
    or lines above or below it, all made of `text`'s own characters, which the chosen
    font has."""
    chars = [c for c in text if not c.isspace()]
    neighbours, lines = rng.random() < _NEIGHBOUR_FRACTION, rng.random() < _LINE_FRACTION
    if not chars or not (neighbours or lines):
        return _Surroundings()
    left = right = above = below = ""
    if neighbours:
        sides = rng.choice(3, p=(0.4, 0.4, 0.2))  # left only, right only, both
        left = "".join(rng.choice(chars, size=rng.integers(1, 4))) + " " if sides in (0, 2) else ""
        right = " " + "".join(rng.choice(chars, size=rng.integers(1, 4))) if sides in (1, 2) else ""
    if lines:
        sides = rng.choice(3, p=(0.4, 0.4, 0.2))  # above only, below only, both
        length = (len(chars) // 2 + 1, 2 * len(chars) + 3)
        above = "".join(rng.choice(chars, size=rng.integers(*length))) if sides in (0, 2) else ""
        below = "".join(rng.choice(chars, size=rng.integers(*length))) if sides in (1, 2) else ""
    return _Surroundings(left, right, above, below)


def _draw_masks(text: str, font, rng: np.random.Generator, around: _Surroundings = _Surroundings()) -> Image.Image:
    """Draws the glyph, border and shadow masks of `text` and what is `around` it into the
    bands of one RGB image; with surroundings, a fourth band (a CMYK image, which Pillow
    warps band by band, unlike RGBA) holds the glyphs and border of `text` alone, for the
    crop. Lines above and below are shifted sideways at random, as on real signs."""
    word, line = text, around.left + text + around.right
    size = font.size
    spacing = size * rng.uniform(-0.04, 0.3) if rng.random() < 0.25 else 0.0
    stroke = max(1, int(round(size * rng.uniform(0.03, 0.09)))) if rng.random() < 0.2 else 0
    has_shadow = rng.random() < 0.2
    shadow_shift = size * rng.uniform(0.03, 0.1) * np.array([rng.uniform(-0.5, 1.0), rng.uniform(0.3, 1.0)])
    ascent, descent = font.getmetrics()
    margin = stroke + int(size * 0.2) + 2

    def advances(string):
        return [font.getlength(c) + spacing for c in string] if spacing else None

    def length(string):
        return sum(advances(string)) if spacing else font.getlength(string)

    # Baseline origins relative to the main line's, then moved into a canvas that holds all.
    # Lines above and below are placed by their ink, a small gap from the word's.
    line_width = length(line)
    pieces = [(line, 0.0, 0.0)]
    for string, direction in ((around.above, -1), (around.below, 1)):
        if string:
            _, word_top, _, word_bottom = font.getbbox(word, anchor="ls")
            shift = rng.uniform(-0.5, 0.5) * line_width + (line_width - length(string)) / 2
            gap = (word_bottom - word_top) * rng.uniform(*_LINE_GAP) + 2 * stroke
            _, ink_top, _, ink_bottom = font.getbbox(string, anchor="ls")
            baseline = word_top - gap - ink_bottom if direction < 0 else word_bottom + gap - ink_top
            pieces.append((string, shift, baseline))
    left_edge = min(x for _, x, _ in pieces)
    right_edge = max(x + length(string) for string, x, _ in pieces)
    top, bottom = min(y for _, _, y in pieces), max(y for _, _, y in pieces)
    canvas = (max(int(right_edge - left_edge + 2 * margin + size * 0.5), 1), int(bottom - top) + ascent + descent + 2 * margin)
    origin = (margin + size * 0.1 - left_edge, margin + ascent - top)
    placed = [(string, (origin[0] + x, origin[1] + y), advances(string)) for string, x, y in pieces]

    fill = _text_mask(canvas, placed, font, 0)
    border = _text_mask(canvas, placed, font, stroke) if stroke else Image.new("L", canvas)
    if has_shadow:
        shifted = [(string, (x + shadow_shift[0], y + shadow_shift[1]), adv) for string, (x, y), adv in placed]
        shadow = _text_mask(canvas, shifted, font, stroke)
        shadow = shadow.filter(ImageFilter.GaussianBlur(size * rng.uniform(0.0, 0.08)))
    else:
        shadow = Image.new("L", canvas)
    if not around:
        return Image.merge("RGB", (fill, border, shadow))
    skip = length(around.left)
    line_advances = placed[0][2]  # the main line's, measured once above
    word_advances = line_advances[len(around.left) : len(around.left) + len(word)] if spacing else None
    core = _text_mask(canvas, [(word, (origin[0] + skip, origin[1]), word_advances)], font, stroke)
    return Image.merge("CMYK", (fill, border, shadow, core))


def _text_mask(canvas, placed, font, stroke) -> Image.Image:
    """One mask of the `placed` strings, each (text, baseline origin, advances): drawn
    letter by letter at the given advances when the spacing is changed, else in one call."""
    mask = Image.new("L", canvas)
    draw = ImageDraw.Draw(mask)
    for text, origin, advances in placed:
        if advances is None:
            draw.text(origin, text, fill=255, font=font, anchor="ls", stroke_width=stroke, stroke_fill=255)
            continue
        x, y = origin
        for char, advance in zip(text, advances):
            draw.text((x, y), char, fill=255, font=font, anchor="ls", stroke_width=stroke, stroke_fill=255)
            x += advance
    return mask


# --- 2. geometry -----------------------------------------------------------------------


def _warp(masks: Image.Image, rng: np.random.Generator, line_height: Optional[float] = None,
          bulge: Optional[float] = None) -> Image.Image:
    """Applies a random projective transform and, sometimes, an arc bend in one resampling.

    Rotation and bend are sized by `line_height` (default: the masks' height), so that
    lines drawn above or below the word do not make its own line turn or bend more.
    Without a bend this is one Pillow PERSPECTIVE transform. With one, the map from output
    to input pixels is sampled on a coarse grid and handed to Pillow's MESH transform.
    """
    width, height = masks.size
    line_height = min(height, line_height or height)
    center = np.array([width / 2.0, height / 2.0])
    matrix = _random_homography(rng, width, line_height, center)
    bend = _random_bend(rng, width, line_height, bulge)
    outline = _forward(_outline_points(width, height), matrix, bend, center)
    low = np.floor(outline.min(axis=0)) - 1
    out_size = tuple(int(v) for v in np.ceil(outline.max(axis=0) - low) + 2)
    inverse = np.linalg.inv(matrix)
    if bend is None:
        shifted = inverse @ np.array([[1, 0, low[0]], [0, 1, low[1]], [0, 0, 1]])
        coefficients = tuple((shifted / shifted[2, 2]).ravel()[:8])
        return masks.transform(out_size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR)
    mesh = _mesh(out_size, low, inverse, bend, center)
    return masks.transform(out_size, Image.Transform.MESH, mesh, Image.Resampling.BILINEAR)


def _random_homography(rng: np.random.Generator, width: float, height: float, center: np.ndarray) -> np.ndarray:
    """Slant, horizontal stretch (or condensing), rotation and a mild perspective tilt, about `center`.

    The rotation of a long word is kept small enough that it rises by at most about half
    its height across its length, or the crop would be mostly background.
    """
    max_angle = math.atan(0.6 * height / width)
    angle = float(np.clip(rng.normal(0.0, math.radians(2.5)), -max_angle, max_angle)) if rng.random() < 0.5 else 0.0
    slant = rng.uniform(-0.35, 0.35) if rng.random() < 0.25 else 0.0
    if rng.random() < _CONDENSED_FRACTION:
        stretch = rng.uniform(*_CONDENSED_WIDTH)
    else:
        stretch = math.exp(rng.uniform(-0.25, 0.2))
    tilt_x = rng.uniform(-0.12, 0.12) / (width / 2) if rng.random() < 0.3 else 0.0
    tilt_y = rng.uniform(-0.1, 0.1) / (height / 2) if rng.random() < 0.3 else 0.0
    cos, sin = math.cos(angle), math.sin(angle)
    shape = np.array([[stretch, slant, 0], [0, 1, 0], [0, 0, 1]])
    rotate = np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]])
    tilt = np.array([[1, 0, 0], [0, 1, 0], [tilt_x, tilt_y, 1]])
    to_center = np.array([[1, 0, -center[0]], [0, 1, -center[1]], [0, 0, 1]])
    from_center = np.array([[1, 0, center[0]], [0, 1, center[1]], [0, 0, 1]])
    return from_center @ tilt @ rotate @ shape @ to_center


def _random_bend(rng: np.random.Generator, width: float, height: float, bulge: Optional[float] = None):
    """None, or (radius, side) of an arc: side +1 bends the word over a centre below it
    (like text around the top of a badge), -1 under a centre above it.

    The bulge of the arc is drawn relative to the text height, so long words bend as
    much as short ones in the final crop. A given `bulge` (in text heights; 0: no arc)
    takes the same draws whatever its value, so only the bend differs between them.
    """
    if bulge is None:
        if rng.random() >= 0.12:
            return None
        bulge = rng.uniform(0.1, 0.5)
    side = 1.0 if rng.random() < 0.6 else -1.0
    if bulge <= 0:
        return None
    span = min(1.6, 8.0 * height * bulge / width)
    return width / span, side


def _outline_points(width: float, height: float) -> np.ndarray:
    xs = np.linspace(0, width, 16)
    ys = np.linspace(0, height, 6)
    return np.concatenate(
        [np.stack([xs, np.zeros_like(xs)], 1), np.stack([xs, np.full_like(xs, height)], 1),
         np.stack([np.zeros_like(ys), ys], 1), np.stack([np.full_like(ys, width), ys], 1)]
    )


def _apply_homography(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    homogeneous = np.concatenate([points, np.ones((len(points), 1))], 1) @ matrix.T
    return homogeneous[:, :2] / homogeneous[:, 2:]


def _forward(points, matrix, bend, center) -> np.ndarray:
    """Input -> output positions: the homography, then the arc."""
    points = _apply_homography(matrix, points)
    if bend is None:
        return points
    radius, side = bend
    theta = (points[:, 0] - center[0]) / radius
    r = radius - side * (points[:, 1] - center[1])
    return np.stack(
        [center[0] + r * np.sin(theta), center[1] + side * (radius - r * np.cos(theta))], 1
    )


def _backward(points, inverse, bend, center) -> np.ndarray:
    """Output -> input positions: the inverse of `_forward`."""
    if bend is not None:
        radius, side = bend
        dx = points[:, 0] - center[0]
        dy = side * (center[1] - points[:, 1]) + radius
        theta = np.arctan2(dx, dy)
        r = np.hypot(dx, dy)
        points = np.stack([center[0] + radius * theta, center[1] + side * (radius - r)], 1)
    return _apply_homography(inverse, points)


def _mesh(out_size, offset, inverse, bend, center) -> List[Tuple[tuple, tuple]]:
    """Pillow MESH data: for each output cell, the input quad (NW, SW, SE, NE) it samples."""
    nx = max(1, out_size[0] // _MESH_CELL)
    ny = _MESH_ROWS
    xs = np.linspace(0, out_size[0], nx + 1)
    ys = np.linspace(0, out_size[1], ny + 1)
    grid_x, grid_y = np.meshgrid(xs, ys)
    out_points = np.stack([grid_x.ravel(), grid_y.ravel()], 1)
    source = _backward(out_points + offset, inverse, bend, center).reshape(ny + 1, nx + 1, 2)
    cells = []
    for j in range(ny):
        for i in range(nx):
            box = (int(xs[i]), int(ys[j]), int(xs[i + 1]), int(ys[j + 1]))
            quad = (*source[j, i], *source[j + 1, i], *source[j + 1, i + 1], *source[j, i + 1])
            cells.append((box, tuple(float(v) for v in quad)))
    return cells


# --- 3. crop ---------------------------------------------------------------------------


def _crop_to_ink(masks: Image.Image, rng: np.random.Generator, around: _Surroundings = _Surroundings()) -> Image.Image:
    """Crops around the ink with small random margins, now and then shaving a pixel off,
    as hand-drawn or detected word boxes do. With surroundings, the box spans the word's
    own ink (the fourth band) across, and down too when there are lines above or below
    (else all the ink of its line, as a box around a line's words would); beside
    neighbouring letters it reaches into their space by up to about half the text height,
    so that often a sliver of a letter shows, as do the edges of close lines."""
    ink_box = masks.getbbox()  # the word's band lies inside the glyph and border bands
    if ink_box is None:
        return masks
    left, top, right, bottom = ink_box
    if masks.mode == "CMYK":
        word_box = masks.getchannel(3).getbbox() or ink_box
        left, right = word_box[0], word_box[2]
        if around.above or around.below:
            top, bottom = word_box[1], word_box[3]
    text_height = bottom - top
    margins = text_height * (rng.beta(1.2, 4.0, size=4) * np.array([0.35, 0.3, 0.35, 0.3]) - 0.02)
    reach = text_height * rng.uniform(0.2, 0.55, size=2)
    margins[0] = reach[0] if around.left else margins[0]
    margins[2] = reach[1] if around.right else margins[2]
    if around.above or around.below:
        gaps = _gaps_to_lines(masks, (left, top, right, bottom))
        slivers = text_height * rng.uniform(0.0, 0.2, size=2)
        margins[1] = gaps[0] + slivers[0] if around.above and gaps[0] is not None else margins[1]
        margins[3] = gaps[1] + slivers[1] if around.below and gaps[1] is not None else margins[3]
    box = (
        int(round(left - margins[0])),
        int(round(top - margins[1])),
        int(round(right + margins[2])),
        int(round(bottom + margins[3])),
    )
    return masks.crop(box)


def _gaps_to_lines(masks: Image.Image, word_box: Tuple[int, int, int, int]) -> Tuple[Optional[int], Optional[int]]:
    """Distances from the word's box up to the nearest ink of the line above and down to
    that of the line below, within the word's columns (None where there is none)."""
    left, top, right, bottom = word_box
    bands = np.asarray(masks)[:, left:right]
    other_rows = ((bands[..., _FILL] > 64) & (bands[..., 3] < 64)).any(axis=1)
    above = np.flatnonzero(other_rows[:top])
    below = np.flatnonzero(other_rows[bottom:])
    return (int(top - above[-1]) if above.size else None, int(below[0]) if below.size else None)


# --- 4. colours, background and compositing --------------------------------------------


class _Palette:
    """The colours of one sample, as arrays of `channels` values in [0, 1]."""

    def __init__(self, rng: np.random.Generator, channels: int):
        contrast = rng.uniform(0.12, 0.3) if rng.random() < 0.15 else rng.uniform(0.3, 0.95)
        light = rng.uniform(contrast, 1.0)
        dark = light - contrast
        dark_text = rng.random() < 0.6
        text_lum, back_lum = (dark, light) if dark_text else (light, dark)
        self.contrast = contrast
        self.channels = channels
        self.back_luminance = back_lum
        self.text = _colour(rng, text_lum, channels)
        self.text2 = _colour(rng, np.clip(text_lum + rng.normal(0, contrast / 4), 0, 1), channels)
        self.back = _colour(rng, back_lum, channels)
        self.back2 = _colour(rng, np.clip(back_lum + rng.normal(0, contrast / 2), 0, 1), channels)
        self.border = _colour(rng, np.clip(1.0 - text_lum + rng.normal(0, 0.15), 0, 1), channels)
        self.shadow = _colour(rng, min(text_lum, back_lum) * rng.uniform(0.0, 0.6), channels)


def _colour(rng: np.random.Generator, luminance: float, channels: int) -> np.ndarray:
    """A colour of random hue and saturation with the given luminance (grey if 1 channel)."""
    if channels == 1:
        return np.array([luminance], np.float32)
    rgb = np.array(colorsys.hsv_to_rgb(rng.random(), rng.beta(1.0, 1.5), 1.0), np.float32)
    current = float(rgb @ _LUMA)
    if luminance <= current:
        return rgb * (luminance / current)
    return rgb + (1.0 - rgb) * (luminance - current) / (1.0 - current + 1e-6)


def _background(shape: Tuple[int, int], palette: _Palette, rng: np.random.Generator) -> np.ndarray:
    """A background of the palette's colour: flat or a gradient, plus, sometimes, a
    procedural texture and blended random shapes."""
    height, width = shape
    image = np.broadcast_to(palette.back, (height, width, palette.channels)).astype(np.float32)
    if rng.random() < 0.4:
        image = _lerp(image, palette.back2, _ramp(shape, rng)[..., None])
    if rng.random() < 0.45:
        strength = palette.contrast * rng.uniform(0.2, 0.7)
        texture = _value_noise(shape, rng, octaves=int(rng.integers(2, 6)))
        image = _lerp(image, palette.back2 if rng.random() < 0.5 else 1.0 - palette.back, strength * texture[..., None])
    if rng.random() < 0.3:
        image = _blend_shapes(image, palette, rng)
    return image


def _ramp(shape: Tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A linear 0..1 ramp across the image in a random direction."""
    height, width = shape
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = xs * math.cos(angle) + ys * math.sin(angle)
    return (ramp - ramp.min()) / (np.ptp(ramp) + 1e-6)


def _value_noise(shape: Tuple[int, int], rng: np.random.Generator, octaves: int) -> np.ndarray:
    """Fractal value noise in [0, 1]: random grids of growing resolution, smoothly upscaled
    and summed with halving weights (stains, paper, wood, stone-like textures)."""
    height, width = shape
    total = np.zeros(shape, np.float32)
    weight_sum = 0.0
    for octave in range(octaves):
        cells = 2 ** (octave + 1)
        grid = rng.random((max(2, cells * height // max(width, 1) + 1), cells + 1)).astype(np.float32)
        layer = np.asarray(Image.fromarray(grid, "F").resize((width, height), Image.Resampling.BICUBIC))
        weight = 0.5**octave
        total += weight * layer
        weight_sum += weight
    total /= weight_sum
    return np.clip((total - total.min()) / (np.ptp(total) + 1e-6), 0.0, 1.0)


def _blend_shapes(image: np.ndarray, palette: _Palette, rng: np.random.Generator) -> np.ndarray:
    """Blends a few random rectangles, ellipses and lines into the background, like the
    clutter of a natural image patch behind the word."""
    height, width = image.shape[:2]
    for _ in range(int(rng.integers(1, 5))):
        mask = Image.new("L", (width, height))
        draw = ImageDraw.Draw(mask)
        x0, x1 = sorted(rng.uniform(-0.2, 1.2, 2) * width)
        y0, y1 = sorted(rng.uniform(-0.2, 1.2, 2) * height)
        kind = rng.integers(3)
        if kind == 0:
            draw.rectangle((x0, y0, x1, y1), fill=255)
        elif kind == 1:
            draw.ellipse((x0, y0, x1, y1), fill=255)
        else:
            draw.line((x0, y0, x1, y1), fill=255, width=int(rng.integers(1, max(2, height // 6))))
        mask = mask.filter(ImageFilter.GaussianBlur(rng.uniform(0, 2)))
        amount = rng.uniform(0.1, 0.6) * palette.contrast
        colour = _colour(rng, rng.random(), palette.channels)
        image = _lerp(image, colour, amount * np.asarray(mask, np.float32)[..., None] / 255.0)
    return image


def _stray_letters(image: np.ndarray, alpha: np.ndarray, text: str, palette: _Palette, rng: np.random.Generator,
                   fonts: List[str]) -> np.ndarray:
    """Paints a line of letters across the background behind the word: `text`'s own
    characters shuffled, in a font that has them and at 0.9-2.2 times the word's height,
    its middle 0.4-1 word heights above or below the word's, slightly turned and out of
    focus, in a colour whose contrast with the background is a fraction of the word's.
    The model learns that letters which are not the word's are not read."""
    height, width = image.shape[:2]
    chars = [c for c in text if not c.isspace()]
    rows = np.flatnonzero(alpha[..., _FILL].max(axis=1) > 0.5)
    if not chars or not rows.size:
        return image
    text_height = int(rows[-1] - rows[0] + 1)
    size = max(6, int(text_height * rng.uniform(0.9, 2.2)))
    stray = "".join(rng.choice(chars, size=int(width / (0.4 * size)) + 2))
    font = load_font(_pick_font(stray, rng, fonts), size)
    middle = (rows[0] + rows[-1]) / 2 + text_height * rng.uniform(0.4, 1.0) * rng.choice((-1, 1))
    mask = Image.new("L", (width, height))
    ImageDraw.Draw(mask).text((-rng.uniform(0, 0.5) * size, middle), stray, fill=255, font=font, anchor="lm")
    mask = mask.rotate(rng.normal(0.0, 4.0), resample=Image.Resampling.BILINEAR)
    mask = mask.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.0, 1.0) * text_height / 16)))
    back = palette.back_luminance
    difference = palette.contrast * rng.uniform(*_MIDGROUND_CONTRAST)
    # Lighter or darker than the background at random, where both fit in 0..1 (one always does).
    lighter = back + difference <= 1 and (back < difference or rng.random() < 0.5)
    luminance = back + difference if lighter else back - difference
    colour = _colour(rng, luminance, palette.channels)
    return _lerp(image, colour, np.asarray(mask, np.float32)[..., None] / 255.0)


def _paint_text(image: np.ndarray, alpha: np.ndarray, palette: _Palette, rng: np.random.Generator) -> np.ndarray:
    """Composites shadow, border and glyphs, the glyphs in a flat, graded or textured colour
    and sometimes slightly see-through, as if printed on the surface."""
    shape = alpha.shape[:2]
    image = _lerp(image, palette.shadow, alpha[..., _SHADOW : _SHADOW + 1] * rng.uniform(0.4, 0.9))
    image = _lerp(image, palette.border, alpha[..., _BORDER : _BORDER + 1])
    fill = np.broadcast_to(palette.text, image.shape)
    style = rng.random()
    if style < 0.2:
        fill = _lerp(fill, palette.text2, _ramp(shape, rng)[..., None])
    elif style < 0.3:
        fill = _lerp(fill, palette.text2, _value_noise(shape, rng, octaves=3)[..., None])
    opacity = rng.uniform(0.7, 1.0) if rng.random() < 0.3 else 1.0
    return _lerp(image, fill, alpha[..., _FILL : _FILL + 1] * opacity)


def _lerp(a, b, t):
    return a + (np.asarray(b, np.float32) - a) * t


# --- 5. camera effects -----------------------------------------------------------------


def _uneven_lighting(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sometimes darkens one side of the crop, as light falling across a sign does."""
    if rng.random() >= 0.25:
        return image
    shade = 1.0 - rng.uniform(0.1, 0.5) * _ramp(image.shape[:2], rng)
    return image * shade[..., None]


def _degrade(image: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Blur, low resolution, noise and JPEG artefacts, each with random strength."""
    height, width = image.shape[:2]
    result = _to_pil(image)
    if rng.random() < 0.6:
        result = result.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.2) * height / 32.0))
    if rng.random() < 0.3:
        factor = rng.uniform(0.35, 0.8)
        small = (max(1, int(width * factor)), max(1, int(height * factor)))
        result = result.resize(small, Image.Resampling.BILINEAR).resize((width, height), Image.Resampling.BILINEAR)
    if rng.random() < 0.5:
        noisy = np.asarray(result, np.float32) / 255.0
        result = _to_pil(noisy + rng.normal(0.0, rng.uniform(0.005, 0.05), noisy.shape).astype(np.float32))
    if rng.random() < 0.5:
        result = _jpeg_roundtrip(result, int(rng.integers(15, 85)))
    return result


def _to_pil(image: np.ndarray) -> Image.Image:
    """A float image in [0, 1] (HxW or HxWxC) as an 8-bit 'L' or 'RGB' image."""
    pixels = np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    return Image.fromarray(pixels, "L" if pixels.ndim == 2 else "RGB")


def _jpeg_roundtrip(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert(image.mode)
