"""Pictures the browser tests take: saved small, and published where the docs show them.

Shared by the browser tests (no ``test_`` prefix, so pytest does not collect it).
With ``RW_UPDATE_SCREENSHOTS=1`` a picture also replaces its copy under docs/.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image


def shrink(path: Path) -> None:
    """Save ``path`` again as a small PNG: 256 colours is plenty for a UI picture."""
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def publish(path: Path, docs_copy: Path) -> None:
    """Shrink ``path``; copy it to ``docs_copy`` when asked to refresh the docs."""
    shrink(path)
    if os.environ.get("RW_UPDATE_SCREENSHOTS") == "1":
        docs_copy.parent.mkdir(parents=True, exist_ok=True)
        docs_copy.write_bytes(path.read_bytes())
