"""Widgets made after their cell ran, under hosts that tie widgets to a cell.

Both ways marimo ties a widget to a cell are handled here; elsewhere (Jupyter,
Voila, plain Python) everything below is a no-op.

**Made in a background thread** (`HostContext`). marimo opens a widget's model in
the browser through the runtime context of the cell being run, which is thread-
local: a widget constructed in a thread without one (this package's background loop,
or a worker of ``asyncio.to_thread``) gets a comm that sends nothing, so the browser
never hears of it and cannot show it as a part. Threads made with ``marimo.Thread``
(marimo's public API) carry the context of the cell that started them. So a
composite that makes parts in the background (the ModelBrowser's tiles and its
Playground) starts one such thread while its own cell runs, and makes its parts
there. Anywhere else (Jupyter, Voila, plain Python) the parts are made where they
are asked for.

**Made by a button's handler** (`current_cell`, `as_cell`). marimo ties an
anywidget's view code (a "virtual file" it serves) to the cell that is running when
the widget is made. A widget made later, in a handler of a button of the view, when
no cell runs, cannot be opened: marimo 0.25 fails with an ``AssertionError`` in
``EsmSpec.from_esm``. So a composite that makes parts in its actions (History's
Open and Tweak) notes its cell when it is made (`current_cell`) and makes those
parts in that cell's name (`as_cell`): their view code then lives as long as the
cell's output does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

__all__ = ["HostContext", "as_cell", "current_cell"]

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


# -- widgets made by a button's handler ------------------------------------------


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
