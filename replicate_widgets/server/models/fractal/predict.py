"""Zooms into the Mandelbrot set, yielding images as the render sharpens."""

import itertools
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator

from cog import BaseRunner, Input, Path
from PIL import Image

# Points on the set's boundary where zooming stays interesting.
TARGETS = [
    (-0.743643887037151, 0.131825904205330),
    (-0.7453, 0.1127),
    (-1.25066, 0.02012),
    (-0.16, 1.0405),
    (0.285, 0.0100),
    (-0.8115312, -0.2014534),
]

# Colour stops per map: position 0..1 -> RGB.
COLORMAPS = {
    "twilight": [
        (0.0, (20, 11, 52)),
        (0.3, (91, 46, 143)),
        (0.6, (229, 148, 86)),
        (1.0, (252, 245, 224)),
    ],
    "fire": [
        (0.0, (0, 0, 0)),
        (0.35, (160, 20, 0)),
        (0.7, (255, 160, 0)),
        (1.0, (255, 255, 200)),
    ],
    "ocean": [
        (0.0, (0, 7, 40)),
        (0.4, (0, 80, 160)),
        (0.75, (80, 200, 220)),
        (1.0, (240, 255, 255)),
    ],
    "grayscale": [(0.0, (0, 0, 0)), (1.0, (255, 255, 255))],
}


def palette(name, shift):
    stops = COLORMAPS[name]
    flat = []
    for i in range(256):
        x = ((i / 255.0) + shift) % 1.0 if name != "grayscale" else i / 255.0
        for (p0, c0), (p1, c1) in itertools.pairwise(stops):
            if p0 <= x <= p1:
                t = (x - p0) / (p1 - p0)
                flat.extend(round(a + (b - a) * t) for a, b in zip(c0, c1, strict=True))
                break
    return flat


def progress(done, total, started):
    elapsed = time.monotonic() - started
    rate = done / elapsed if elapsed > 0 else 0.0
    left = (total - done) / rate if rate > 0 else 0.0
    bar = "█" * (10 * done // total)
    fmt = lambda s: f"{int(s) // 60:02d}:{int(s) % 60:02d}"  # noqa: E731
    timing = f"[{fmt(elapsed)}<{fmt(left)}, {rate:.2f}it/s]"
    return f"{100 * done // total:3d}%|{bar:<10}| {done}/{total} {timing}"


class Predictor(BaseRunner):
    def run(
        self,
        width: int = Input(
            description="Image width in pixels",
            default=384,
            choices=[256, 384, 512, 768],
        ),
        height: int = Input(
            description="Image height in pixels",
            default=384,
            choices=[256, 384, 512, 768],
        ),
        seed: int = Input(
            description="Picks where to zoom and the colour offset; -1 for random",
            default=-1,
        ),
        steps: int = Input(
            description="Zoom steps; each one doubles the magnification",
            default=10,
            ge=1,
            le=40,
        ),
        colormap: str = Input(
            description="Colour map",
            default="twilight",
            choices=["twilight", "fire", "ocean", "grayscale"],
        ),
        zoom_speed: float = Input(
            description="Magnification per step", default=2.0, ge=1.1, le=4.0
        ),
    ) -> Iterator[Path]:
        if seed < 0:
            seed = int.from_bytes(os.urandom(2), "big")
        print(f"seed {seed}")
        rng = random.Random(seed)
        cx, cy = rng.choice(TARGETS)
        pal = palette(colormap, rng.random())
        out_dir = tempfile.mkdtemp(prefix="fractal-")
        every = max(1, math.ceil(steps / 4))
        started = time.monotonic()
        for step in range(1, steps + 1):
            scale = 3.0 / (zoom_speed**step)
            half_w = scale / 2 * (width / min(width, height))
            half_h = scale / 2 * (height / min(width, height))
            quality = min(1000, 60 + 25 * step)
            image = Image.effect_mandelbrot(
                (width, height),
                (cx - half_w, cy - half_h, cx + half_w, cy + half_h),
                quality,
            )
            image = image.convert("P")
            image.putpalette(pal)
            print(progress(step, steps, started), file=sys.stderr, flush=True)
            # A short pause so the zoom is visible as it streams.
            time.sleep(0.08)
            if step % every == 0 or step == steps:
                path = Path(out_dir) / f"zoom-{step:03d}.png"
                image.convert("RGB").save(path)
                yield path
