"""One background asyncio loop, in a daemon thread, for the widgets' network work.

Why a thread of its own: measured in a real browser (``docs/rationale.md``),
work on the kernel's own event loop freezes while another cell blocks (``time.sleep``,
a CPU loop) and then reaches the browser as one stale burst, while trait updates made
from another thread go out live. So every widget hands its HTTP work to this loop with
:func:`submit`, and that work is the only writer of the widget's output traits.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["io_loop", "on_io_thread", "submit"]

T = TypeVar("T")

_THREAD_NAME = "replicate-widgets-io"
_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid: int | None = None


def _run(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


def io_loop() -> asyncio.AbstractEventLoop:
    """Return the process-wide background loop, starting its daemon thread if needed.

    Returns
    -------
    asyncio.AbstractEventLoop
        A running loop owned by a daemon thread named ``replicate-widgets-io``.

    Notes
    -----
    After a ``fork`` the child has the loop object but not its thread, so a new loop
    is started when the process id changes.
    """
    global _loop, _thread, _pid
    with _lock:
        alive = _thread is not None and _thread.is_alive()
        if _loop is None or not alive or _pid != os.getpid():
            loop = asyncio.new_event_loop()
            started = threading.Event()
            loop.call_soon(started.set)
            thread = threading.Thread(
                target=_run, args=(loop,), name=_THREAD_NAME, daemon=True
            )
            thread.start()
            # Wait until run_forever has begun so callers can rely on a running loop.
            started.wait()
            _loop, _thread, _pid = loop, thread, os.getpid()
        return _loop


def on_io_thread() -> bool:
    """Return True when called from the background loop's own thread."""
    return _thread is not None and threading.current_thread() is _thread


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Run ``coro`` on the background loop and return a thread-safe future.

    Parameters
    ----------
    coro
        The coroutine to run. It must not be shared with another loop.

    Returns
    -------
    concurrent.futures.Future
        Cancel it with ``future.cancel()`` from any thread; the task then sees
        ``asyncio.CancelledError``.
    """
    return asyncio.run_coroutine_threadsafe(coro, io_loop())
