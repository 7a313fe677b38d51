"""The drawn table of :class:`~._history.History`: a header and one row per entry.

Rows whose content did not change are reused, so a thumbnail arriving does not
rebuild (and resend) every other row's widgets. Only the io loop calls
:meth:`RowTable.render`, as History's one writer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets

from ._history_model import COLUMNS, HistoryEntry, row_html, row_signature
from ._html import tag

__all__ = ["RowActions", "RowTable", "close_tree"]

Thumb = tuple[bytes, str] | None


@dataclasses.dataclass(frozen=True)
class RowActions:
    """What a row's buttons do, each called with the row's prediction id."""

    open: Callable[[str], object]
    tweak: Callable[[str], object]
    cancel: Callable[[str], object]


class RowTable:
    """The table's VBox (:attr:`box`) and the rows drawn in it.

    Parameters
    ----------
    actions
        What the Open, Tweak and Cancel buttons do.
    """

    def __init__(self, actions: RowActions) -> None:
        self._actions = actions
        cells = (tag("b", t, style=f"flex:0 0 {w}") for t, w in COLUMNS)
        self._head = ipywidgets.HTML(
            tag("div", *cells, style="display:flex;gap:8px;padding-left:74px")
        )
        self._empty = ipywidgets.HTML(tag("i", "No predictions yet."))
        self._rows: dict[str, tuple[tuple[Any, ...], ipywidgets.HBox]] = {}
        self.box = ipywidgets.VBox()
        """The widget that shows the header and the rows."""
        self.box.add_class("rw-history-table")

    def render(self, entries: Sequence[HistoryEntry], thumbs: dict[str, Thumb]) -> None:
        """Show ``entries`` in this order, rebuilding only the rows that changed."""
        rows: dict[str, tuple[tuple[Any, ...], ipywidgets.HBox]] = {}
        for entry in entries:
            thumb = thumbs.get(entry.id)
            key = row_signature(entry, thumb)
            cached = self._rows.get(entry.id)
            rows[entry.id] = (
                cached
                if cached and cached[0] == key
                else (key, self._row(entry, thumb))
            )
        body: list[ipywidgets.Widget] = [row for _, row in rows.values()]
        if not body:
            body = [self._empty]
        self.box.children = [self._head, *body]
        kept = {id(row) for row in body}
        for _, row in self._rows.values():
            if id(row) not in kept:
                close_tree(row)
        self._rows = rows

    def close(self) -> None:
        """Close every row, the header and the empty-table note."""
        for _, row in self._rows.values():
            close_tree(row)
        self._head.close()
        self._empty.close()

    def _row(self, entry: HistoryEntry, thumb: Thumb) -> ipywidgets.HBox:
        children: list[ipywidgets.Widget] = []
        if thumb:
            # ipywidgets.Image sends its bytes as a binary buffer, not base64.
            image = ipywidgets.Image(
                value=thumb[0],
                format=thumb[1].split("/")[-1],
                layout=ipywidgets.Layout(max_width="64px", max_height="64px"),
            )
            image.add_class("rw-history-thumb")
            children.append(image)
        cell = ipywidgets.Box(
            children,
            layout=ipywidgets.Layout(
                flex="0 0 72px", height="66px", justify_content="center"
            ),
        )
        info = ipywidgets.HTML(row_html(entry))
        actions, pid = self._actions, entry.id
        open_btn = _button("Open", "rw-history-open", lambda: actions.open(pid))
        tweak_btn = _button("Tweak", "rw-history-tweak", lambda: actions.tweak(pid))
        tweak_btn.disabled = not (entry.input or entry.kept is not None)
        cancel_btn = _button("Cancel", "rw-history-cancel", lambda: actions.cancel(pid))
        cancel_btn.disabled = not entry.running
        row = ipywidgets.HBox(
            [cell, info, open_btn, tweak_btn, cancel_btn],
            layout=ipywidgets.Layout(align_items="center"),
        )
        row.add_class("rw-history-row")
        row.add_class(f"rw-status-{entry.status or 'unknown'}")
        return row


def _button(label: str, css: str, action: Callable[[], object]) -> ipywidgets.Button:
    button = ipywidgets.Button(
        description=label, layout=ipywidgets.Layout(width="auto", min_width="64px")
    )
    button.add_class(css)
    button.on_click(lambda _b: action())
    return button


def close_tree(widget: Any) -> None:
    """Close ``widget`` and, first, every widget inside it."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    widget.close()
