"""Streamed text to the browser as appends, not the whole text at every flush.

Syncing a growing ``text`` trait resends all of it at each flush, so a long stream
would cost bytes growing with the square of its length (10.8 MB for 20,000 tokens
in ``bench/streaming.py``). While the text only grows, the new part goes in the
``_text_append`` trait, in the same comm message as the flush's other traits, and
the browser adds it to its copy (``initialize`` in ``js/src/panel.ts``). The final
state and any other change are synced whole, so the saved widget state is always
complete, and a view that missed an append asks for the whole text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import traitlets

__all__ = ["TextAppendMixin"]


class TextAppendMixin(traitlets.HasTraits):
    """For a widget with a synced ``text`` trait that grows while streaming."""

    text: str
    if TYPE_CHECKING:  # provided by ipywidgets.Widget, which the widget also is

        def send_state(self, key: Any = None) -> None: ...

    _text_append = traitlets.Dict().tag(sync=True)
    # ``{"seq", "at", "chunk"}``: the text grew by ``chunk`` at offset ``at``.

    # While True, a change of ``text`` is not synced whole (see _set_text).
    _text_by_append = False
    # Some of the current text went by ``_text_append``.
    _appended = False
    _append_seq = 0

    def _set_text(self, text: str, *, final: bool) -> None:
        """Update ``text``, sending the browser only what was appended."""
        previous = self.text
        if final or not previous or not text.startswith(previous):
            self.text = text
            if final and text == previous and self._appended:
                # Unchanged, so not synced by the assignment: sync the whole text
                # once, in case a view missed an append.
                self.send_state("text")
            self._appended = False
            return
        if text == previous:
            return
        self._appended = True
        self._text_by_append = True
        try:
            self.text = text
        finally:
            self._text_by_append = False
        # ``seq`` makes every append a change, even one equal to an earlier run's.
        self._append_seq += 1
        self._text_append = {
            "seq": self._append_seq,
            "at": len(previous),
            "chunk": text[len(previous) :],
        }

    def _should_send_property(self, key: str, value: Any) -> bool:
        # ipywidgets asks this before syncing a changed trait; see _set_text.
        if key == "text" and self._text_by_append:
            return False
        return bool(super()._should_send_property(key, value))  # type: ignore[misc]
