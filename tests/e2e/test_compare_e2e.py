"""A 2x2 Sweep in JupyterLab, in headless Chromium, against the local backend.

Proved here: four live PredictionPanels in a grid (one anywidget view,
js/src/compare.ts), each under a header naming its varied values, all filled with the
fractal's streamed images; at 600 px the cells wrap instead of overflowing; the page
holds each view's stylesheet once (one adopted sheet, no `<style>` per panel) and the
views are styled by it; Cancel all in the page stops a running sweep.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from labharness import ARTIFACTS, REPO
from measure import STYLE_COPIES, VIEW_ROOTS
from nbdriver import open_and_run, read_json, write_notebook
from playwright.sync_api import expect

from replicate_widgets.server import serve

BUNDLED = REPO / "replicate_widgets" / "server" / "models"

SETUP = """\
import json, pathlib
from replicate_widgets._client.client import Client
from replicate_widgets._widgets.compare.compare import Sweep
client = Client(base_url={url!r})
"""

SWEEP = """\
sweep = Sweep("demo/fractal", base={"width": 256, "height": 256},
              grid={"seed": [1, 2], "steps": [3, 6]}, client=client)
def done(job):
    pathlib.Path("sweep.json").write_text(json.dumps(
        [[p.id, p.status, len(p.output or [])] for p in job.result()]))
sweep.start().add_done_callback(done)
sweep"""

SLOW = """\
slow = Sweep("demo/echo", base={"delay": 60}, grid={"text": ["a", "b", "c"]},
             client=client, max_concurrency=2)
def done(job):
    pathlib.Path("slow.json").write_text(json.dumps(
        [None if p is None else p.status for p in job.result()]))
slow.start().add_done_callback(done)
slow"""


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    models = [BUNDLED / "fractal", BUNDLED / "echo"]
    data = tmp_path_factory.mktemp("backend")
    with serve(port=0, models=models, bundled=False, data_dir=data) as server:
        yield server


def test_a_2x2_sweep_fills_all_four_panels(page, lab, backend):
    (lab.root / "sweep.json").unlink(missing_ok=True)
    nb = write_notebook(
        lab.root, "sweep.ipynb", [SETUP.format(url=backend.url) + SWEEP]
    )
    open_and_run(page, lab, nb)
    grid = page.locator(".rw-grid")
    expect(grid).to_be_visible(timeout=60_000)
    cells = grid.locator(".rw-grid-cell")
    expect(cells).to_have_count(4)
    headers = grid.locator(".rw-grid-header")
    expect(headers).to_have_text(
        ["seed=1 · steps=3", "seed=1 · steps=6", "seed=2 · steps=3", "seed=2 · steps=6"]
    )
    final = read_json(lab.root / "sweep.json", bool, timeout=180)
    assert [status for _, status, _ in final] == ["succeeded"] * 4
    for i, (pid, _, images) in enumerate(final):
        cell = cells.nth(i)
        expect(cell.locator(".rw-panel")).to_have_attribute(
            "data-status", "succeeded", timeout=30_000
        )
        # every image the prediction produced is drawn in its own cell
        expect(cell.locator(".rw-gallery img")).to_have_count(images, timeout=30_000)
        assert images >= 1
        loaded = cell.locator(".rw-gallery img").evaluate_all(
            "imgs => imgs.every(i => i.complete && i.naturalWidth > 0)"
        )
        assert loaded, pid
    # two columns: the second grid input runs across
    boxes = [cells.nth(i).bounding_box() for i in range(4)]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2
    assert boxes[2]["y"] > boxes[0]["y"] + 10
    assert abs(boxes[0]["x"] - boxes[2]["x"]) < 2
    expect(page.locator(".rw-grid-message")).to_have_text("4 of 4 succeeded.")
    # Five views (the grid, four panels), two stylesheets, each in the page once.
    copies = page.evaluate(STYLE_COPIES, list(VIEW_ROOTS))
    assert copies == {
        "styles": 0,
        "adopted": {"compare": 1, "panel": 1},
        "scopes": 1,
        "repeats": 0,
    }, copies
    # ... and they style the views: the primary Run button takes the theme's brand
    # colour, a panel's header is a flex row, the grid a grid.
    brand = page.evaluate(
        """() => {
          const probe = document.createElement('div');
          probe.style.background = 'var(--jp-brand-color1, #1976d2)';
          document.body.append(probe);
          const colour = getComputedStyle(probe).backgroundColor;
          probe.remove();
          return colour;
        }"""
    )
    run = page.locator(".rw-grid-run")
    assert run.evaluate("b => getComputedStyle(b).backgroundColor") == brand
    assert brand not in ("rgba(0, 0, 0, 0)", "")
    header = cells.first.locator(".rw-header")
    assert header.evaluate("h => getComputedStyle(h).display") == "flex"
    assert grid.evaluate("g => getComputedStyle(g).display") == "grid"
    # tall enough for the whole grid: the notebook would otherwise clip it
    page.set_viewport_size({"width": 1280, "height": 2600})
    page.locator(".rw-compare").screenshot(path=str(ARTIFACTS / "sweep-2x2.png"))
    # at 600 px the cells wrap rather than overflow, and the bar stays whole
    page.set_viewport_size({"width": 600, "height": 2600})
    right = grid.evaluate("g => g.getBoundingClientRect().right")
    expect(cells.nth(3)).to_be_visible()
    edges = cells.evaluate_all("cs => cs.map(c => c.getBoundingClientRect().right)")
    assert max(edges) <= right + 1, (edges, right)
    assert grid.evaluate("g => g.scrollWidth <= g.clientWidth + 1")
    expect(page.locator(".rw-grid-run")).to_be_visible()
    expect(page.locator(".rw-grid-cancel")).to_be_disabled()
    page.locator(".rw-compare").screenshot(path=str(ARTIFACTS / "sweep-600px.png"))
    assert page.js_errors == []
    assert page.external_requests == []


def test_cancel_all_in_the_page_stops_the_sweep(page, lab, backend):
    (lab.root / "slow.json").unlink(missing_ok=True)
    nb = write_notebook(lab.root, "slow.ipynb", [SETUP.format(url=backend.url) + SLOW])
    open_and_run(page, lab, nb)
    panels = page.locator(".rw-grid-cell .rw-panel")
    expect(panels).to_have_count(3, timeout=60_000)
    # two start (max_concurrency=2; the backend runs one model's predictions one at
    # a time, so the second queues as "starting"), the third waits for a slot
    deadline = time.monotonic() + 30
    while (
        panels.evaluate_all(
            "ps => ps.filter(p =>"
            " ['starting', 'processing'].includes(p.dataset.status))"
            ".length"
        )
        < 2
    ):
        assert time.monotonic() < deadline, "two predictions never started"
        time.sleep(0.1)
    assert panels.nth(2).get_attribute("data-status") == "idle"
    page.locator(".rw-grid-cancel").click()
    statuses = read_json(lab.root / "slow.json", bool, timeout=60)
    assert statuses == ["canceled", "canceled", None]
    expect(panels.nth(0)).to_have_attribute("data-status", "canceled")
    expect(panels.nth(1)).to_have_attribute("data-status", "canceled")
    expect(page.locator(".rw-grid-error")).to_have_text("not started: canceled")
    expect(page.locator(".rw-grid-message")).to_have_text(
        "0 of 3 succeeded; 2 canceled, 1 not started."
    )
    page.locator(".rw-compare").screenshot(path=str(ARTIFACTS / "sweep-canceled.png"))
    assert page.js_errors == []
