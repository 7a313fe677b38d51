"""Widgets made by a widget's action, in marimo: made in the name of its cell.

marimo ties an anywidget's view code (a "virtual file" it serves) to the cell that is
running when the widget is made. A widget made later, in a handler of a button of
the view, when no cell runs, cannot be opened: marimo 0.25 fails with an
``AssertionError`` in ``EsmSpec.from_esm``. So a composite that makes parts in its
actions (History's Open and Tweak) notes its cell when it is made
(:func:`current_cell`) and makes those parts in that cell's name (:func:`as_cell`):
their view code then lives as long as the cell's output does.

Elsewhere (Jupyter, Voila, plain Python) both are no-ops.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["as_cell", "current_cell"]


def _marimo_context() -> Any:
    if "marimo" not in sys.modules:  # only a marimo kernel has a context to find
        return None
    try:
        from marimo._runtime.context import get_context

        return get_context()
    except Exception:  # no context (a plain thread), or marimo moved it
        return None


def current_cell() -> str | None:
    """Return the id of the marimo cell running now (``None`` outside marimo)."""
    context = _marimo_context()
    cell = getattr(context, "cell_id", None)
    return cell if isinstance(cell, str) else None


@contextlib.contextmanager
def as_cell(cell_id: str | None) -> Iterator[None]:
    """Make widgets in the name of ``cell_id`` while no marimo cell runs.

    A no-op when ``cell_id`` is ``None``, outside marimo, and while a cell runs
    (its widgets are that cell's, as for any widget made in a cell).
    """
    context = _marimo_context() if cell_id is not None else None
    scope = getattr(context, "with_cell_id", None)
    if cell_id is None or scope is None or getattr(context, "cell_id", None):
        yield
        return
    with scope(cell_id):
        yield
