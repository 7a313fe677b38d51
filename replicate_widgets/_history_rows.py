"""The drawn table of :class:`~._history.History`: a header and one row per entry.

Rows whose content did not change are reused, so a thumbnail arriving does not
rebuild (and resend) every other row's widgets. Only the io loop calls
:meth:`RowTable.render`, as History's one writer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets

from ._history_model import COLUMNS, HistoryEntry, row_html, row_signature
from ._html import Markup, join, tag

if TYPE_CHECKING:
    from ._schema import ModelSchema

__all__ = ["RowActions", "RowTable", "close_tree", "detail_pane"]

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

    def render(
        self,
        entries: Sequence[HistoryEntry],
        thumbs: dict[str, Thumb],
        opened: str | None = None,
        detail: ipywidgets.Widget | None = None,
    ) -> None:
        """Show ``entries`` in this order, rebuilding only the rows that changed.

        ``detail`` (the opened run's pane) is shown right under the row of
        ``opened``, where the person pressed Open; not at all while that row is on
        another page or filtered out.
        """
        rows: dict[str, tuple[tuple[Any, ...], ipywidgets.HBox]] = {}
        for entry in entries:
            thumb = thumbs.get(entry.id)
            is_open = entry.id == opened
            key = (*row_signature(entry, thumb), is_open)
            cached = self._rows.get(entry.id)
            rows[entry.id] = (
                cached
                if cached and cached[0] == key
                else (key, self._row(entry, thumb, is_open))
            )
        body: list[ipywidgets.Widget] = []
        for pid, (_, row) in rows.items():
            body.append(row)
            if pid == opened and detail is not None:
                body.append(detail)
        if not body:
            body = [self._empty]
        self.box.children = [self._head, *body]
        kept = {id(row) for _, row in rows.values()}
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

    def _row(self, entry: HistoryEntry, thumb: Thumb, is_open: bool) -> ipywidgets.HBox:
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
        open_btn = _button(
            "Hide" if is_open else "Open", "rw-history-open", lambda: actions.open(pid)
        )
        open_btn.tooltip = (
            "Hide this run's details"
            if is_open
            else "Show this run's inputs, output, logs and metrics under its row"
        )
        tweak_btn = _button("Tweak", "rw-history-tweak", lambda: actions.tweak(pid))
        tweak_btn.disabled = not (entry.input or entry.kept is not None)
        tweak_btn.tooltip = "Load this run's inputs into a Playground of its model"
        cancel_btn = _button("Cancel", "rw-history-cancel", lambda: actions.cancel(pid))
        cancel_btn.disabled = not entry.running
        row = ipywidgets.HBox(
            [cell, info, open_btn, tweak_btn, cancel_btn],
            layout=ipywidgets.Layout(align_items="center"),
        )
        row.add_class("rw-history-row")
        if is_open:
            row.add_class("rw-history-row-open")
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


_MUTED = "color:var(--jp-ui-font-color2,#666)"
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
        lines.append(tag("div", _GONE, style="color:var(--jp-warn-color0,#b26a00)"))
    elif entry.data_removed:
        lines.append(
            tag("div", "Shown from the copy kept on this computer.", style=_MUTED)
        )
    return tag("div", *lines, class_="rw-history-detail-heading")


def inputs_html(entry: HistoryEntry, schema: ModelSchema | None) -> Markup:
    """Render the opened run's inputs as a table, secrets masked (by ``schema``)."""
    from ._share import inputs_table

    stored = entry.input or (dict(entry.kept.input) if entry.kept else {})
    table = inputs_table(stored, schema, max_image_edge=192)
    if table is None:
        table = tag(
            "i", "Removed by the backend." if entry.data_removed else "No inputs."
        )
    return tag(
        "div",
        tag("div", "Inputs", style="font-weight:600"),
        table,
        class_="rw-history-inputs",
        style="font-size:var(--jp-ui-font-size1,13px);overflow-wrap:anywhere",
    )


def detail_pane(
    box: ipywidgets.VBox,
    entry: HistoryEntry,
    schema: ModelSchema | None,
    panel: ipywidgets.Widget,
    close: Callable[[], object],
) -> None:
    """Fill ``box`` with the opened run: heading, inputs and its live panel.

    The panel shows the output, logs, metrics and the status as it changes. What
    ``box`` showed before is closed, except ``panel``.
    """
    old = list(box.children)
    close_btn = _button("Close", "rw-history-detail-close", close)
    head = ipywidgets.HBox(
        [ipywidgets.HTML(detail_heading(entry)), close_btn],
        layout=ipywidgets.Layout(justify_content="space-between", align_items="center"),
    )
    inputs = ipywidgets.HTML(
        inputs_html(entry, schema),
        layout=ipywidgets.Layout(flex="0 1 340px", min_width="220px"),
    )
    panel.layout.flex = "1 1 420px"
    panel.layout.min_width = "0"
    body = ipywidgets.HBox(
        [inputs, panel],
        layout=ipywidgets.Layout(flex_flow="row wrap", align_items="flex-start"),
    )
    box.children = [head, body]
    for child in old:
        _close_except(child, panel)


def _close_except(widget: Any, keep: Any) -> None:
    if widget is keep:
        return
    for child in getattr(widget, "children", ()):
        _close_except(child, keep)
    widget.close()
