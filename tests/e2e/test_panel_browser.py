"""PredictionPanel in JupyterLab, in headless Chromium, against the local backend.

What is proved here, in the browser (``docs/rationale.md`` says why it is
not obvious): streamed tokens keep reaching the page while another cell blocks in
``time.sleep``, spins the CPU, or awaits; Cancel is acknowledged in the page at once
during a blocking cell and acted on by the kernel afterwards; iterator images arrive
as binary buffers and render.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from labharness import ARTIFACTS, REPO
from nbdriver import open_and_run, read_json, write_notebook
from playwright.sync_api import expect

from replicate_widgets._client.client import Client
from replicate_widgets.server import serve

BUNDLED = REPO / "replicate_widgets" / "server" / "models"

# Records every change of the streamed text's length with the browser's clock.
OBSERVE_TEXT = """() => {
  window.__textLog = [];
  let last = -1;
  new MutationObserver(() => {
    const t = document.querySelector('.rw-text');
    const n = t ? Number(t.dataset.length || 0) : 0;
    if (n !== last) { last = n; window.__textLog.push([Date.now(), n]); }
  }).observe(document.body, {subtree: true, childList: true, characterData: true,
                             attributes: true});
}"""

SETUP = """\
import asyncio, json, pathlib, time
from replicate_widgets._client.client import Client
from replicate_widgets._widgets.panel.panel import PredictionPanel
client = Client(base_url={url!r})
panel = PredictionPanel(client=client)
panel"""

BUSY = {
    "sleep": "t0 = time.time()\ntime.sleep({seconds})",
    "cpu": "t0 = time.time()\nwhile time.time() - t0 < {seconds}:\n    pass",
    "await": "t0 = time.time()\nawait asyncio.sleep({seconds})",
}
BUSY_END = (
    "\npathlib.Path('busy.json').write_text(json.dumps({'t0': t0, 't1': time.time()}))"
)
# What the kernel writes; removed before each notebook so no old answer is read.
STALE = ("busy.json", "final.json")
FINAL = """\
final = panel.wait(120)
pathlib.Path('final.json').write_text(json.dumps({
    'id': final.id, 'status': final.status, 'output': final.output}))"""
# Written from the follow job's done-callback (the io thread), so no cell blocks the
# kernel waiting for the end: a queued cell would run before the Cancel message.
FINAL_WHEN_DONE = """\
def write_final(job):
    final = job.result()
    pathlib.Path('final.json').write_text(json.dumps({
        'id': final.id, 'status': final.status, 'output': final.output}))
job.add_done_callback(write_final)"""


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    models = [BUNDLED / "hello-world", BUNDLED / "text-stream", BUNDLED / "fractal"]
    data = tmp_path_factory.mktemp("backend")
    with serve(port=0, models=models, bundled=False, data_dir=data) as server:
        yield server


@pytest.mark.parametrize("busy", ["sleep", "cpu", "await"])
def test_tokens_arrive_live_while_another_cell_runs(page, lab, backend, busy):
    stream = (
        "p = client.predictions.create('demo/text-stream', "
        "{'prompt': 'Alice was', 'max_tokens': 150, 'delay': 0.04})\n"
        "job = panel.follow(p)"
    )
    nb = write_notebook(
        lab.root,
        f"live-{busy}.ipynb",
        [
            SETUP.format(url=backend.url),
            stream,
            BUSY[busy].format(seconds=8) + BUSY_END,
            FINAL,
        ],
        stale=STALE,
    )
    open_and_run(page, lab, nb, before_run=OBSERVE_TEXT)
    busy_window = read_json(lab.root / "busy.json")
    final = read_json(lab.root / "final.json")
    assert final["status"] == "succeeded"
    expected = "".join(final["output"])
    text = page.locator(".rw-text")
    expect(text).to_have_text(expected, timeout=30_000)
    expect(page.locator(".rw-panel")).to_have_attribute("data-status", "succeeded")

    log = page.evaluate("window.__textLog")
    t0, t1 = busy_window["t0"] * 1000, busy_window["t1"] * 1000
    during = [n for t, n in log if t0 <= t <= t1 and n > 0]
    # Live: the text grew many times while the other cell held the kernel.
    assert len(during) >= 10, (busy, log)
    assert during == sorted(during)
    # And it did not arrive as one burst after the cell: updates spread over it.
    assert max(during) - min(during) > len(expected) // 4
    page.screenshot(path=str(ARTIFACTS / f"panel-live-{busy}.png"), full_page=True)
    assert page.js_errors == []
    assert page.external_requests == []


def test_cancel_is_acknowledged_at_once_during_a_blocking_cell(page, lab, backend):
    stream = (
        "p = client.predictions.create('demo/text-stream', "
        "{'prompt': 'Alice was', 'max_tokens': 500, 'delay': 0.1})\n"
        "pathlib.Path('started.txt').write_text(p.id)\n"
        "job = panel.follow(p)\n" + FINAL_WHEN_DONE
    )
    nb = write_notebook(
        lab.root,
        "cancel.ipynb",
        [
            SETUP.format(url=backend.url),
            stream,
            BUSY["sleep"].format(seconds=10) + BUSY_END,
        ],
        stale=STALE,
    )
    open_and_run(page, lab, nb, before_run=OBSERVE_TEXT)
    # Text streams while the sleep cell runs...
    page.wait_for_function(
        "Number(document.querySelector('.rw-text')?.dataset.length || 0) > 20",
        polling=50,  # the default (animation frames) can lag far behind in headless
    )
    assert not (lab.root / "busy.json").exists(), (
        "the blocking cell already ended",
        page.evaluate("window.__textLog"),
        (lab.root / "busy.json").read_text(),
        time.time(),
    )
    page.locator(".rw-cancel").click()
    # ...and the click is acknowledged by the page itself, with the kernel still busy.
    notice = page.locator(".rw-notice")
    expect(notice).to_have_text(re.compile("Cancel requested"), timeout=1_000)
    expect(page.locator(".rw-cancel")).to_be_disabled()
    clicked_during_block = not (lab.root / "busy.json").exists()
    page.screenshot(path=str(ARTIFACTS / "panel-cancel-requested.png"), full_page=True)
    assert clicked_during_block

    # Once the cell ends, the kernel sends the cancel; the backend stops the run.
    expect(page.locator(".rw-panel")).to_have_attribute(
        "data-status", "canceled", timeout=60_000
    )
    expect(notice).to_have_text(re.compile("Canceled: you stopped"))
    final = read_json(lab.root / "final.json")
    assert final["status"] == "canceled"
    with Client(base_url=backend.url) as client:
        assert client.predictions.get(final["id"]).status == "canceled"
    page.screenshot(path=str(ARTIFACTS / "panel-canceled.png"), full_page=True)
    assert page.js_errors == []


def test_iterator_images_render_from_binary_buffers(page, lab, backend):
    run = (
        "p = client.predictions.create('demo/fractal', "
        "{'steps': 12, 'seed': 11, 'width': 384, 'height': 384})\n"
        "job = panel.follow(p)\n" + FINAL_WHEN_DONE
    )
    # No cell waits for the end: the images arrive while the kernel is idle.
    cells = [SETUP.format(url=backend.url), run]
    nb = write_notebook(lab.root, "fractal.ipynb", cells, stale=STALE)
    open_and_run(page, lab, nb, before_run=OBSERVE_TEXT)
    final = read_json(lab.root / "final.json")
    assert final["status"] == "succeeded"
    images = page.locator(".rw-gallery img.rw-image")
    expect(images).to_have_count(len(final["output"]), timeout=30_000)
    # Every image decoded from a blob: URL (bytes in a buffer, not a data: URI).
    page.wait_for_function(
        "[...document.querySelectorAll('.rw-gallery img')]"
        ".every(i => i.complete && i.naturalWidth === 384)",
        polling=100,
    )
    srcs = images.evaluate_all("imgs => imgs.map(i => i.src)")
    assert all(s.startswith("blob:") for s in srcs)
    expect(page.locator(".rw-progress-label")).to_have_text("12/12 (100%)")
    expect(page.locator(".rw-logs")).to_contain_text("12/12")
    page.screenshot(path=str(ARTIFACTS / "panel-fractal.png"), full_page=True)
    images.last.click()
    expect(page.locator(".rw-lightbox")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "panel-lightbox.png"))
    # "Download original": the kernel answers with the original file's bytes.
    with page.expect_download() as download:
        page.locator(".rw-lightbox .rw-download").click()
    with Client(base_url=backend.url) as client:
        original = client.read(final["output"][-1]).data
    assert Path(download.value.path()).read_bytes() == original
    assert download.value.suggested_filename.endswith(".png")
    page.locator(".rw-lightbox").focus()
    page.keyboard.press("Escape")
    expect(page.locator(".rw-lightbox")).to_be_hidden()
    assert page.js_errors == []
