"""The views' code reaches a page once, not in each opening message (Lab, Notebook 7).

Proved here, from the kernel websocket's frames as the page sends and receives them,
on a page opened after the kernel's first widgets (which carry their bundles) were
made and closed, and without the browser's copy of the code: every widget's opening
message (``comm_open``) carries the small loader and its bundle's key, not the bundle;
three Playgrounds shown at once ask for each bundle once (one request per key, not
one per widget); running the cell again, and again after a kernel restart, asks for
nothing (the page has the code); a kernel busy in the cell that shows the widgets
answers when the cell ends, and the view says it is loading meanwhile.
"""

from __future__ import annotations

import collections
import re
from typing import Any

import pytest
from labharness import REPO
from nbdriver import KERNEL_IDLE, open_in_notebook7, open_notebook, write_notebook
from playwright.sync_api import expect

from replicate_widgets.server import serve

BUNDLED = REPO / "replicate_widgets" / "server" / "models"
LOADER = REPO / "replicate_widgets" / "static" / "loader.js"

SETUP = """\
import time, ipywidgets
from replicate_widgets._client.client import Client
from replicate_widgets._widgets.playground.playground import Playground
client = Client(base_url={url!r})
"""
# The kernel's first widget of each class carries its bundle; made and closed here, so
# that a page opened afterwards has to ask for the code.
FIRST = 'Playground("demo/echo", client=client).close()\n'
CLEAR = "() => localStorage.clear()"  # the browser's copy of the code
THREE = """\
ipywidgets.HBox([Playground("demo/echo", client=client) for _ in range(3)])"""
BUSY = """\
display(Playground("demo/echo", client=client))
time.sleep(6)"""

RUN_CELL = """async ([index, source]) => {
  const panel = jupyterapp.shell.currentWidget;
  panel.content.model.cells.get(index).sharedModel.setSource(source);
  panel.content.activeCellIndex = index;
  await jupyterapp.commands.execute('notebook:run-cell');
}"""
RESTART = """async () => {
  await jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart();
}"""

KEY = re.compile(rb'"_view_key":\s*"([^"]+)"')
ASKED = re.compile(rb'"kind":\s*"view-code",\s*"key":\s*"([^"]+)"')


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data = tmp_path_factory.mktemp("backend")
    with serve(port=0, models=[BUNDLED / "echo"], bundled=False, data_dir=data) as s:
        yield s


class Frames:
    """The kernel websocket's frames, both ways, as bytes."""

    def __init__(self, page: Any) -> None:
        self.sent: list[bytes] = []
        self.received: list[bytes] = []

        def watch(ws: Any) -> None:
            if "/api/kernels/" not in ws.url:
                return
            ws.on("framesent", lambda p: self.sent.append(as_bytes(p)))
            ws.on("framereceived", lambda p: self.received.append(as_bytes(p)))

        page.on("websocket", watch)

    def requests(self) -> list[str]:
        """The keys the page asked the kernel for, one per request."""
        return [k.decode() for f in self.sent for k in ASKED.findall(f)]

    def openings(self) -> list[bytes]:
        """Every opening message of one of our widgets."""
        return [f for f in self.received if b"comm_open" in f and KEY.search(f)]


def as_bytes(payload: str | bytes) -> bytes:
    return payload if isinstance(payload, bytes) else payload.encode()


def new_page_same_kernel(page: Any, frames: Frames) -> None:
    """Reload the notebook's page, without the browser's copy of the views' code."""
    page.evaluate(CLEAR)
    page.reload()
    page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=100)
    frames.sent.clear()
    frames.received.clear()


def run_cell(page: Any, index: int, source: str) -> None:
    page.evaluate(RUN_CELL, [index, source])
    page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=100)


def forms(page: Any, count: int) -> None:
    runs = page.locator(".jp-Notebook .rw-form .rw-form-run")
    expect(runs).to_have_count(count, timeout=60_000)
    for i in range(count):
        expect(runs.nth(i)).to_be_visible()


@pytest.mark.parametrize("front_end", ["lab", "notebook7"])
def test_each_bundle_reaches_the_page_once_and_not_in_opening_messages(
    page, request, backend, front_end
):
    server = request.getfixturevalue(front_end)
    frames = Frames(page)
    setup = SETUP.format(url=backend.url)
    nb = write_notebook(server.root, "viewcode.ipynb", [setup, "pass"])
    if front_end == "lab":
        open_notebook(page, server, nb)
    else:
        open_in_notebook7(page, server, nb)
    run_cell(page, 0, setup + FIRST)
    new_page_same_kernel(page, frames)
    run_cell(page, 1, THREE)
    forms(page, 3)

    openings = frames.openings()
    keys = {k.decode() for f in openings for k in KEY.findall(f)}
    assert {k.split(":")[0] for k in keys} >= {"playground", "form", "panel", "code"}
    loader = LOADER.stat().st_size
    # An opening message is the loader, a key and the widget's own state: the largest
    # (a form's, with its fields) is a few KB more than the loader, no bundle (the
    # form's alone is 96 KB).
    assert max(len(f) for f in openings) < loader + 8_000, [len(f) for f in openings]
    # One request per bundle for the twelve widgets of three Playgrounds (and one for
    # the form's markdown part if a description needs it).
    asked = collections.Counter(frames.requests())
    assert keys <= set(asked) <= keys | {k for k in asked if k.startswith("markdown:")}
    assert set(asked.values()) == {1}, asked

    # The same cell again: new widgets, the code already in the page.
    run_cell(page, 1, THREE)
    forms(page, 3)
    # A restarted kernel sends the same keys (the same bundles, which its first widgets
    # carry again): nothing to ask.
    page.evaluate(RESTART)
    page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=100)
    run_cell(page, 0, setup)
    run_cell(page, 1, THREE)
    forms(page, 3)
    assert collections.Counter(frames.requests()) == asked
    if front_end == "lab":
        # Notebook 7 throws one TypeError of its own here, from its settings registry
        # (notebook_core's SettingRegistry.load, "reading 'schema'"), not from a widget.
        assert page.js_errors == [], page.js_error_stacks
    server.shutdown_sessions()


def test_a_busy_kernel_answers_when_its_cell_ends_and_the_view_says_it_waits(
    page, lab, backend
):
    frames = Frames(page)
    setup = SETUP.format(url=backend.url)
    nb = write_notebook(lab.root, "viewcode-busy.ipynb", [setup, "pass"])
    open_notebook(page, lab, nb)
    run_cell(page, 0, setup + FIRST)
    new_page_same_kernel(page, frames)
    page.evaluate(RUN_CELL.replace("await jupyterapp", "jupyterapp"), [1, BUSY])
    note = page.locator(".jp-Notebook .rw-view-note").first
    expect(note).to_have_text("Loading this widget's view...", timeout=30_000)
    page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=100)
    forms(page, 1)
    expect(page.locator(".jp-Notebook .rw-view-note")).to_have_count(0)
    assert len(frames.requests()) >= 4  # asked while busy, answered afterwards
    assert page.js_errors == []
