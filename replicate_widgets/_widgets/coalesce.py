"""Batch fast updates (tokens, log lines) into a bounded number of comm messages.

A model can emit thousands of tokens a second. Sending one widget message per token
overruns Jupyter's IOPub limits (the server drops messages above 1,000/s and the tail
of a burst can be lost, see ``docs/rationale.md``), so the panel marks
itself dirty on every event and a :class:`Coalescer` calls its ``flush`` at most
``max_rate`` times a second, always once more at the end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Coalescer"]


class _Handle(Protocol):
    def cancel(self) -> None: ...


CallLater = Callable[[float, Callable[[], None]], _Handle]


class Coalescer:
    """Rate-limit calls to ``flush`` while guaranteeing the last state goes out.

    The first change after a quiet period is flushed at once (low latency for the
    first token); later changes wait for the next slot, so at most ``max_rate``
    flushes happen per second. A pending change is never dropped: a timer flushes it
    when its slot comes, and :meth:`close` flushes whatever is left.

    Parameters
    ----------
    flush
        Called with no arguments to push the current state (e.g. inside
        ``widget.hold_sync()``). It runs on the thread that calls :meth:`touch`.
    max_rate
        Largest number of flushes per second.
    clock
        Monotonic clock in seconds; injectable for deterministic tests.
    call_later
        ``call_later(delay, callback) -> handle`` used to schedule the trailing
        flush; defaults to the running asyncio loop's ``call_later``.

    Notes
    -----
    Not thread-safe by design: the panel drives one coalescer from the background
    loop's thread only, which is also the only writer of the panel's traits.
    """

    def __init__(
        self,
        flush: Callable[[], None],
        *,
        max_rate: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
        call_later: CallLater | None = None,
    ) -> None:
        if max_rate <= 0:
            raise ValueError(f"max_rate must be positive, got {max_rate!r}")
        self._flush = flush
        self._interval = 1.0 / max_rate
        self._clock = clock
        self._call_later = call_later
        self._last: float | None = None
        self._timer: _Handle | None = None
        self._dirty = False
        self._closed = False
        self.flushes = 0
        """How many times ``flush`` has been called."""

    @property
    def pending(self) -> bool:
        """True while a change has not been flushed yet."""
        return self._dirty

    def touch(self) -> None:
        """Record that the state changed; flush now or schedule the next slot."""
        if self._closed:
            return
        self._dirty = True
        if self._timer is not None:
            return  # the scheduled flush will carry this change too
        now = self._clock()
        wait = 0.0 if self._last is None else self._last + self._interval - now
        if wait <= 0:
            self._do_flush()
        else:
            self._timer = self._schedule(wait)

    def flush_now(self) -> None:
        """Flush at once if anything is pending (e.g. before a status change)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._dirty:
            self._do_flush()

    def close(self) -> None:
        """Send the final state (always one last flush) and stop scheduling."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._closed = True
        self._do_flush()

    def _schedule(self, delay: float) -> _Handle:
        call_later = self._call_later
        if call_later is None:
            return asyncio.get_running_loop().call_later(delay, self._on_timer)
        return call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._dirty and not self._closed:
            self._do_flush()

    def _do_flush(self) -> None:
        self._dirty = False
        self._last = self._clock()
        self.flushes += 1
        self._flush()
