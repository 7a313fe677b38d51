"""What the widgets cost the browser, measured in JupyterLab in headless Chromium.

Drives a throwaway JupyterLab and Debian's Chromium through the browser tests' harness
(``tests/e2e/labharness.py``, ``nbdriver.py``) against the local backend on 127.0.0.1,
and measures, ours and a peer alternately in one run (medians over ``--repeats``):

text
    The browser's main-thread time (Chrome's ``TaskDuration``: script, style, layout,
    paint) of one streamed-text flush of 512 characters when 5 KB, 100 KB and 1 MB
    of text are already shown. Ours: a PredictionPanel fed exactly as a stream feeds
    it (one append message per flush). Peer: an ``ipywidgets.Output`` that is
    ``print``-ed into (JupyterLab merges the stream into one ``<pre>``). The same
    loop with no output is measured too and subtracted (the cell's own messages).
rerun
    The page's JS heap (``Runtime.getHeapUsage`` after ``HeapProfiler.collectGarbage``)
    and DOM nodes (Chrome's ``Nodes`` metric, detached ones included) after 1 and
    after 10 runs of the same cell, which shows a 2x2 grid of ``demo/fractal``
    predictions (3 images each). Ours: ``Sweep(...).run()``. Peer: the same four
    predictions shown as a plain ipywidgets ``VBox`` of ``HBox`` of ``Image``.
    Baselines (the floor a re-run can reach): a one-line anywidget, closed and shown
    anew at each run, and five of them (as many widget models as the Sweep shows:
    itself and four panels); what JupyterLab keeps of any closed widget and output.
code
    Bytes of front-end code per widget: the ``_esm``/``_css``/``_view_code`` (and
    loader's key) traits in the state of every widget model a Playground opens (the
    kernel's first widgets of each class carry their bundles); the view code the
    page asks the kernel for (the ``view-code`` answers on the kernel websocket); and
    the bytes of script the browser compiles (CDP ``Debugger.scriptParsed`` of
    ``blob:`` modules), for the first and a second Playground in the page. Peer: an
    ipywidgets Text and Button, whose code is part of JupyterLab's widget manager.
cold
    Execute to a visible form in a fresh kernel:
    ``import replicate_widgets as rw; rw.Playground("replicate/hello-world")`` (the
    embedded local backend) against an ipywidgets Text and Button.

    .venv/bin/python bench/browser.py [--repeats 3] [--only text,rerun,code,cold]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from labharness import CHROMIUM, CHROMIUM_ARGS, Lab, start_lab  # noqa: E402
from nbdriver import KERNEL_IDLE, open_notebook, write_notebook  # noqa: E402

from replicate_widgets.server import serve  # noqa: E402

MODELS = REPO / "replicate_widgets" / "server" / "models"
FLUSHES = 20
CHUNK = 512  # characters per flush: 2,000 tokens/s at 20 flushes/s is about this
SIZES_KB = (5, 100, 1000)

# -- driving cells ------------------------------------------------------------------

RUN_CELL = """async ([index, source]) => {
  const panel = jupyterapp.shell.currentWidget;
  const cell = panel.content.model.cells.get(index);
  cell.sharedModel.setSource(source);
  panel.content.activeCellIndex = index;
  await jupyterapp.commands.execute('notebook:run-cell');
}"""


def run_cell(page: Any, index: int, source: str, timeout_ms: int = 180_000) -> None:
    """Put ``source`` into code cell ``index``, run it and wait for the kernel."""
    page.evaluate(RUN_CELL, [index, source])
    page.wait_for_function(KERNEL_IDLE, timeout=timeout_ms, polling=100)
    errors = page.evaluate(
        """(index) => jupyterapp.shell.currentWidget.content.model.cells.get(index)
             .toJSON().outputs.filter(o => o.output_type === 'error')
             .map(o => o.ename + ': ' + o.evalue)""",
        index,
    )
    if errors:
        raise RuntimeError(f"cell {index} failed: {errors}")


def settle(page: Any, seconds: float = 0.5) -> None:
    """Let pending frames (layout, paint) happen before a reading."""
    page.evaluate(
        "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
    )
    time.sleep(seconds)


class Cdp:
    """Chrome DevTools Protocol readings of one page."""

    def __init__(self, context: Any, page: Any) -> None:
        self.session = context.new_cdp_session(page)
        self.session.send("Performance.enable")

    def metrics(self) -> dict[str, float]:
        got = self.session.send("Performance.getMetrics")["metrics"]
        return {m["name"]: float(m["value"]) for m in got}

    def task_seconds(self) -> float:
        return self.metrics()["TaskDuration"]

    def memory(self) -> tuple[float, int]:
        """JS heap in use (MB) and DOM nodes, after a full garbage collection."""
        # The console keeps what was logged while a DevTools client (Playwright is
        # one) listens; a page without DevTools open does not.
        self.session.send("Runtime.discardConsoleEntries")
        for _ in range(2):  # a second pass frees what the first one's finalizers let go
            self.session.send("HeapProfiler.collectGarbage")
        heap = self.session.send("Runtime.getHeapUsage")["usedSize"] / 1e6
        return heap, int(self.metrics()["Nodes"])


@contextlib.contextmanager
def notebook_page(
    browser: Any,
    lab: Lab,
    name: str,
    setup: str,
    cells: int = 3,
    on_websocket: Callable[[Any], None] | None = None,
) -> Iterator[tuple[Any, Cdp]]:
    """A fresh page with notebook ``name`` open in a fresh kernel, setup run."""
    lab.shutdown_sessions()
    nb = write_notebook(lab.root, name, [setup] + ["pass"] * (cells - 1))
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    if on_websocket is not None:  # before the notebook opens its kernel's socket
        page.on("websocket", on_websocket)
    page.set_default_timeout(120_000)
    try:
        open_notebook(page, lab, nb)
        cdp = Cdp(context, page)
        run_cell(page, 0, setup)
        yield page, cdp
    finally:
        context.close()
        lab.shutdown_sessions()


# -- (a) one streamed-text flush ----------------------------------------------------

TEXT_SETUP = """\
import time, ipywidgets
from replicate_widgets._widgets.panel.panel import PredictionPanel
LINE = "token " + "x" * 57 + "\\n"  # 64 characters
def text(n):
    return (LINE * (n // len(LINE) + 1))[:n]
"""

TEXT_OURS = {
    "show": """\
panel = PredictionPanel(output="text-stream")
panel.status = "processing"
panel""",
    # _set_growing is what the panel's stream follower calls at every flush
    "fill": 'panel._set_growing({{"text": text({size})}}, final=False)',
    "flush": """\
for i in range({flushes}):
    panel._set_growing({{"text": panel.text + text({chunk})}}, final=False)
    time.sleep(0.05)""",
}
TEXT_PEER = {
    "show": "out = ipywidgets.Output()\nout",
    "fill": "with out:\n    print(text({size}), end='', flush=True)",
    "flush": """\
for i in range({flushes}):
    with out:
        print(text({chunk}), end='', flush=True)
    time.sleep(0.05)""",
}
TEXT_IDLE = "for i in range({flushes}):\n    time.sleep(0.05)"


def flush_cost(page: Any, cdp: Cdp, cells: dict[str, str], size: int) -> float:
    """Milliseconds of browser main-thread time per flush with ``size`` chars shown."""
    run_cell(page, 1, cells["show"])
    run_cell(page, 2, cells["fill"].format(size=size))
    settle(page, 1.0)
    idle = [idle_cost(page, cdp)]
    start = cdp.task_seconds()
    run_cell(page, 2, cells["flush"].format(flushes=FLUSHES, chunk=CHUNK))
    settle(page)
    busy = cdp.task_seconds() - start
    idle.append(idle_cost(page, cdp))
    # The quieter of the two idle runs: a stray task (a GC, a poll) in one of them
    # is not part of the cell's own cost.
    return max(busy - min(idle), 0.0) / FLUSHES * 1000


def idle_cost(page: Any, cdp: Cdp) -> float:
    """Main-thread seconds of running the flush loop with nothing to show."""
    start = cdp.task_seconds()
    run_cell(page, 2, TEXT_IDLE.format(flushes=FLUSHES))
    settle(page)
    return cdp.task_seconds() - start


def bench_text(browser: Any, lab: Lab, repeats: int) -> list[Row]:
    ours: dict[int, list[float]] = {s: [] for s in SIZES_KB}
    peer: dict[int, list[float]] = {s: [] for s in SIZES_KB}
    with notebook_page(browser, lab, "text.ipynb", TEXT_SETUP) as (page, cdp):
        for _ in range(repeats):
            for size in SIZES_KB:
                ours[size].append(flush_cost(page, cdp, TEXT_OURS, size * 1000))
                peer[size].append(flush_cost(page, cdp, TEXT_PEER, size * 1000))
                print(
                    f"  text {size} KB: ours {ours[size][-1]:.2f} ms, "
                    f"peer {peer[size][-1]:.2f} ms",
                    flush=True,
                )
    return [
        Row(
            f"one flush, {size} KB shown (ms)",
            statistics.median(ours[size]),
            statistics.median(peer[size]),
        )
        for size in SIZES_KB
    ]


# -- (b) re-running a Sweep cell ----------------------------------------------------

RERUN_SETUP = """\
import httpx, ipywidgets
from replicate_widgets._client.client import Client
from replicate_widgets._widgets.compare.compare import Sweep
client = Client(base_url={url!r})
BASE = {{"width": 256, "height": 256}}
GRID = {{"seed": [1, 2], "steps": [3, 4]}}
"""
RERUN_OURS = """\
sweep = Sweep("demo/fractal", base=BASE, grid=GRID, client=client)
sweep.run()
sweep"""
RERUN_PEER = """\
rows = []
for seed in GRID["seed"]:
    row = []
    for steps in GRID["steps"]:
        urls = client.run("demo/fractal", {**BASE, "seed": seed, "steps": steps})
        row.append(ipywidgets.VBox([
            ipywidgets.HTML(f"seed={seed} · steps={steps}"),
            ipywidgets.HBox([ipywidgets.Image(value=httpx.get(u).content, width=128)
                             for u in urls])]))
    rows.append(ipywidgets.HBox(row))
grid = ipywidgets.VBox(rows)
grid"""
RERUN_BASELINE = """\
import anywidget
try:
    line.close()
except NameError:
    pass
line = anywidget.AnyWidget(
    _esm="export default { render({ el }) { el.textContent = 'one line'; } }")
line"""
RERUN_FLOOR = """\
import anywidget
for old in globals().get("lines", []):
    old.close()
lines = [anywidget.AnyWidget(
    _esm="export default { render({ el }) { el.textContent = 'one line'; } }")
    for _ in range(5)]
display(*lines)"""
RERUNS = 10


def rerun_memory(browser: Any, lab: Lab, url: str, cell: str) -> dict[str, float]:
    """Heap (MB) and DOM nodes after the first and after the tenth run of ``cell``."""
    setup = RERUN_SETUP.format(url=url)
    with notebook_page(browser, lab, "rerun.ipynb", setup) as (page, cdp):
        _, nodes0 = cdp.memory()
        readings = []
        for _ in range(RERUNS):
            run_cell(page, 1, cell)
            settle(page, 1.0)
            readings.append(cdp.memory())
        (heap1, nodes1), (heap10, nodes10) = readings[0], readings[-1]
        return {
            "heap1": heap1,
            "heap10": heap10,
            "nodes1": nodes1 - nodes0,
            "nodes10": nodes10 - nodes0,
            "heap_per_run": (heap10 - heap1) / (RERUNS - 1),
            "nodes_per_run": (nodes10 - nodes1) / (RERUNS - 1),
        }


def bench_rerun(browser: Any, lab: Lab, url: str, repeats: int) -> list[Row]:
    ours: list[dict[str, float]] = []
    peer: list[dict[str, float]] = []
    base: list[dict[str, float]] = []
    floor: list[dict[str, float]] = []
    for _ in range(repeats):
        ours.append(rerun_memory(browser, lab, url, RERUN_OURS))
        peer.append(rerun_memory(browser, lab, url, RERUN_PEER))
        base.append(rerun_memory(browser, lab, url, RERUN_BASELINE))
        floor.append(rerun_memory(browser, lab, url, RERUN_FLOOR))
        print(f"  rerun: ours {fmt(ours[-1])}", flush=True)
        print(f"         peer {fmt(peer[-1])}", flush=True)
        print(f"         base {fmt(base[-1])}", flush=True)
        print(f"        floor {fmt(floor[-1])}", flush=True)

    def med(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    labels = {
        "heap1": "JS heap after 1 run (MB)",
        "heap10": "JS heap after 10 runs (MB)",
        "heap_per_run": "heap kept per re-run (MB)",
        "nodes1": "DOM nodes after 1 run",
        "nodes10": "DOM nodes after 10 runs",
        "nodes_per_run": "DOM nodes kept per re-run",
    }
    rows = [Row(label, med(ours, k), med(peer, k)) for k, label in labels.items()]
    rows.append(
        Row(
            "heap kept per re-run, vs a one-line anywidget (MB)",
            med(ours, "heap_per_run"),
            med(base, "heap_per_run"),
        )
    )
    rows.append(
        Row(
            "heap kept per re-run, vs five one-line anywidgets (MB)",
            med(ours, "heap_per_run"),
            med(floor, "heap_per_run"),
        )
    )
    return rows


def fmt(reading: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in reading.items())


# -- (c) front-end code per widget --------------------------------------------------

CODE_SETUP = """\
import ipywidgets
from ipywidgets.widgets.widget import _instances
from replicate_widgets._client.client import Client
from replicate_widgets._widgets.playground.playground import Playground
client = Client(base_url={url!r})
CODE_TRAITS = ("_esm", "_css", "_view_code", "_view_key")
def code_bytes(make):
    before = set(_instances)
    made = make()
    new = [w for k, w in _instances.items() if k not in before]
    sent = sum(len(str(w.get_state().get(t, "")).encode()) for w in new
               for t in CODE_TRAITS)
    return made, sent, len(new)
"""
CODE_OURS = """\
w, sent, models = code_bytes(lambda: Playground("replicate/hello-world", client=client))
print(sent, models)
w"""
CODE_PEER = """\
w, sent, models = code_bytes(lambda: ipywidgets.VBox(
    [ipywidgets.Text(description="text"), ipywidgets.Button(description="Run")]))
print(sent, models)
w"""


PRINTED = """(i) => jupyterapp.shell.currentWidget.content.model.cells.get(i)
  .toJSON().outputs.find(o => o.output_type === 'stream').text"""


def code_cost(browser: Any, lab: Lab, url: str, cell: str) -> tuple[int, ...]:
    """Bytes of code in a widget's opening messages; code asked for and script
    compiled for a first and a second one in the page."""
    answers: list[int] = []

    def watch(ws: Any) -> None:
        def received(payload: str | bytes) -> None:
            data = payload if isinstance(payload, bytes) else payload.encode()
            if b'"view-code"' in data:
                answers.append(len(data))

        ws.on("framereceived", received)

    setup = CODE_SETUP.format(url=url)
    with notebook_page(browser, lab, "code.ipynb", setup, on_websocket=watch) as (
        page,
        cdp,
    ):
        answers.clear()
        compiled: list[int] = []
        cdp.session.on(
            "Debugger.scriptParsed",
            lambda e: (
                compiled.append(int(e.get("length", 0)))
                if str(e.get("url", "")).startswith("blob:")
                else None
            ),
        )
        cdp.session.send("Debugger.enable")
        run_cell(page, 1, cell)
        settle(page, 1.0)
        first, asked_first = sum(compiled), sum(answers)
        compiled.clear()
        answers.clear()
        run_cell(page, 2, cell)
        settle(page, 1.0)
        sent = [int(page.evaluate(PRINTED, i).split()[0]) for i in (1, 2)]
        return sent[0], first, sum(compiled), asked_first, sum(answers), sent[1]


def bench_code(browser: Any, lab: Lab, url: str) -> list[Row]:
    ours = code_cost(browser, lab, url, CODE_OURS)
    peer = code_cost(browser, lab, url, CODE_PEER)
    print(f"  code: ours {ours}, peer {peer}", flush=True)
    return [
        Row("code in opening messages, 1st (KB)", ours[0] / 1e3, peer[0] / 1e3),
        Row("code in opening messages, 2nd (KB)", ours[5] / 1e3, peer[5] / 1e3),
        Row("view code asked for, first widget (KB)", ours[3] / 1e3, peer[3] / 1e3),
        Row("view code asked for, second widget (KB)", ours[4] / 1e3, peer[4] / 1e3),
        Row("script compiled, first widget (KB)", ours[1] / 1e3, peer[1] / 1e3),
        Row("script compiled, second widget (KB)", ours[2] / 1e3, peer[2] / 1e3),
    ]


# -- (d) execute to a visible form in a fresh kernel --------------------------------

COLD_OURS = 'import replicate_widgets as rw\nrw.Playground("replicate/hello-world")'
COLD_OURS_SEEN = ".rw-form .rw-form-run"
COLD_PEER = """\
import ipywidgets
ipywidgets.VBox([ipywidgets.Text(description="text"),
                 ipywidgets.Button(description="Run")])"""
COLD_PEER_SEEN = ".widget-button"

TIME_TO_VISIBLE = """async ([source, selector]) => {
  const panel = jupyterapp.shell.currentWidget;
  panel.content.model.cells.get(0).sharedModel.setSource(source);
  panel.content.activeCellIndex = 0;
  const visible = () => {
    const el = panel.node.querySelector(selector);
    return !!el && el.getClientRects().length > 0;
  };
  const started = Date.now();
  const t0 = performance.now();
  jupyterapp.commands.execute('notebook:run-cell');
  while (!visible()) {
    if (performance.now() - t0 > 120000) throw new Error('never visible: ' + selector);
    await new Promise(r => requestAnimationFrame(r));
  }
  // cold_timeline.py records the moment on its page-wide timeline.
  window.__timeline?.push([Date.now(), 'form visible', 0]);
  return [started, performance.now() - t0];
}"""
"""Run the notebook's cell; return when it started (epoch ms) and ms to visible."""


def cold_time(browser: Any, lab: Lab, source: str, selector: str) -> float:
    with notebook_page(browser, lab, "cold.ipynb", "pass", cells=1) as (page, _):
        _, ms = page.evaluate(TIME_TO_VISIBLE, [source, selector])
        page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=100)
        return ms


def bench_cold(browser: Any, lab: Lab, repeats: int) -> list[Row]:
    ours: list[float] = []
    peer: list[float] = []
    for _ in range(repeats):
        ours.append(cold_time(browser, lab, COLD_OURS, COLD_OURS_SEEN))
        peer.append(cold_time(browser, lab, COLD_PEER, COLD_PEER_SEEN))
        print(f"  cold: ours {ours[-1]:.0f} ms, peer {peer[-1]:.0f} ms", flush=True)
    return [
        Row(
            "execute to visible form, fresh kernel (ms)",
            statistics.median(ours),
            statistics.median(peer),
        )
    ]


# -- report -------------------------------------------------------------------------


class Row:
    def __init__(self, what: str, ours: float, peer: float) -> None:
        self.what, self.ours, self.peer = what, ours, peer

    def ratio(self) -> str:
        if self.peer == 0:
            return "n/a (peer 0)"
        return f"{self.ours / self.peer:.2f}x"


def print_table(rows: list[Row]) -> None:
    width = max(len(r.what) for r in rows)
    print(f"\n{'measure':<{width}} | {'ours':>10} | {'peer':>10} | ratio (ours/peer)")
    print(f"{'-' * width}-+-{'-' * 10}-+-{'-' * 10}-+------------------")
    for r in rows:
        print(f"{r.what:<{width}} | {r.ours:>10.2f} | {r.peer:>10.2f} | {r.ratio()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default="text,rerun,code,cold")
    args = parser.parse_args()
    only = set(args.only.split(","))
    for name in ("REPLICATE_API_TOKEN", "REPLICATE_BASE_URL"):
        os.environ.pop(name, None)  # the cold start uses the embedded local backend

    from playwright.sync_api import sync_playwright

    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(
            port=0,
            models=[MODELS / "fractal", MODELS / "hello-world"],
            bundled=False,
            data_dir=Path(tmp) / "backend",
        ) as backend,
        sync_playwright() as p,
    ):
        root = Path(tmp) / "nb"
        root.mkdir()
        lab = start_lab(root, Path(tmp) / "lab")
        lab.root = root
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        steps: list[tuple[str, Callable[[], list[Row]]]] = [
            ("text", lambda: bench_text(browser, lab, args.repeats)),
            ("rerun", lambda: bench_rerun(browser, lab, backend.url, args.repeats)),
            ("code", lambda: bench_code(browser, lab, backend.url)),
            ("cold", lambda: bench_cold(browser, lab, args.repeats)),
        ]
        try:
            for name, step in steps:
                if name in only:
                    print(f"{name} ...", flush=True)
                    rows += step()
        finally:
            browser.close()
            lab.stop()
    print_table(rows)


if __name__ == "__main__":
    main()
