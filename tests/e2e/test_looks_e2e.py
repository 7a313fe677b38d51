"""Every widget in JupyterLab's light and dark themes: contrast, CSS scope, pictures.

Measured in headless Chromium on real widgets (local backend): the WCAG contrast of
every text inside them (status chips, the backend badge, buttons, notices and the
rest) from computed colours; that no rule of their stylesheets matches outside them;
and a picture of each widget per theme, cropped to the widget. With
``RW_UPDATE_SCREENSHOTS=1`` the pictures also replace the ones in docs/screenshots/
that the README shows.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from labharness import ARTIFACTS, REPO
from measure import CONTRAST, LEAKS, VIEW_ROOTS, worst
from nbdriver import cell_errors, open_and_run, wait_until_all_ran, write_notebook
from pictures import publish
from playwright.sync_api import expect

from replicate_widgets._client.client import Client
from replicate_widgets.server import LocalServer, serve

BUNDLED = REPO / "replicate_widgets" / "server" / "models"
DOCS = REPO / "docs" / "screenshots"
AA = 4.5

TEXT = (
    "the owl and the cat went to sea in a beautiful boat and the owl sang to the "
    "stars above and the cat said you elegant fowl "
) * 8

CELLS = [
    "import replicate_widgets as rw\n"
    "from IPython.display import HTML\n"
    "client = rw.Client(base_url={url!r})",
    "pg = rw.Playground('demo/text-stream', client=client, keep=False)\n"
    "pg.run(prompt='Alice was', max_tokens=24, seed=1)\npg",
    "bad = rw.Playground('demo/echo', client=client, keep=False)\n"
    "try:\n    bad.run(text='x', fail=True)\nexcept Exception:\n    pass\nbad",
    "browser = rw.ModelBrowser(client=client)\nbrowser",
    "history = rw.History(client=client, keeper=None)\nhistory",
    "cmp = rw.Compare(['replicate/hello-world', 'demo/echo'], input={{'text': 'hi'}},"
    " client=client)\ncmp.run(60)\ncmp",
    "sweep = rw.Sweep('demo/echo', grid={{'text': ['a', 'b'], 'delay': [0, 0.1]}},"
    " client=client)\nsweep.run(60)\nsweep",
    "trainer = rw.Trainer('demo/text-stream', client=client, destination={dest!r})\n"
    "trainer.ready.result(60)\ntrainer.train(training_text={text!r})\ntrainer",
    "create = rw.CreateModel(client=client, name='My Model',"
    " paper_url='arxiv.org/abs/1')\ncreate",
    # Plain HTML outside every widget, with a class a view's stylesheet uses.
    "HTML('<div class=\"rw-notice rw-outside-probe\">outside the widgets</div>')",
]

# Each widget's picture: the output of its cell (cells 1..8 above).
SHOTS = {
    "playground": 1,
    "playground-failed": 2,
    "model-browser": 3,
    "history": 4,
    "compare": 5,
    "sweep": 6,
    "trainer": 7,
    "create-model": 8,
}

NEXT_FRAMES = """() => new Promise(
  (done) => requestAnimationFrame(() => requestAnimationFrame(done)))"""

ROOTS = ", ".join(f".{r}" for r in VIEW_ROOTS if r != "rw-view") + ", .rw-widget-header"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    models = [
        BUNDLED / name for name in ("hello-world", "echo", "text-stream", "fractal")
    ]
    data = tmp_path_factory.mktemp("looks-backend")
    with serve(port=0, models=models, bundled=False, data_dir=data) as server:
        yield server


def set_theme(page: Any, theme: str) -> None:
    light = "true" if "Light" in theme else "false"
    page.evaluate(
        "(t) => jupyterapp.commands.execute('apputils:change-theme', {theme: t})", theme
    )
    page.wait_for_function(
        f"document.body.dataset.jpThemeLight === '{light}'", timeout=30_000
    )
    page.wait_for_timeout(500)  # the theme's stylesheet applies


def shoot(page: Any, theme: str) -> list[str]:
    made = []
    cells = page.locator(".jp-CodeCell")
    for name, index in SHOTS.items():
        out = cells.nth(index).locator(".jp-OutputArea-output").last
        out.scroll_into_view_if_needed()
        # Two frames: what scrolling brought into view has been laid out.
        page.evaluate(NEXT_FRAMES)
        target = ARTIFACTS / "screenshots" / f"{name}-{theme}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        box = out.bounding_box()
        margin = 8  # the widget's edges (a button's border) stay inside the picture
        clip = {
            "x": box["x"] - margin,
            "y": box["y"] - margin,
            "width": box["width"] + 2 * margin,
            "height": box["height"] + 2 * margin,
        }
        page.screenshot(path=str(target), clip=clip)
        publish(target, DOCS / target.name)
        made.append(target.name)
    return made


def test_every_widget_reads_well_in_light_and_dark_and_keeps_its_css_inside(
    page: Any, lab: Any, backend: LocalServer
) -> None:
    dest = f"owl-{uuid.uuid4().hex[:6]}"
    with Client(base_url=backend.url) as client:
        client.models.create("local", dest, visibility="private", hardware="cpu")
    cells = [c.format(url=backend.url, dest=f"local/{dest}", text=TEXT) for c in CELLS]
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_and_run(page, lab, write_notebook(lab.root, "looks.ipynb", cells))
    wait_until_all_ran(page, timeout_ms=300_000)
    assert cell_errors(page) == []
    # Four bundled models and the destination made above.
    expect(page.locator(".rw-browser-tile")).to_have_count(5, timeout=60_000)
    expect(page.locator(".rw-panel[data-status=failed]")).not_to_have_count(0)
    page.set_viewport_size({"width": 1280, "height": 2400})

    # No rule of a view's stylesheet reaches outside the widgets.
    leaks = page.evaluate(LEAKS, list(VIEW_ROOTS))
    assert leaks["sheets"] >= 8, leaks
    assert leaks["rules"] > 200, leaks
    assert leaks["leaks"] == [], leaks["leaks"]
    probe = page.locator(".rw-outside-probe")
    expect(probe).to_have_count(1)
    assert probe.evaluate("e => getComputedStyle(e).fontStyle") == "normal"

    report: dict[str, Any] = {}
    try:
        for theme in ("JupyterLab Light", "JupyterLab Dark"):
            set_theme(page, theme)
            entries = page.evaluate(CONTRAST, ROOTS)
            kinds = {e["kind"] for e in entries}
            assert {"status chip", "badge", "button", "notice", "text"} <= kinds, kinds
            low = worst(entries)
            report[theme] = {"lowest": low, "texts": len(entries)}
            print(theme, "lowest contrast per kind:", low, "texts:", len(entries))
            failing = [e for e in entries if e["ratio"] < AA]
            report[theme]["failing"] = failing
            report[theme]["shots"] = shoot(page, "dark" if "Dark" in theme else "light")
    finally:
        (ARTIFACTS / "contrast.json").write_text(json.dumps(report, indent=1))
        set_theme(page, "JupyterLab Light")
    for theme, measured in report.items():
        assert measured["failing"] == [], (theme, measured["failing"])
    assert page.js_errors == []
