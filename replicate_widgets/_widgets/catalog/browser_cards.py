"""The pieces ModelBrowser draws: model tiles, the card's head, cover images.

Markup comes from pure functions of a Model (no request is made here), so
:mod:`.browser` keeps the background work and these stay easy to test. A tile is a
small anywidget of its own (:class:`ModelTile`, view ``js/src/tile.ts``): the grid
holds one per model, so a cover image that arrives later is sent once, to its tile
only, rather than with every other tile's again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import traitlets

from replicate_widgets._client.types import Model
from replicate_widgets._widgets.catalog.model_html import model_links_html, runs_text
from replicate_widgets._widgets.composite import Composite, MarkupTrait
from replicate_widgets._widgets.html import Markup, tag
from replicate_widgets._widgets.view import STATIC

__all__ = [
    "ModelTile",
    "card_head_html",
    "model_tile",
    "short",
    "tile_html",
]


def tile_html(model: Model) -> Markup:
    """Return a tile's text: the model's name, description and run count."""
    runs = runs_text(model.run_count)
    return tag(
        "div",
        tag("b", model.ref, class_="rw-tile-ref"),
        tag("div", short(model.description or "", 120), class_="rw-tile-description"),
        tag("div", runs, class_="rw-tile-runs"),
        class_="rw-tile-text",
    )


class ModelTile(Composite):
    """One model in the browser's grid: its cover (or initial), text, Details button.

    The view's Details button sends the ``details`` action; the tile calls
    ``on_details(model.ref)``.
    """

    _esm = STATIC / "tile.js"

    markup = MarkupTrait("").tag(sync=True)
    """The tile's text (see :func:`tile_html`)."""

    initial = traitlets.Unicode("?").tag(sync=True)
    """The letter shown until (or unless) a cover image arrives."""

    cover = traitlets.Bytes(b"").tag(sync=True)
    """The cover as PNG bytes (a thumbnail made in the kernel); empty when none."""

    def __init__(self, model: Model, on_details: Callable[[str], object]) -> None:
        super().__init__(markup=tile_html(model), initial=model.name[:1].upper() or "?")
        self.model = model
        """The model this tile shows."""
        self.on_action("details", lambda _value: on_details(model.ref))

    @property
    def ref(self) -> str:
        """``owner/name`` of the model shown."""
        return self.model.ref


def model_tile(model: Model, on_details: Callable[[str], object]) -> ModelTile:
    """Return a grid tile: a placeholder cover, name, description, Details button."""
    return ModelTile(model, on_details)


def card_head_html(model: Model) -> Markup:
    """Return the model card's title, description, run count and links as HTML."""
    runs = runs_text(model.run_count)
    official = " · official" if model.is_official else ""
    return tag(
        "div",
        tag("h3", model.ref, class_="rw-card-title"),
        tag("div", model.description or "No description."),
        tag("div", runs + official, class_="rw-card-runs"),
        tag("div", model_links_html(model)),
        class_="rw-card-head",
    )


def short(value: Any, limit: int = 200) -> str:
    """Return ``value`` as text (JSON unless a string) of at most ``limit`` chars."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
