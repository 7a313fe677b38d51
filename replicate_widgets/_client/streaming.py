r"""Following a prediction's events: SSE first, reconnecting, then polling (pure logic).

:class:`StreamTracker` is the bookkeeping both clients share. It receives decoded SSE
events (httpx-sse does the wire format) and polled predictions, and emits each output
chunk and log line exactly once, whichever way it arrived:

* events carry ids (``1690212292:0``); an id seen before is dropped, so a server that
  replays a stream after a reconnect with ``Last-Event-ID`` causes no duplicates;
* the output count and the position in the log text are kept, so when the stream
  gives up and the client polls ``GET /predictions/{id}``, only what the stream had
  not delivered is emitted (an iterator output grows as a list with one item per
  ``output`` event).

A ``logs`` event is a piece of the log text without the newline that ends it, as
Replicate's stream sends them: usually a line, but a partial write (``print(...,
end="")``) or a progress bar redrawn with ``\r`` is a piece too, and the rest of its
line comes in later pieces. So the log text is followed by position, never by counting
events or lines, which those pieces would throw off.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any, Literal, cast

from .types import Prediction, StreamEvent

EventName = Literal["output", "logs", "error", "done"]
_EVENTS: frozenset[str] = frozenset({"output", "logs", "error", "done"})

MAX_RECONNECTS = 3
"""Reconnects in a row without a new event before falling back to polling."""

STREAM_READ_TIMEOUT = 90.0
"""Seconds of silence after which a stream connection counts as dropped."""


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class StreamTracker:
    """What has been delivered so far, and what to deliver next.

    Parameters
    ----------
    max_reconnects
        Reconnect attempts in a row that bring nothing new before polling instead.
    """

    def __init__(self, max_reconnects: int = MAX_RECONNECTS) -> None:
        self.last_event_id: str | None = None
        """Send as ``Last-Event-ID`` when reconnecting."""
        self.done = False
        """True once a ``done`` event was emitted; stop reading then."""
        self.max_reconnects = max_reconnects
        self._seen_ids: set[str] = set()
        self._outputs: list[str] = []
        # Characters of the prediction's log text delivered so far; ``logs`` events
        # from the stream waiting to be placed in it; and whether the last piece
        # delivered left its line open (the newline that follows it is its own).
        self._log_pos = 0
        self._log_pending: deque[str] = deque()
        self._log_open = False
        self._failures = 0

    @property
    def output_text(self) -> str:
        """All output chunks emitted so far, joined."""
        return "".join(self._outputs)

    def accept(self, event: str, data: str, event_id: str | None) -> StreamEvent | None:
        """Take one SSE event; return it typed, or ``None`` for a repeat."""
        if self.done or event not in _EVENTS:
            return None
        if event_id:
            if event_id in self._seen_ids:
                return None
            self._seen_ids.add(event_id)
            self.last_event_id = event_id
        if event == "output":
            self._outputs.append(data)
        elif event == "logs":
            self._log_pending.append(data)
        elif event == "done":
            self.done = True
        return StreamEvent(cast(EventName, event), data, event_id or None)

    def connection_ended(self, got_events: bool) -> bool:
        """Record that a connection closed before ``done``; True means reconnect."""
        self._failures = 0 if got_events else self._failures + 1
        return not self.done and self._failures <= self.max_reconnects

    def catch_up(self, prediction: Prediction) -> list[StreamEvent]:
        """Events for what ``prediction`` shows that was not emitted yet.

        When the prediction is terminal this ends with ``done`` (preceded by ``error``
        when it failed), with the same payloads the streaming API uses.
        """
        if self.done:
            return []
        events = [
            StreamEvent("logs", piece)
            for piece in self._new_logs(prediction.logs or "", prediction.is_terminal)
        ]
        for chunk in self._new_output(prediction.output, prediction.is_terminal):
            self._outputs.append(chunk)
            events.append(StreamEvent("output", chunk))
        if prediction.is_terminal:
            if prediction.status == "failed":
                detail = prediction.error or "The prediction failed."
                events.append(StreamEvent("error", json.dumps({"detail": detail})))
                events.append(StreamEvent("done", json.dumps({"reason": "error"})))
            elif prediction.status in ("canceled", "aborted"):
                events.append(
                    StreamEvent("done", json.dumps({"reason": prediction.status}))
                )
            else:
                events.append(StreamEvent("done", "{}"))
            self.done = True
        return events

    def _new_logs(self, text: str, terminal: bool) -> list[str]:
        """Return the pieces of ``text`` (the whole log so far) not delivered yet."""
        # The stream's pieces lost their line-ending newlines, and a stream cannot
        # carry a bare \r (it ends a line there), so they are placed in the text
        # with \r read as \n; the replacement keeps every offset.
        plain = text.replace("\r", "\n")
        while self._log_pending:
            piece = self._log_pending[0].replace("\r", "\n")
            start = self._log_pos
            if (
                self._log_open
                and plain.startswith("\n", start)
                and not piece.startswith("\n")
            ):
                # Step over the newline that ended the piece before; only a blank
                # line ("") would otherwise be placed on it.
                start += 1
            found = plain.find(piece, start)
            if found < 0 and not terminal:
                return []  # the polled log lags behind the stream: wait for it
            self._log_pending.popleft()
            if found >= 0:  # else it can never be placed: the rest still is
                self._log_pos = found + len(piece)
                self._log_open = True
        if self._log_open and text.startswith("\n", self._log_pos):
            self._log_pos += 1  # the end of a line already delivered
            self._log_open = False
        rest = text[self._log_pos :]
        if not rest:
            return []
        self._log_pos = len(text)
        pieces = rest.split("\n")
        # A final newline ends the last line; without one it stays open.
        self._log_open = pieces[-1] != ""
        if not self._log_open:
            pieces.pop()
        return pieces

    def _new_output(self, output: Any, terminal: bool) -> list[str]:
        if isinstance(output, list):
            return [_as_text(item) for item in output[len(self._outputs) :]]
        if isinstance(output, str):
            sent = self.output_text
            if output.startswith(sent) and len(output) > len(sent):
                return [output[len(sent) :]]
            return []
        if output is not None and terminal and not self._outputs:
            return [_as_text(output)]
        return []
