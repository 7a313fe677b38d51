"""Growing text to the browser as appends, not the whole text at every flush.

Syncing a growing trait resends all of it at each flush, so a long stream would
cost bytes growing with the square of its length (10.8 MB for 20,000 tokens in
``bench/streaming.py``). While ``text`` or ``logs`` only grow, the new parts go in
the ``_appends`` trait, in the same comm message as the flush's other traits, and
the browser adds them to its copies (``initialize`` in ``js/src/panel.ts``). The
final state and any other change are synced whole, so the saved widget state is
always complete, and a view that missed an append asks for the whole value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import traitlets

__all__ = ["GROWING", "AppendMixin"]

GROWING = ("text", "logs")
"""The traits that may travel as appends."""


class AppendMixin(traitlets.HasTraits):
    """For a widget whose synced ``text`` and ``logs`` grow while streaming."""

    if TYPE_CHECKING:  # provided by ipywidgets.Widget, which the widget also is

        def send_state(self, key: Any = None) -> None: ...

    _appends = traitlets.Dict().tag(sync=True)
    # ``{"seq": n, "text": {"at", "chunk"}, "logs": {...}}``: each named trait grew
    # by ``chunk`` at offset ``at``; ``seq`` makes every append a change.

    def __init__(self, **kwargs: Any) -> None:
        # Set before the widget opens its comm, which may ask _should_send_property.
        self._quiet: set[str] = set()  # changing now; the browser gets an append
        self._appended: set[str] = set()  # part of the current value went as appends
        self._append_seq = 0
        super().__init__(**kwargs)

    def _set_growing(self, values: Mapping[str, str], *, final: bool) -> None:
        """Set growing traits, sending the browser only what was appended."""
        appends: dict[str, dict[str, Any]] = {}
        for name, value in values.items():
            previous: str = getattr(self, name)
            if final or not previous or not value.startswith(previous):
                setattr(self, name, value)
                if final and value == previous and name in self._appended:
                    # Unchanged, so not synced by the assignment: sync the whole
                    # value once, in case a view missed an append.
                    self.send_state(name)
                self._appended.discard(name)
            elif value != previous:
                self._appended.add(name)
                self._quiet.add(name)
                try:
                    setattr(self, name, value)
                finally:
                    self._quiet.discard(name)
                appends[name] = {"at": len(previous), "chunk": value[len(previous) :]}
        if appends:
            self._append_seq += 1
            self._appends = {"seq": self._append_seq, **appends}

    def _resync(self, name: object) -> None:
        """Send one growing trait whole (a view asked: it missed an append)."""
        if name in GROWING:
            self.send_state(name)

    def _should_send_property(self, key: str, value: Any) -> bool:
        # ipywidgets asks this before syncing a changed trait; see _set_growing.
        if key in getattr(self, "_quiet", ()):
            return False
        return bool(super()._should_send_property(key, value))  # type: ignore[misc]
