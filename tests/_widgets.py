"""What the tests count to prove that ``close()`` leaves no widget open."""

from __future__ import annotations

import collections

from ipywidgets.widgets.widget import _instances


def open_widgets() -> set[str]:
    """Model ids of every widget open in this process (ipywidgets' own registry)."""
    return set(_instances)


def opened_since(before: set[str]) -> dict[str, int]:
    """Widgets opened since ``before`` and still open, counted by class name."""
    return dict(
        collections.Counter(
            type(w).__name__ for k, w in list(_instances.items()) if k not in before
        )
    )
