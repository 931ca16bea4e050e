"""Draws a grid of synthetic word samples with their labels, to check realism by eye.

    python scripts/sample_grid.py --out docs/synth_samples.png --seed 0
"""

import argparse

import numpy as np
from PIL import Image, ImageDraw

from tf_crnn.synth.fonts import find_fonts
from tf_crnn.synth.render import render_word
from tf_crnn.synth.words import WordSampler

DEFAULT_CHARSET = "0123456789abcdefghijklmnopqrstuvwxyz"
CELL_WIDTH, IMAGE_HEIGHT, LABEL_HEIGHT = 200, 48, 14


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/synth_samples.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cols", type=int, default=6)
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--charset", default=DEFAULT_CHARSET)
    parser.add_argument("--case", default="lower", choices=("lower", "mixed"))
    parser.add_argument("--color", action="store_true")
    return parser.parse_args()


def fit_cell(image: Image.Image) -> Image.Image:
    """Scales a crop to the cell height (and at most the cell width), keeping its aspect."""
    scale = min(IMAGE_HEIGHT / image.height, (CELL_WIDTH - 8) / image.width)
    return image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale))))


def main():
    args = parse_args()
    rng = np.random.default_rng(args.seed)
    fonts = find_fonts()
    words = WordSampler(args.charset, rng, case=args.case)
    cell_height = IMAGE_HEIGHT + LABEL_HEIGHT + 6
    grid = Image.new("RGB", (args.cols * CELL_WIDTH, args.rows * cell_height), "white")
    draw = ImageDraw.Draw(grid)
    for index in range(args.rows * args.cols):
        label = words.sample()
        image = render_word(words.display_form(label), rng, fonts, color=args.color)
        x, y = (index % args.cols) * CELL_WIDTH, (index // args.cols) * cell_height
        grid.paste(fit_cell(image).convert("RGB"), (x + 4, y + 2))
        draw.text((x + 4, y + IMAGE_HEIGHT + 4), f"{label}  ({image.width}x{image.height})", fill="black")
    grid.save(args.out)
    print(f"wrote {args.out} ({len(fonts)} fonts)")


if __name__ == "__main__":
    main()
