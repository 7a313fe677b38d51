"""Widgets made after their cell ran, under hosts that tie widgets to a cell.

marimo opens a widget's model in the browser through the runtime context of the
cell being run, which is thread-local: a widget constructed in a thread without one
(this package's background loop, or a worker of ``asyncio.to_thread``) gets a comm
that sends nothing, so the browser never hears of it and cannot show it as a part.
Threads made with ``marimo.Thread`` (marimo's public API) carry the context of the
cell that started them. So a composite that makes parts in the background (the
ModelBrowser's tiles and its Playground) starts one such thread while its own cell
runs, and makes its parts there. Anywhere else (Jupyter, Voila, plain Python) the
parts are made where they are asked for.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

__all__ = ["HostContext"]

P = ParamSpec("P")
T = TypeVar("T")

_Job = Callable[[], None]
_POLL = 0.5  # seconds between looks at whether the cell was run again


class HostContext:
    """Makes widgets in the context of the cell that made this object.

    Under marimo a ``marimo.Thread`` does the making; it ends when that cell runs
    again or is deleted (then, and everywhere else, widgets are made in the calling
    thread), or on :meth:`close`.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] | None = None
        self._thread: threading.Thread | None = None
        marimo = sys.modules.get("marimo")  # never imported unless it runs us
        running = getattr(marimo, "running_in_notebook", None)
        if marimo is None or not callable(running) or not running():
            return
        jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        thread = marimo.Thread(
            target=_serve, args=(jobs,), name="replicate-widgets-cell", daemon=True
        )
        thread.start()
        self._jobs, self._thread = jobs, thread

    async def make(self, make: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Return ``make(*args, **kwargs)``, called in the cell's context.

        Without one (not marimo, or its cell ran again) it is called in a worker
        thread, so the caller's event loop never waits on it.
        """
        thread, jobs = self._thread, self._jobs
        if thread is None or jobs is None or not thread.is_alive():
            return await asyncio.to_thread(make, *args, **kwargs)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(make(*args, **kwargs))
            except BaseException as exc:  # handed to whoever waits
                future.set_exception(exc)

        jobs.put(job)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Let the thread end (widgets are made in worker threads from now on)."""
        jobs, self._jobs = self._jobs, None
        if jobs is not None:
            jobs.put(None)


def _serve(jobs: queue.SimpleQueue[_Job | None]) -> None:
    import marimo

    me: Any = marimo.current_thread()
    while not me.should_exit:
        try:
            job = jobs.get(timeout=_POLL)
        except queue.Empty:
            continue
        if job is None:
            return
        job()
    # The cell ran again: make what is still queued here, in no cell's context.
    while True:
        try:
            job = jobs.get_nowait()
        except queue.Empty:
            return
        if job is None:
            return
        job()
