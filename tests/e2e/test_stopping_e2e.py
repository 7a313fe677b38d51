"""Stopping must stop, in JupyterLab: interrupt, re-run, clear, restart, reopen.

The notebooks run on a local backend started by this test process (as ``make
demo`` shares one backend between kernels), so it outlives every kernel and each
prediction's fate is read from the backend itself, not from the page. JupyterLab
is driven through its commands (Interrupt, Run cell, Clear output, Save) and the
kernel's restart, as a person would from the menus.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from labharness import ARTIFACTS, REPO
from nbdriver import open_notebook, run_all, wait_until_all_ran, write_notebook
from playwright.sync_api import expect

from replicate_widgets.server import LocalServer, serve
from tests._stopping_support import TERMINAL, status_of, wait_for

ECHO = REPO / "replicate_widgets" / "server" / "models" / "echo"
FRACTAL = ECHO.parent / "fractal"
NOT_CONNECTED = "Not connected: run the cell again."


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    data = tmp_path_factory.mktemp("stopping-backend")
    with serve(port=0, models=[ECHO, FRACTAL], bundled=False, data_dir=data) as server:
        server._sessions.grace = 1.0  # a kernel gone for a second is gone
        yield server


@pytest.fixture
def api(backend: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=backend.url + "/", timeout=60) as client:
        yield client
        # The model takes one prediction at a time: leave it free for the next test.
        for doc in client.get("predictions").json()["results"]:
            if doc["status"] not in TERMINAL:
                client.post(f"predictions/{doc['id']}/cancel")


def seconds_to_end(api: httpx.Client, pid: str) -> float:
    """Wait until ``pid`` ends; return how long it took (printed, not asserted)."""
    start = time.monotonic()
    wait_for(api, pid, TERMINAL)
    return time.monotonic() - start


def running_id(api: httpx.Client, other_than: set[str] = frozenset()) -> str:
    """The prediction the backend runs now (the model takes one at a time)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for doc in api.get("predictions").json()["results"]:
            if doc["status"] == "processing" and doc["id"] not in other_than:
                return str(doc["id"])
        time.sleep(0.05)
    raise AssertionError("no prediction started running")


def command(page, name: str, cell: int | None = None) -> None:
    """Run a JupyterLab command, on cell ``cell`` if given (not awaited)."""
    page.evaluate(
        """([name, cell]) => {
          const nb = jupyterapp.shell.currentWidget.content;
          if (cell !== null) nb.activeCellIndex = cell;
          jupyterapp.commands.execute(name);
        }""",
        [name, cell],
    )


def cell(page, index: int):
    return page.locator(".jp-CodeCell").nth(index)


def playground_cell(url: str, name: str = "pg", **options: object) -> str:
    extra = "".join(f", {k}={v!r}" for k, v in options.items())
    return (
        "import replicate_widgets as rw\n"
        f"{name} = rw.Playground('demo/echo', backend={url!r}{extra})\n"
        f"{name}.form.set(text='slow', delay=60)\n"
        f"{name}"
    )


def press_run(page, api: httpx.Client, index: int, seen: set[str]) -> str:
    cell(page, index).locator(".rw-form-run").click()
    return running_id(api, seen)


# -------------------------------------------------------------------- interrupt
def test_interrupting_the_kernel_cancels_the_run_and_shows_one_line(
    page, lab, backend, api
):
    nb = write_notebook(
        lab.root,
        "stop-interrupt.ipynb",
        [
            "import replicate_widgets as rw\n"
            f"pg = rw.Playground('demo/echo', backend={backend.url!r})\npg",
            "pg.run(text='slow', delay=60)",
        ],
    )
    open_notebook(page, lab, nb)
    run_all(page)
    pid = running_id(api)
    command(page, "notebook:interrupt-kernel")
    took = seconds_to_end(api, pid)
    assert status_of(api, pid) == "canceled"
    # JupyterLab renders an error output as stderr text.
    error = cell(page, 1).locator("[data-mime-type='application/vnd.jupyter.stderr']")
    expect(error).to_contain_text(f"canceled prediction {pid}", timeout=30_000)
    lines = [line for line in error.inner_text().splitlines() if line.strip()]
    assert lines == [
        f"KeyboardInterrupt: Interrupted: canceled prediction {pid}.",
        "(Full traceback: run %tb in the next cell.)",
    ], lines
    expect(cell(page, 0).locator(".rw-panel")).to_have_attribute(
        "data-status", "canceled"
    )
    print(f"interrupt -> canceled on the backend in {took:.2f} s")
    page.screenshot(path=str(ARTIFACTS / "stopping-interrupt.png"), full_page=True)
    assert page.js_errors == []


# ------------------------------------------------------- re-run, clear output
def test_rerunning_or_clearing_a_cell_cancels_what_its_widget_started(
    page, lab, backend, api
):
    nb = write_notebook(
        lab.root,
        "stop-rerun.ipynb",
        [
            playground_cell(backend.url),
            playground_cell(backend.url, "kept", keep_running=True),
        ],
    )
    open_notebook(page, lab, nb)
    run_all(page)
    wait_until_all_ran(page)
    seen: set[str] = set()
    # Run pressed, then the cell run again: the old widget's run is canceled.
    first = press_run(page, api, 0, seen)
    seen.add(first)
    command(page, "notebook:run-cell", 0)
    took = seconds_to_end(api, first)
    assert status_of(api, first) == "canceled"
    print(f"re-run -> canceled on the backend in {took:.2f} s")
    wait_until_all_ran(page)
    # The new widget's run, then its output cleared: canceled too.
    second = press_run(page, api, 0, seen)
    seen.add(second)
    command(page, "notebook:clear-cell-output", 0)
    took = seconds_to_end(api, second)
    assert status_of(api, second) == "canceled"
    print(f"clear output -> canceled on the backend in {took:.2f} s")
    # keep_running=True: clearing its output leaves the run alone.
    third = press_run(page, api, 1, seen)
    command(page, "notebook:clear-cell-output", 1)
    time.sleep(5)  # the gone check, at most 2.25 s, has long run
    assert status_of(api, third) == "processing"
    assert page.js_errors == []


# ---------------------------------------------------------- restart, reopen
def test_after_a_kernel_restart_the_widget_says_not_connected(page, lab, backend, api):
    nb = write_notebook(lab.root, "stop-restart.ipynb", [playground_cell(backend.url)])
    open_notebook(page, lab, nb)
    run_all(page)
    wait_until_all_ran(page)
    pid = press_run(page, api, 0, set())
    pg = cell(page, 0)
    expect(pg.locator(".rw-panel")).to_have_attribute("data-status", "processing")
    page.evaluate(
        "() => { jupyterapp.shell.currentWidget.sessionContext.session.kernel"
        ".restart(); }"
    )
    expect(pg.locator(".rw-form-status")).to_have_text(NOT_CONNECTED, timeout=60_000)
    expect(pg.locator(".rw-form-run")).to_be_disabled()
    expect(pg.locator(".rw-form-run")).to_have_text("Run")  # not "Running…"
    expect(pg.locator(".rw-notice")).to_contain_text(NOT_CONNECTED)
    expect(pg.locator(".rw-cancel")).to_be_hidden()
    # No live-looking count, and no cold boot blamed for the wait.
    chips = pg.locator(".rw-timeline")
    shown = chips.inner_text()
    time.sleep(2)
    assert chips.inner_text() == shown
    expect(pg.locator(".rw-starting-hint")).to_be_hidden()
    # The backend canceled the run the old kernel had left.
    took = seconds_to_end(api, pid)
    assert status_of(api, pid) == "canceled"
    print(f"kernel restart -> canceled on the backend in {took:.2f} s")
    page.screenshot(path=str(ARTIFACTS / "stopping-restart.png"), full_page=True)
    assert page.js_errors == []


def test_a_reopened_saved_notebook_says_not_connected(page, lab, backend, api):
    fractal = (
        "import replicate_widgets as rw\n"
        f"art = rw.Playground('demo/fractal', backend={backend.url!r}, keep=False)\n"
        "art.run(steps=2)\n"
        "art"
    )
    nb = write_notebook(
        lab.root, "stop-reopen.ipynb", [playground_cell(backend.url), fractal]
    )
    open_notebook(page, lab, nb)
    run_all(page)
    wait_until_all_ran(page)
    expect(cell(page, 0).locator(".rw-form-run")).to_be_enabled()
    expect(cell(page, 1).locator(".rw-gallery img")).to_have_count(2, timeout=60_000)
    command(page, "docmanager:save")
    page.wait_for_function(
        "() => !jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000
    )
    saved = Path(lab.root / nb).read_text()
    assert "application/vnd.jupyter.widget-state+json" in saved
    lab.shutdown_sessions()
    # Opened again: a new kernel, and the widgets only as the notebook saved them.
    open_notebook(page, lab, nb)
    pg = cell(page, 0)
    expect(pg.locator(".rw-form-status")).to_have_text(NOT_CONNECTED, timeout=60_000)
    expect(pg.locator(".rw-form-run")).to_be_disabled()
    expect(pg.get_by_role("button", name="Code")).to_be_disabled()
    # The finished run's images were saved with the widget state: they show with
    # no kernel behind them.
    images = cell(page, 1).locator(".rw-gallery img")
    expect(images).to_have_count(2)
    page.wait_for_function(
        "els => els.every(i => i.complete && i.naturalWidth > 0)",
        arg=images.element_handles(),
        timeout=30_000,
    )
    page.screenshot(path=str(ARTIFACTS / "stopping-reopened.png"), full_page=True)
    assert page.js_errors == []
