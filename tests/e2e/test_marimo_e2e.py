"""The widgets in marimo (``marimo run`` and ``edit``), in headless Chromium, locally.

Proved here: notebooks/06-marimo.py (the quickstart) runs as an app; its Playgrounds
run what is typed (the form's submit carries its values: marimo may deliver the value
save after the message), stream text, show the fractal's images and play chiptune's
audio; the ModelBrowser opens a working Playground; a Trainer opens the version it
made in a working Playground; a 2x2 Sweep fills; a cell run again cancels
the run its old Playground started; and once marimo
is stopped (SIGTERM or Ctrl-C; ``marimo run`` and ``marimo edit``) no model process it
started is left.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from labharness import ARTIFACTS, REPO
from measure import STYLE_COPIES, VIEW_ROOTS
from playdriver import playground, run_and_watch
from playwright.sync_api import expect

HERE = Path(__file__).parent
QUICKSTART = REPO / "notebooks" / "06-marimo.py"


def assert_clean(page: Any) -> None:
    assert page.js_errors == []
    assert page.console_errors == []
    assert page.external_requests == []


def screenshots(page: Any, name: str) -> None:
    """The whole app at 1400 and 600 px wide (marimo scrolls its own container)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1400, 600):
        page.set_viewport_size({"width": width, "height": 1000})
        height = page.evaluate(
            "Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))"
        )
        page.set_viewport_size({"width": width, "height": max(1000, height)})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 1000})


def model_processes(server_pid: int) -> list[psutil.Process]:
    """The model processes under marimo: coglet parents and their workers.

    Found as descendants of the marimo server (a coglet parent is in a session of its
    own, but still marimo's child) whose command line names coglet or cog's server.
    """
    found = []
    for proc in psutil.Process(server_pid).children(recursive=True):
        try:
            line = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if "coglet" in line or "cog.server" in line or "lifeline.py" in line:
            found.append(proc)
    return found


@pytest.mark.timeout(600)
def test_quickstart_runs_in_marimo(page: Any, marimo_server: Any) -> None:
    server = marimo_server(QUICKSTART)
    page.goto(server.url)
    # The cells ran: hello.run(text="Alice") and writer.run(...) show their results.
    expect(page.get_by_text("succeeded -> hello Alice")).to_be_visible(timeout=240_000)
    hello, fractal, writer, tune = (playground(page, i) for i in range(4))
    expect(hello.locator(".rw-badge")).to_have_text("local backend")
    expect(hello.locator(".rw-text")).to_have_text("hello Alice")
    expect(writer.locator(".rw-panel")).to_have_attribute(
        "data-status", "succeeded", timeout=120_000
    )

    # What is typed is what runs, typed and run at once (no wait for the save).
    box = hello.locator('[data-field="text"] .rw-form-input')
    for name in ("One", "Two", "Three"):
        box.fill(name)
        hello.locator(".rw-form-run").click()
        expect(hello.locator(".rw-text")).to_have_text(f"hello {name}", timeout=60_000)
    expect(box).to_have_value("Three")  # no stale state written back into the form

    # text-stream: tokens appear one by one while the prediction is processing.
    seen = run_and_watch(writer)
    assert seen[-1]["status"] == "succeeded"
    growing = {s["length"] for s in seen if s["status"] == "processing"}
    assert len(growing - {0}) >= 3, seen[-20:]

    # fractal: images during the run, every image loaded in the end.
    seen = run_and_watch(fractal, timeout=180)
    assert seen[-1]["status"] == "succeeded"
    assert any(s["images"] >= 1 for s in seen if s["status"] == "processing"), seen
    images = fractal.locator(".rw-panel img.rw-image")
    expect(images.first).to_be_visible()
    loaded = images.evaluate_all(
        "imgs => imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0)"
    )
    assert loaded

    # chiptune: an audio player with the tune.
    tune.locator(".rw-form-run").click()
    expect(tune.locator(".rw-panel")).to_have_attribute(
        "data-status", "succeeded", timeout=120_000
    )
    audio = tune.locator(".rw-panel audio")
    expect(audio).to_have_count(1, timeout=30_000)
    assert (audio.get_attribute("src") or "").startswith(("blob:", "data:audio"))

    # The ModelBrowser's "Open in Playground" gives a Playground that runs.
    tiles = page.locator(".rw-browser-tile")
    expect(tiles.first).to_be_visible(timeout=60_000)
    tiles.filter(has_text="replicate/hello-world").locator(
        "button.rw-tile-open"
    ).click()
    card = page.locator(".rw-browser-card")
    expect(card.locator(".rw-card-title")).to_have_text(
        "replicate/hello-world", timeout=30_000
    )
    card.locator("button.rw-browser-open").click()
    opened = page.locator(".rw-browser-playground .rw-playground")
    expect(opened).to_have_count(1, timeout=60_000)
    opened.locator('[data-field="text"] .rw-form-input').fill("Browser")
    opened.locator(".rw-form-run").click()
    expect(opened.locator(".rw-panel")).to_have_attribute(
        "data-status", "succeeded", timeout=60_000
    )
    expect(opened.locator(".rw-text")).to_have_text("hello Browser")

    screenshots(page, "marimo-quickstart")
    assert_clean(page)


def test_a_2x2_sweep_fills_in_marimo(page: Any, marimo_server: Any) -> None:
    server = marimo_server(HERE / "marimo_sweep.py")
    page.goto(server.url)
    cells = page.locator(".rw-grid .rw-grid-cell")
    expect(cells).to_have_count(4, timeout=120_000)
    expect(page.locator(".rw-grid-message")).to_have_text(
        "4 of 4 succeeded.", timeout=240_000
    )
    for i in range(4):
        cell = cells.nth(i)
        expect(cell.locator(".rw-panel")).to_have_attribute("data-status", "succeeded")
        imgs = cell.locator(".rw-gallery img")
        expect(imgs.first).to_be_visible(timeout=30_000)
        assert imgs.evaluate_all(
            "imgs => imgs.every(i => i.complete && i.naturalWidth > 0)"
        )
    # marimo renders each widget in a shadow root: the shared sheets are adopted there,
    # once a root, and no view keeps a <style> of its own.
    copies = page.evaluate(STYLE_COPIES, list(VIEW_ROOTS))
    assert copies["styles"] == 0, copies
    assert copies["repeats"] == 0, copies
    assert copies["scopes"] >= 1, copies
    assert copies["adopted"] == {
        "compare": copies["scopes"],
        "panel": copies["scopes"],
    }, copies
    screenshots(page, "marimo-sweep")
    assert_clean(page)


def test_a_cell_run_again_stops_its_playgrounds_run_in_marimo(
    page: Any, marimo_server: Any
) -> None:
    """Moving a slider runs the Playground's cell again: the run the old Playground
    started is canceled (demo/echo has one slot, so the new run could not start for
    a minute otherwise), and the old widget is gone."""
    server = marimo_server(HERE / "marimo_rerun.py")
    page.goto(server.url)
    panel = page.locator(".rw-playground .rw-panel")
    expect(panel).to_have_attribute("data-status", "processing", timeout=120_000)
    first = panel.locator(".rw-title").inner_text()
    knob = page.get_by_test_id("thumb")
    knob.focus()
    knob.press("ArrowRight")
    expect(panel).to_have_count(1)
    expect(panel).to_contain_text("after the re-run", timeout=30_000)
    expect(panel).to_have_attribute("data-status", "succeeded")
    assert panel.locator(".rw-title").inner_text() != first
    assert_clean(page)


TRAINER_APP = """
import marimo

app = marimo.App()


@app.cell
def _():
    import uuid

    import marimo as mo

    import replicate_widgets as rw

    trainer = rw.Trainer("demo/text-stream")
    trainer.ready.result(120)
    name = f"owl-{uuid.uuid4().hex[:6]}"
    trainer.client.models.create("local", name, visibility="private", hardware="cpu")
    trainer.destination = f"local/{name}"
    trainer
    return mo, trainer


@app.cell
def _(mo, trainer):
    trained = trainer.train(training_text=%r, order=1)
    mo.plain_text(f"trained: {trained.status}")
    return
"""


def test_trainer_opens_its_new_version_in_a_playground_in_marimo(
    page: Any, marimo_server: Any, tmp_path: Path
) -> None:
    """The Trainer's "Open in Playground" button makes the Playground in a click
    handler, after every cell ran: marimo must still show it, and it must run."""
    text = "the owl and the cat went to sea in a beautiful boat " * 8
    app = tmp_path / "marimo_trainer.py"
    app.write_text(TRAINER_APP % text)
    server = marimo_server(app)
    page.goto(server.url)
    expect(page.get_by_text("trained: succeeded")).to_be_visible(timeout=240_000)
    trainer = page.locator(".rw-trainer")
    expect(trainer.locator(".rw-trainer-result")).to_contain_text("New version local/")
    trainer.locator("button.rw-trainer-open").click()
    opened = trainer.locator(".rw-trainer-playground .rw-playground")
    expect(opened).to_have_count(1, timeout=60_000)
    expect(trainer.locator(".rw-trainer-message")).to_have_text("")
    opened.locator('[data-field="prompt"] .rw-form-input').fill("the owl")
    opened.locator(".rw-form-run").click()
    expect(opened.locator(".rw-panel")).to_have_attribute(
        "data-status", "succeeded", timeout=120_000
    )
    words = set(text.split())
    shown = opened.locator(".rw-panel .rw-text").inner_text()
    assert shown.split(), shown
    assert set(shown.split()) <= words, shown
    assert_clean(page)


@pytest.mark.parametrize(
    ("mode", "sig"),
    [("run", signal.SIGTERM), ("run", signal.SIGINT), ("edit", signal.SIGTERM)],
    ids=["run-TERM", "run-INT", "edit-TERM"],
)
def test_stopping_marimo_leaves_no_model_process(
    page: Any, marimo_server: Any, mode: str, sig: signal.Signals
) -> None:
    server = marimo_server(HERE / "marimo_hello.py", mode)
    page.goto(server.url)
    expect(page.get_by_text("ran: hello from marimo")).to_be_visible(timeout=120_000)
    models = model_processes(server.proc.pid)
    assert models, "the run left no model process to watch: nothing is proved"
    parents = {p.ppid() for p in models if "lifeline.py" in " ".join(p.cmdline())}
    assert parents
    if mode == "run":  # the page's kernel is a thread of the server, so is its backend
        assert parents == {server.proc.pid}
    else:  # the kernel is a process of its own, a child of marimo's
        assert server.proc.pid not in parents
    assert_clean(page)
    page.close()  # as a person closing the tab, then stopping marimo
    # Stopped by this signal, or exited cleanly; SIGKILL (marimo hung) fails.
    assert server.stop(sig) in (0, -sig), server.log_path.read_text()
    deadline = time.monotonic() + 30
    left = models
    while left and time.monotonic() < deadline:
        left = [p for p in left if p.is_running() and p.status() != "zombie"]
        time.sleep(0.2)
    assert left == [], [p.pid for p in left]
