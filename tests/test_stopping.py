"""Stopping must stop: what a widget started ends when the widget goes.

Against a real local backend of its own (demo/echo, one prediction at a time):
an interrupted ``run()`` cancels its prediction and says so in one line; closing
a Playground or a Sweep, or every view of it leaving the page, cancels what it
started unless ``keep_running=True``; a failed ``run()`` leaves the form as it
was. The interrupt is a real SIGINT to the main thread, as a kernel interrupt
is, sent once the backend says the prediction runs.
The kernel side (re-run cells, interrupts and kills of a real kernel) is in
``tests/integration/test_stopping_kernel.py``.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import replicate_widgets as rw
import replicate_widgets._widgets.panel.panel as _panel
from replicate_widgets._client.errors import ModelError, is_run_interrupted
from replicate_widgets._client.session import lease_held
from replicate_widgets._widgets.compare.compare import Sweep
from replicate_widgets.server import LocalServer, serve
from tests._stopping_support import (
    TERMINAL,
    inside,
    interrupt_after,
    interrupt_when_busy,
    status_of,
    wait_for,
    wait_until,
)

pytestmark = pytest.mark.integration
ECHO = Path(__file__).resolve().parents[1] / "replicate_widgets/server/models/echo"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    data = tmp_path_factory.mktemp("stopping")
    with serve(port=0, models=[ECHO], bundled=False, data_dir=data) as running:
        yield running


@pytest.fixture
def api(server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/", timeout=60) as client:
        yield client


@pytest.fixture(autouse=True)
def _nothing_left_running(api: httpx.Client) -> Iterator[None]:
    """Each test starts with a free model and leaves it free (one slot)."""
    yield
    for doc in api.get("predictions").json()["results"]:
        if doc["status"] not in TERMINAL:
            api.post(f"predictions/{doc['id']}/cancel")


def running_id(api: httpx.Client, timeout=60.0) -> str:
    """The id of the prediction the model runs now, once there is one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for doc in api.get("predictions").json()["results"]:
            if doc["status"] == "processing":
                return str(doc["id"])
        time.sleep(0.05)
    raise AssertionError("no prediction started running")


def interrupt_once_running(server: LocalServer) -> threading.Thread:
    """Press Ctrl-C (in the main thread) as soon as the backend runs a prediction."""

    def watch() -> None:
        with httpx.Client(base_url=server.url + "/", timeout=60) as client:
            running_id(client)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def started_in_background(pg: rw.Playground, api: httpx.Client, **inputs) -> str:
    """Press Run as a person would; return the prediction id once it runs."""
    pg.form.set(**inputs)
    assert pg.form.submit()
    return running_id(api)


# ---------------------------------------------------------------- interrupts
def test_an_interrupted_run_cancels_its_prediction_and_says_so_briefly(server, api):
    pg = rw.Playground("demo/echo", backend=server.url)
    watcher = interrupt_once_running(server)
    with pytest.raises(KeyboardInterrupt) as info:
        pg.run(text="slow", delay=60)
    watcher.join()
    error = info.value
    assert type(error) is KeyboardInterrupt
    assert is_run_interrupted(error)
    (pid,) = error.prediction_ids
    assert str(error) == f"Interrupted: canceled prediction {pid}."
    # Nothing of the thread pool behind run() in what is raised.
    assert error.__cause__ is None
    assert error.__suppress_context__
    assert status_of(api, pid) == "canceled"
    assert pg.panel.status == "canceled"
    # The model is free again and the form is as before the call.
    assert "delay" not in pg.form.values or pg.form.values["delay"] != 60
    assert pg.run(text="next").output == "next"


def test_an_interrupt_right_after_the_run_was_handed_over_still_cancels_it(
    server, api, monkeypatch
):
    # Ctrl-C can land on any line of run(): here just after the run went to the
    # widgets' loop and before run() waits for it, where it once escaped as a
    # plain KeyboardInterrupt and left the prediction running.
    pg = rw.Playground("demo/echo", backend=server.url)
    interrupt_after(monkeypatch, pg, "_start")
    with pytest.raises(KeyboardInterrupt) as info:
        pg.run(text="slow", delay=60)
    assert is_run_interrupted(info.value)
    (pid,) = info.value.prediction_ids
    assert wait_for(api, pid, TERMINAL) == "canceled"


def test_an_interrupt_before_the_run_was_handed_over_leaves_the_form_usable(
    server, api
):
    # Ctrl-C just after the form went busy, before the run reached the widgets'
    # loop: nothing runs, and the form must not stay busy (its Run button off).
    pg = rw.Playground("demo/echo", backend=server.url)
    with interrupt_when_busy(pg.form), pytest.raises(KeyboardInterrupt) as info:
        pg.run(text="never")
    assert not is_run_interrupted(info.value)  # nothing was started to cancel
    assert pg.form.busy is False
    made = api.get("predictions").json()["results"]
    assert [doc for doc in made if doc["input"].get("text") == "never"] == []
    assert pg.run(text="next").output == "next"


def test_an_interrupt_while_the_prediction_is_created_cancels_it_once_it_exists(
    server, api, monkeypatch
):
    # The order of events is forced: the create request is held until run()
    # waits for the run, is interrupted there, and has marked it to stop; so the
    # prediction exists only after run() asked for it to be stopped.
    pg = rw.Playground("demo/echo", backend=server.url)
    create = pg.client.predictions.create
    main = threading.main_thread().ident
    assert main is not None

    def interrupted_while_creating(*args: Any, **kwargs: Any) -> Any:
        run = pg._current
        assert run is not None
        wait_until(lambda: inside(main, "Playground.run", "Future.result"))
        signal.pthread_kill(main, signal.SIGINT)
        wait_until(lambda: run.stop)
        return create(*args, **kwargs)

    monkeypatch.setattr(pg.client.predictions, "create", interrupted_while_creating)
    with pytest.raises(KeyboardInterrupt) as info:
        pg.run(text="slow", delay=60)
    (pid,) = info.value.prediction_ids
    assert str(info.value) == f"Interrupted: canceled prediction {pid}."
    assert status_of(api, pid) == "canceled"


def test_keep_running_survives_an_interrupt(server, api):
    pg = rw.Playground("demo/echo", backend=server.url, keep_running=True)
    watcher = interrupt_once_running(server)
    with pytest.raises(KeyboardInterrupt, match="keeps running") as info:
        pg.run(text="slow", delay=60)
    watcher.join()
    (pid,) = info.value.prediction_ids
    assert status_of(api, pid) == "processing"
    pg.cancel()
    assert wait_for(api, pid, TERMINAL) == "canceled"


def test_an_interrupted_sweep_cancels_what_it_started(server, api):
    sweep = Sweep(
        "demo/echo", base={"delay": 60}, grid={"text": ["a", "b"]}, backend=server.url
    )
    watcher = interrupt_once_running(server)
    with pytest.raises(KeyboardInterrupt, match="Interrupted: canceled") as info:
        sweep.run()
    watcher.join()
    assert info.value.prediction_ids
    for pid in info.value.prediction_ids:
        assert wait_for(api, pid, TERMINAL) == "canceled"


def test_an_interrupt_right_after_a_sweep_was_handed_over_still_cancels_it(
    server, api, monkeypatch
):
    # As for the Playground: Ctrl-C just after start() and before run() waits.
    sweep = Sweep(
        "demo/echo", base={"delay": 60}, grid={"text": ["a", "b"]}, backend=server.url
    )
    interrupt_after(monkeypatch, sweep, "start")
    with pytest.raises(KeyboardInterrupt, match="Interrupted: canceled") as info:
        sweep.run()
    assert is_run_interrupted(info.value)
    # Whatever it had started is canceled, and nothing more starts.
    deadline = time.monotonic() + 30
    while sweep.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not sweep.running
    started = [c.prediction.id for c in sweep.cells if c.prediction is not None]
    assert set(info.value.prediction_ids) <= set(started)
    for pid in started:
        assert wait_for(api, pid, TERMINAL) == "canceled"


# ------------------------------------------------------------- widgets going
def test_closing_a_playground_cancels_its_running_prediction(server, api):
    pg = rw.Playground("demo/echo", backend=server.url)
    pid = started_in_background(pg, api, text="slow", delay=60)
    pg.close()
    assert wait_for(api, pid, TERMINAL) == "canceled"


def test_closing_a_keep_running_playground_leaves_it_running(server, api):
    pg = rw.Playground("demo/echo", backend=server.url, keep_running=True)
    pid = started_in_background(pg, api, text="slow", delay=60)
    pg.close()
    time.sleep(1.0)  # what close() would have sent has arrived by now
    assert status_of(api, pid) == "processing"


def test_closing_a_sweep_cancels_running_and_queued_cells(server, api):
    sweep = Sweep(
        "demo/echo", base={"delay": 60}, grid={"text": ["a", "b"]}, backend=server.url
    )
    sweep.start()
    running_id(api)
    deadline = time.monotonic() + 30
    while not all(c.prediction for c in sweep.cells):  # the second one is queued
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sweep.close()
    ids = [c.prediction.id for c in sweep.cells if c.prediction is not None]
    assert [wait_for(api, pid, TERMINAL) for pid in ids] == ["canceled"] * 2


def test_views_leaving_the_page_cancel_the_run(server, api, monkeypatch):
    monkeypatch.setattr(_panel, "VIEWS_GONE_AFTER", 0.2)
    pg = rw.Playground("demo/echo", backend=server.url)
    panel = pg.panel

    def view(name: str, is_open: bool) -> None:
        # What the panel's views send (js/src/shared/connection.ts).
        panel._on_message(panel, {"kind": "view", "view": name, "open": is_open}, [])

    view("a", True)
    pid = started_in_background(pg, api, text="slow", delay=60)
    # A view re-rendered at once (a cut and paste, a re-render) is no loss.
    view("a", False)
    view("b", True)
    time.sleep(1.0)
    assert status_of(api, pid) == "processing"
    # A removal the kernel never heard of proves nothing.
    view("never-opened", False)
    time.sleep(1.0)
    assert status_of(api, pid) == "processing"
    view("b", False)  # the output was cleared
    assert wait_for(api, pid, TERMINAL) == "canceled"


# --------------------------------------------------------------- the kernel
def test_a_playground_run_belongs_to_this_process_session(server, api):
    pg = rw.Playground("demo/echo", backend=server.url)
    assert pg.run(text="hi").output == "hi"
    # The lease that lets the backend cancel this kernel's runs if it dies.
    deadline = time.monotonic() + 30
    while not lease_held(server.url):
        assert time.monotonic() < deadline
        time.sleep(0.05)


# ------------------------------------------------------------------- mistakes
def test_a_failed_run_leaves_the_form_as_it_was(server, api):
    pg = rw.Playground("demo/echo", backend=server.url)
    pg.form.set(text="mine")
    before = dict(pg.form.values)
    with pytest.raises(ModelError):
        pg.run(text="boom", fail=True)
    assert pg.form.values == before
    # The next call reports only its own arguments, and runs.
    assert pg.run().output == "mine"


def test_a_failed_arun_leaves_the_form_as_it_was_too(server):
    pg = rw.Playground("demo/echo", backend=server.url)
    before = dict(pg.form.values)
    with pytest.raises(rw.SchemaError, match="delay"):
        asyncio.run(pg.arun(delay=1000))
    assert pg.form.values == before
    assert pg.form.errors == {}
