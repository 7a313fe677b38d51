"""Helpers for the tests that stop runs (unit, kernel and browser): ask the backend."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
"""Statuses after which a prediction does not change."""


def status_of(api: httpx.Client, pid: str, kind: str = "predictions") -> str:
    """The status the backend reports for prediction (or ``kind``) ``pid`` now."""
    return str(api.get(f"{kind}/{pid}").json()["status"])


def wait_for(
    api: httpx.Client,
    pid: str,
    statuses: set[str] | frozenset[str],
    timeout=60.0,
    kind: str = "predictions",
) -> str:
    """Wait until ``pid`` reaches one of ``statuses``; return the one it reached."""
    deadline = time.monotonic() + timeout
    while (status := status_of(api, pid, kind)) not in statuses:
        assert time.monotonic() < deadline, f"{pid} still {status}"
        time.sleep(0.05)
    return status


def inside(thread: int, *functions: str) -> bool:
    """Whether ``thread`` (an ident) runs inside each of ``functions`` now.

    ``functions`` are qualified names (``"Playground.run"``), anywhere on its stack.
    """
    frame, names = sys._current_frames().get(thread), set()
    while frame is not None:
        names.add(frame.f_code.co_qualname)
        frame = frame.f_back
    return set(functions) <= names


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait until ``condition()`` holds (an order of events, not a duration)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{condition} still false"
        time.sleep(0.01)


def mark_when_main_waits_in_run(path: str | Path) -> None:
    """Create ``path`` once the main thread waits in ``Playground.run()`` for its run.

    A backend that already runs the prediction says nothing about where the main
    thread is; a Ctrl-C sent after this mark reaches that wait.
    """
    main = threading.main_thread().ident
    assert main is not None

    def watch() -> None:
        wait_until(lambda: inside(main, "Playground.run", "Future.result"))
        Path(path).touch()

    threading.Thread(target=watch, daemon=True).start()


def interrupt_after(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
    """Make ``owner.name`` raise ``KeyboardInterrupt`` as soon as it returns.

    A Ctrl-C on the caller's next line: just after a run went to the widgets'
    loop and before the blocking call waits for it.
    """
    done = getattr(owner, name)

    def then_interrupted(*args: Any, **kwargs: Any) -> Any:
        done(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(owner, name, then_interrupted)


@contextlib.contextmanager
def interrupt_when_busy(form: Any) -> Iterator[None]:
    """Raise ``KeyboardInterrupt`` as ``form`` goes busy, inside the ``with`` block.

    A Ctrl-C before the run reached the widgets' loop: nothing was started.
    """

    def interrupted(change: dict[str, Any]) -> None:
        if change["new"]:
            raise KeyboardInterrupt

    form.observe(interrupted, "busy")
    try:
        yield
    finally:
        form.unobserve(interrupted, "busy")
