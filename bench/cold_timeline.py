"""Where the cold start's time goes, run by run, in JupyterLab in headless Chromium.

Runs ``bench/browser.py``'s cold-start cell (``import replicate_widgets as rw;
rw.Playground("replicate/hello-world")``) in a fresh kernel, ``--runs`` times, and
prints for each run, in milliseconds after Run was pressed:

- every message the kernel sent on IOPub, when the page received it and, from the
  ``date`` in its header, when the kernel sent it (``comm_open`` lines name the widget
  model and the message's size);
- when the browser compiled each ``blob:`` module (a widget bundle; CDP
  ``Debugger.scriptParsed``, read on this script's clock, which is the same machine's);
- long tasks (over 50 ms) of the page's main thread;
- when the form became visible.

The cell also prints how long its import and its Playground took in the kernel.
Kernel, browser and this script share one clock, so the timelines line up to a
millisecond or two. Nothing is asserted.

    .venv/bin/python bench/cold_timeline.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "bench"))

from browser import COLD_OURS_SEEN, TIME_TO_VISIBLE, notebook_page  # noqa: E402
from labharness import CHROMIUM, CHROMIUM_ARGS, start_lab  # noqa: E402
from nbdriver import KERNEL_IDLE  # noqa: E402

CELL = """\
import time
_began = time.time()
import replicate_widgets as rw
_imported = time.time()
_playground = rw.Playground("replicate/hello-world")
print(f"kernel: import {1000 * (_imported - _began):.0f} ms, "
      f"Playground() {1000 * (time.time() - _imported):.0f} ms")
_playground"""

LISTEN = """() => {
  const kernel = jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  window.__timeline = [];
  kernel.iopubMessage.connect((_, msg) => {
    const content = msg.content || {};
    let what = msg.header.msg_type;
    if (what === 'comm_open') {
      const state = (content.data || {}).state || {};
      what += ` ${state._model_name} (${JSON.stringify(msg).length} bytes)`;
    } else if (what === 'status') {
      what += ` ${content.execution_state}`;
    } else if (what === 'stream') {
      what += `: ${String(content.text).trim()}`;
    }
    window.__timeline.push([Date.now(), what, Date.parse(msg.header.date)]);
  });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const at = performance.timeOrigin + e.startTime;
      window.__timeline.push([at, `long task ${Math.round(e.duration)} ms`, 0]);
    }
  }).observe({ entryTypes: ['longtask'] });
}"""


def timeline(browser: Any, lab: Any) -> list[str]:
    """Run the cell once in a fresh kernel; return the timeline's lines."""
    with notebook_page(browser, lab, "cold.ipynb", "pass", cells=1) as (page, cdp):
        events: list[tuple[float, str, float]] = []

        def parsed(event: dict[str, Any]) -> None:
            url = str(event.get("url", ""))
            if url.startswith("blob:"):
                size = int(event.get("length", 0))
                events.append((time.time() * 1000, f"compiled a {size}-byte module", 0))

        cdp.session.on("Debugger.scriptParsed", parsed)
        cdp.session.send("Debugger.enable")
        page.evaluate(LISTEN)
        started, _ = page.evaluate(TIME_TO_VISIBLE, [CELL, COLD_OURS_SEEN])
        page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=100)
        time.sleep(0.5)  # the panel's bundle may compile after the form shows
        events += [tuple(e) for e in page.evaluate("window.__timeline")]
    lines = []
    for at, what, sent in sorted(events):
        kernel = f"  (kernel sent it at {sent - started:+.0f})" if sent else ""
        lines.append(f"  {at - started:+7.0f}  {what}{kernel}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for name in ("REPLICATE_API_TOKEN", "REPLICATE_BASE_URL"):
        os.environ.pop(name, None)  # the embedded local backend, as in browser.py

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        root = Path(tmp) / "nb"
        root.mkdir()
        lab = start_lab(root, Path(tmp) / "lab")
        lab.root = root
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            for run in range(args.runs):
                print(f"run {run + 1} (ms after Run was pressed):", flush=True)
                print("\n".join(timeline(browser, lab)), flush=True)
        finally:
            browser.close()
            lab.stop()


if __name__ == "__main__":
    main()
