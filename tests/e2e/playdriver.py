"""Driving a Playground from Playwright, in any front end: Run, and watch the panel.

Locators and element handles, not ``document.querySelector``: marimo draws each widget
inside a shadow root, which Playwright's locators pierce and the document's queries do
not. Shared by the browser tests (no ``test_`` prefix, so pytest does not collect it).
"""

from __future__ import annotations

import time
from typing import Any

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
