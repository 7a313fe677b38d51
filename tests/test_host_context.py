"""HostContext: parts made in the background, in the cell's thread under marimo."""

from __future__ import annotations

import asyncio
import sys
import threading
import types

import pytest

from replicate_widgets._widgets.host_context import HostContext


def test_without_marimo_widgets_are_made_in_a_worker_thread() -> None:
    host = HostContext()
    made_in = asyncio.run(host.make(threading.current_thread))
    assert made_in is not threading.current_thread()  # the loop never waits on it
    with pytest.raises(ValueError, match="bad"):
        asyncio.run(host.make(int, "bad"))


class _CellThread(threading.Thread):
    """Stands in for marimo.Thread: a thread that carries the cell's context."""

    should_exit = False


def test_under_marimo_widgets_are_made_in_the_cells_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = types.ModuleType("marimo")
    fake.running_in_notebook = lambda: True  # type: ignore[attr-defined]
    fake.Thread = _CellThread  # type: ignore[attr-defined]
    fake.current_thread = threading.current_thread  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "marimo", fake)
    host = HostContext()
    made_in = asyncio.run(host.make(threading.current_thread))
    assert isinstance(made_in, _CellThread)
    with pytest.raises(ValueError, match="bad"):
        asyncio.run(host.make(int, "bad"))
    host.close()
    made_in.join(5)
    assert not made_in.is_alive()
    # Once its thread is gone, parts are still made (in a worker thread).
    assert not isinstance(asyncio.run(host.make(threading.current_thread)), _CellThread)
