"""What History's view draws: rows as plain JSON, details as markup, thumbnails.

One row of JSON per run, the opened run's heading and inputs as markup, and the
thumbnails as bytes.

The view (``js/src/history.ts``) draws a row from its dict: the ``*_html`` values are
markup built by :mod:`replicate_widgets._widgets.html` (it escapes whatever came from
outside); every other value is plain data or text the view puts in with ``textContent``.
A row the view has drawn is kept while its dict stays equal, so a thumbnail arriving
does not redraw the other rows. Nothing here touches a widget or the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from replicate_widgets._widgets.html import Markup, join, tag

from .entries import HistoryEntry, row_html

if TYPE_CHECKING:
    from replicate_widgets._schema.model_schema import ModelSchema

__all__ = ["detail_heading", "inputs_html", "row_data", "thumbs_data"]

Thumb = tuple[bytes, str] | None

OPEN_TIP = "Show this run's inputs, output, logs and metrics under its row"
HIDE_TIP = "Hide this run's details"
TWEAK_TIP = "Load this run's inputs into a Playground of its model"


def row_data(entry: HistoryEntry, is_open: bool) -> dict[str, Any]:
    """Return what the view needs to draw ``entry``'s row (JSON, markup escaped).

    ``open``: the run is opened under this row (its Open reads Hide);
    ``can_tweak``: its inputs are known; ``can_cancel``: it is still running.
    """
    return {
        "id": entry.id,
        "status": entry.status or "unknown",
        "info_html": str(row_html(entry)),
        "open": is_open,
        "open_tip": HIDE_TIP if is_open else OPEN_TIP,
        "can_tweak": bool(entry.input or entry.kept is not None),
        "tweak_tip": TWEAK_TIP,
        "can_cancel": entry.running,
    }


def thumbs_data(
    entries: Iterable[HistoryEntry], thumbs: Mapping[str, Thumb]
) -> dict[str, dict[str, Any]]:
    """Return the thumbnails of ``entries`` by prediction id, for the synced trait.

    The bytes travel as a binary buffer (ipywidgets and marimo take ``bytes`` out
    of a trait's JSON), never as base64 text.
    """
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        thumb = thumbs.get(entry.id)
        if thumb:
            found[entry.id] = {"data": thumb[0], "mime": thumb[1]}
    return found


_GONE = (
    "The backend removed this run's inputs, outputs and logs (Replicate does so an "
    "hour after a run ends) and no copy was kept."
)


def detail_heading(entry: HistoryEntry) -> Markup:
    """Render the opened run's heading: its version and creation time.

    The row above names the model and the run; the panel below repeats them.
    """
    facts: list[Markup | str] = [tag("b", "Details")]
    if entry.version:
        facts.append(join(["version ", tag("code", entry.version[:12])]))
    when = entry.when
    if when is not None:
        facts.append(when.astimezone().strftime("created %Y-%m-%d %H:%M:%S"))
    lines = [tag("div", join(facts, " · "))]
    if entry.data_removed and entry.kept is None:
        lines.append(tag("div", _GONE, class_="rw-history-warning"))
    elif entry.data_removed:
        lines.append(
            tag(
                "div",
                "Shown from the copy kept on this computer.",
                class_="rw-history-muted",
            )
        )
    return tag("div", *lines, class_="rw-history-detail-heading")


def inputs_html(entry: HistoryEntry, schema: ModelSchema | None) -> Markup:
    """Render the opened run's inputs as a table, secrets masked (by ``schema``)."""
    from replicate_widgets._widgets.share import inputs_table

    stored = entry.input or (dict(entry.kept.input) if entry.kept else {})
    table = inputs_table(stored, schema, max_image_edge=192)
    if table is None:
        table = tag(
            "i", "Removed by the backend." if entry.data_removed else "No inputs."
        )
    return tag(
        "div",
        tag("div", "Inputs", class_="rw-history-inputs-title"),
        table,
        class_="rw-history-inputs",
    )
