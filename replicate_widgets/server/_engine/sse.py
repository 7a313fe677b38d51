"""Server-sent events in Replicate's public stream format.

Replicate's ``urls.stream`` speaks a different dialect from coglet's SSE: events
``output`` (raw text; a file URL for file outputs), ``logs``, ``error`` (JSON
``{"detail": ...}``) and ``done`` (JSON: ``{}``, or ``{"reason": ...}`` naming
how it ended: ``error``, ``canceled`` or ``aborted``), ids like
``1690212292:0``, and an opening ``: hi`` comment. A :class:`EventLog` keeps one
prediction's events so any number of readers can follow it and a reader that
reconnects with ``Last-Event-ID`` resumes where it stopped. Output events keep
the chunk itself; its file URLs are made absolute for each reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from replicate_widgets.server._clock import parse_iso
from replicate_widgets.server._storage.files_store import absolutize

KEEPALIVE_SECONDS = 15.0


@dataclass(frozen=True)
class Event:
    """One server-sent event; an ``output`` event holds the output chunk."""

    seq: int
    name: str
    data: Any


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def encode(event: Event, prefix: int, origin: str) -> bytes:
    """Encode ``event`` in the wire format; multi-line data gets one line each.

    ``origin`` is where the reader reaches this server; the server's own URLs in
    output chunks are rendered against it.
    """
    data = (
        output_text(absolutize(event.data, origin))
        if event.name == "output"
        else str(event.data)
    )
    lines = [f"id: {prefix}:{event.seq}", f"event: {event.name}"]
    # A reader ends a line at CR, LF or CRLF: splitting on LF alone would let a
    # model's bare CR end the data line and start a forged "event:" or "id:" field.
    lines.extend(f"data: {line}" for line in _LINE_BREAK.split(data))
    return ("\n".join(lines) + "\n\n").encode()


def output_text(chunk: Any) -> str:
    """Return the ``output`` event data for one output chunk."""
    return chunk if isinstance(chunk, str) else json.dumps(chunk)


def done_data(status: str) -> str:
    """Return the ``done`` event data for a terminal status."""
    if status == "succeeded":
        return "{}"
    if status == "failed":
        return json.dumps({"reason": "error"})
    # canceled, or aborted (its Cancel-After deadline came before it started).
    return json.dumps({"reason": status})


def parse_last_event_id(value: str | None) -> int:
    """Return the sequence number in a ``Last-Event-ID`` header, or -1."""
    if not value:
        return -1
    try:
        return int(value.rsplit(":", 1)[-1])
    except ValueError:
        return -1


class EventLog:
    """The events of one prediction, readable by many followers.

    Parameters
    ----------
    prefix
        The first part of every event id (the prediction's creation time in
        Unix seconds, as Replicate does).
    """

    def __init__(self, prefix: int) -> None:
        self.prefix = prefix
        self.events: list[Event] = []
        self.closed = False
        self._changed = asyncio.Condition()

    async def publish(self, name: str, data: Any) -> None:
        """Append an event and wake every follower.

        ``data`` is the text of the event, or the output chunk of an ``output``.
        """
        if self.closed:
            return
        async with self._changed:
            self.events.append(Event(len(self.events), name, data))
            if name == "done":
                self.closed = True
            self._changed.notify_all()

    async def finish(self, status: str, error: str | None) -> None:
        """Append the closing ``error``/``done`` events for a terminal status."""
        if status == "failed":
            detail = error or "The prediction failed."
            await self.publish("error", json.dumps({"detail": detail}))
        await self.publish("done", done_data(status))

    async def follow(self, after: int = -1, origin: str = "") -> AsyncIterator[bytes]:
        """Yield encoded events with sequence numbers above ``after``.

        Starts with the ``: hi`` comment, sends a keep-alive comment when idle
        and ends after ``done``. File URLs in outputs start with ``origin``.
        """
        yield b": hi\n\n"
        position = after + 1
        while True:
            async with self._changed:
                if position >= len(self.events) and not self.closed:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), KEEPALIVE_SECONDS)
                pending = self.events[position:]
                closed = self.closed
            if not pending and not closed:
                yield b": keep-alive\n\n"
                continue
            for event in pending:
                yield encode(event, self.prefix, origin)
            position += len(pending)
            if closed and position >= len(self.events):
                return


def replay(doc: dict[str, Any], iterator: bool) -> EventLog:
    """Rebuild the event log of a finished prediction from its stored document.

    Used when the live log is gone (after a restart, or once evicted).
    """
    log = EventLog(_prefix_of(doc))
    output = doc.get("output")
    chunks = output if iterator and isinstance(output, list) else [output]
    events = [Event(i, "output", c) for i, c in enumerate(chunks) if c is not None]
    if doc.get("status") == "failed":
        detail = doc.get("error") or "The prediction failed."
        events.append(Event(len(events), "error", json.dumps({"detail": detail})))
    events.append(Event(len(events), "done", done_data(str(doc.get("status")))))
    log.events = events
    log.closed = True
    return log


def _prefix_of(doc: dict[str, Any]) -> int:
    try:
        return int(parse_iso(str(doc.get("created_at", ""))).timestamp())
    except ValueError:
        return 0
