"""The background loop: one daemon thread, runs coroutines, cancellable from outside."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import pytest

import replicate_widgets._widgets.loop as _loop


def test_one_loop_in_a_named_daemon_thread():
    loop = _loop.io_loop()
    assert loop is _loop.io_loop()
    assert loop.is_running()
    threads = [t for t in threading.enumerate() if t.name == "replicate-widgets-io"]
    assert len(threads) == 1
    assert threads[0].daemon


def test_submit_runs_on_the_io_thread():
    async def where():
        return threading.current_thread().name, _loop.on_io_thread()

    name, flag = _loop.submit(where()).result(5)
    assert name == "replicate-widgets-io"
    assert flag
    assert not _loop.on_io_thread()


def test_cancel_from_another_thread_reaches_the_task():
    started = threading.Event()
    seen = []

    async def forever():
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    job = _loop.submit(forever())
    assert started.wait(5)
    job.cancel()
    with pytest.raises(concurrent.futures.CancelledError):
        job.result(5)
    done = _loop.submit(asyncio.sleep(0, result="ok")).result(5)
    assert done == "ok"
    assert seen == ["cancelled"]


def test_exceptions_come_back_through_the_future():
    async def boom():
        raise RuntimeError("kaput")

    with pytest.raises(RuntimeError, match="kaput"):
        _loop.submit(boom()).result(5)


def test_the_loop_keeps_running_while_the_caller_blocks():
    ticks = []
    finished = threading.Event()

    async def ticker():
        for _ in range(5):
            ticks.append(threading.current_thread().name)
            await asyncio.sleep(0.01)
        finished.set()

    _loop.submit(ticker())
    # The calling thread blocks (like a time.sleep cell); the loop finishes anyway.
    assert finished.wait(30)
    assert ticks == ["replicate-widgets-io"] * 5
