"""Driving a Playground from Playwright, in any front end: Run, and watch the panel.

Locators and element handles, not ``document.querySelector``: marimo draws each widget
inside a shadow root, which Playwright's locators pierce and the document's queries do
not. Shared by the browser tests (no ``test_`` prefix, so pytest does not collect it).
"""

from __future__ import annotations

import time
from typing import Any

from playwright.sync_api import expect

# One sample of a Playground's panel: status, text length, images shown, progress.
SAMPLE = """(panel) => {
  const text = panel.querySelector('.rw-text');
  const bar = panel.querySelector('.rw-progress');
  return {
    status: panel.dataset.status,
    length: Number(text?.dataset.length || 0),
    images: panel.querySelectorAll('img.rw-image').length,
    fraction: bar?.dataset.fraction ? Number(bar.dataset.fraction) : null,
  };
}"""
TERMINAL = {"succeeded", "failed", "canceled", "aborted"}


def playground(page: Any, index: int) -> Any:
    """The ``index``-th Playground on the page (a locator)."""
    return page.locator(".rw-playground").nth(index)


def run_and_watch(pg: Any, timeout: float = 90.0) -> list[dict[str, Any]]:
    """Press Run on the Playground ``pg``; return what its panel showed until the end.

    Sampled from Python (each evaluate runs at once): page timers can be throttled
    in a headless browser, which would hide the updates the tests look for.
    """
    pg.locator(".rw-form-run").click()
    panel = pg.locator(".rw-panel").first
    seen = []
    started = False  # the panel may still show the previous, finished run
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sample = panel.evaluate(SAMPLE)
        started = started or sample["status"] not in TERMINAL
        if started:
            seen.append(sample)
            if sample["status"] in TERMINAL:
                return seen
        time.sleep(0.02)
    raise AssertionError(f"no end after {timeout}s: {seen[-5:]}")


def check_quickstart(page: Any, name: str) -> Any:
    """The quickstart notebook's three Playgrounds, each used as a person would.

    hello-world shows the cell's own run and then runs ``name`` typed into its form;
    text-stream streams tokens; fractal shows images and progress before the end.
    Returns the fractal Playground (a locator) for the front end's own checks.
    """
    expect(page.locator(".rw-playground")).to_have_count(3)
    hello, fractal = playground(page, 0), playground(page, 1)
    expect(hello.locator(".rw-badge")).to_have_text("local backend")
    # The cell's hello.run(text="Alice") shows in the widget too.
    expect(hello.locator(".rw-text")).to_have_text("hello Alice")

    # hello-world: type a name, press Run.
    box = hello.locator(".rw-form input[type=text], .rw-form textarea").first
    box.fill(name)
    hello.locator(".rw-form-run").click()
    expect(hello.locator(".rw-text")).to_have_text(f"hello {name}", timeout=60_000)
    expect(hello.locator(".rw-panel")).to_have_attribute("data-status", "succeeded")

    # text-stream: tokens appear one by one while the prediction is processing.
    seen = run_and_watch(playground(page, 2))
    assert seen[-1]["status"] == "succeeded"
    growing = {s["length"] for s in seen if s["status"] == "processing"}
    assert len(growing - {0}) >= 3, seen[-20:]

    # fractal: intermediate images and the progress bar, before the end.
    seen = run_and_watch(fractal)
    assert seen[-1]["status"] == "succeeded"
    early = [s for s in seen if s["status"] == "processing"]
    assert any(s["images"] >= 1 for s in early), seen[-20:]
    assert any(s["fraction"] is not None and 0 < s["fraction"] < 1 for s in early)
    return fractal
