"""The pieces ModelBrowser draws: model tiles, the card's head, cover images.

Pure functions of a Model (and bytes): no request is made here, so
:mod:`._browser` keeps the background work and these stay easy to test.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import ipywidgets

from ._catalog_shared import model_links_html
from ._html import Markup, tag
from ._types import Model

__all__ = ["card_head_html", "image", "model_tile", "short", "thumbnail"]


def thumbnail(data: bytes, max_edge: int) -> bytes:
    """Return ``data`` as a PNG no larger than ``max_edge`` on its longest side."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.thumbnail((max_edge, max_edge))
        out = io.BytesIO()
        img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB").save(
            out, format="PNG"
        )
        return out.getvalue()


def model_tile(model: Model, on_details: Callable[[str], object]) -> ipywidgets.VBox:
    """Return a grid tile: a placeholder cover, name, description, Details button."""
    placeholder = ipywidgets.HTML(
        tag(
            "div",
            model.name[:1].upper() or "?",
            style=(
                "height:96px;display:flex;align-items:center;justify-content:center;"
                "background:var(--jp-layout-color2,#eee);font-size:28px"
            ),
        )
    )
    runs = f"{model.run_count:,} runs" if model.run_count is not None else ""
    text = ipywidgets.HTML(
        tag(
            "div",
            tag("b", model.ref, class_="rw-tile-ref"),
            tag("div", short(model.description or "", 120), style="font-size:12px"),
            tag("div", runs, style="font-size:11px;opacity:.7"),
            style="line-height:1.35",
        )
    )
    button = ipywidgets.Button(description="Details", layout={"width": "auto"})
    button.add_class("rw-tile-open")
    button.on_click(lambda _b: on_details(model.ref))
    tile = ipywidgets.VBox(
        [placeholder, text, button],
        layout={
            "border": "1px solid var(--jp-border-color2,#ddd)",
            "padding": "6px",
        },
    )
    tile.add_class("rw-browser-tile")
    return tile


def card_head_html(model: Model) -> Markup:
    """Return the model card's title, description, run count and links as HTML."""
    runs = f"{model.run_count:,} runs" if model.run_count is not None else ""
    official = " · official" if model.is_official else ""
    return tag(
        "div",
        tag("h3", model.ref, class_="rw-card-title"),
        tag("div", model.description or "No description."),
        tag("div", runs + official, class_="rw-card-runs"),
        tag("div", model_links_html(model)),
        style="line-height:1.4",
    )


def image(data: bytes) -> ipywidgets.Image:
    """Return a PNG as a width-bounded cover image widget."""
    image = ipywidgets.Image(value=data, format="png")
    image.layout.max_width = "100%"
    image.add_class("rw-cover")
    return image


def short(value: Any, limit: int = 200) -> str:
    """Return ``value`` as text (JSON unless a string) of at most ``limit`` chars."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
