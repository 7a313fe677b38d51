"""The Playground's layout in JupyterLab, measured in headless Chromium.

Inputs left and output right when the widget is wide, stacked when it is narrow (a
container query on the widget's own width); column widths that do not move while a
run streams; a title line that stays usable at 600 px and at 200 % zoom; prompt
boxes and text outputs of bounded height after a 200,000-character paste.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
from typing import Any

import pytest
from labharness import ARTIFACTS, REPO
from measure import BOXES, WORD_BREAKS
from nbdriver import (
    cell_errors,
    open_and_run,
    open_notebook,
    run_all,
    wait_until_all_ran,
    write_notebook,
)
from playwright.sync_api import expect

from replicate_widgets.server import LocalServer, serve

BUNDLED = REPO / "replicate_widgets" / "server" / "models"
TERMINAL = {"succeeded", "failed", "canceled", "aborted"}

CELLS = [
    "import replicate_widgets as rw\nclient = rw.Client(base_url={url!r})",
    "stream = rw.Playground('demo/text-stream', client=client, keep=False)\n"
    "stream.form.set(max_tokens=120, delay=0.03)\nstream",
    "hello = rw.Playground('replicate/hello-world', client=client, keep=False)\nhello",
]

PARTS = {
    "root": ":scope",
    "form": ".rw-playground-form",
    "panel": ".rw-playground-panel",
    "top": ".rw-playground-top",
    "title": ".rw-widget-header b",
    "badge": ".rw-badge",
    "code": ".rw-playground-code-button",
}

# Status, streamed length and the columns' boxes of one Playground, in one evaluate.
SAMPLE = """([index, boxes]) => {
  const pg = document.querySelectorAll('.rw-playground')[index];
  const panel = pg.querySelector('.rw-panel');
  const text = panel.querySelector('.rw-text');
  const box = (sel) => {
    const r = pg.querySelector(sel).getBoundingClientRect();
    return [r.left, r.width];
  };
  return {
    status: panel.dataset.status,
    length: Number(text?.dataset.length || 0),
    form: box('.rw-playground-form'),
    panel: box('.rw-playground-panel'),
    root: box(':scope > .rw-playground-layout'),
  };
}"""


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    models = [BUNDLED / "text-stream", BUNDLED / "hello-world"]
    data = tmp_path_factory.mktemp("layout-backend")
    with serve(port=0, models=models, bundled=False, data_dir=data) as server:
        yield server


def boxes(page: Any, index: int) -> dict[str, Any]:
    root = page.locator(".rw-playground").nth(index).element_handle()
    found: dict[str, Any] = page.evaluate(BOXES, [root, PARTS])
    return found


def run_and_sample(
    page: Any, index: int, timeout: float = 90.0
) -> list[dict[str, Any]]:
    """Press Run on Playground ``index``; sample the columns until the run ends.

    Sampled from Python (each evaluate runs at once): page timers can be throttled
    in a headless browser.
    """
    page.locator(".rw-playground").nth(index).locator(".rw-form-run").click()
    seen: list[dict[str, Any]] = []
    started = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sample = page.evaluate(SAMPLE, [index, PARTS])
        started = started or sample["status"] not in TERMINAL
        seen.append(sample)
        if started and sample["status"] in TERMINAL:
            return seen
        time.sleep(0.03)
    raise AssertionError(f"no end after {timeout}s: {seen[-3:]}")


def assert_header_usable(page: Any, index: int, where: str) -> dict[str, Any]:
    """Title, badge and Code button: inside the widget, apart, and clickable."""
    box = boxes(page, index)
    root = box["root"]
    for name in ("title", "badge", "code"):
        part = box[name]
        assert part is not None, (where, name, box)
        assert part["width"] > 4, (where, name, box)
        assert part["height"] > 4, (where, name, box)
        assert part["left"] >= root["left"] - 0.5, (where, name, box)
        assert part["right"] <= root["right"] + 0.5, (where, name, box)
    names = ("title", "badge", "code")
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            p, q = box[a], box[b]
            apart = (
                p["right"] <= q["left"] + 0.5
                or q["right"] <= p["left"] + 0.5
                or p["bottom"] <= q["top"] + 0.5
                or q["bottom"] <= p["top"] + 0.5
            )
            assert apart, (where, a, b, box)
    # The badge's text is not cut off, and the Code button is what a click hits.
    badge = page.locator(".rw-playground").nth(index).locator(".rw-badge")
    assert badge.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), where
    code = box["code"]
    hit = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.closest('button')?.className",
        [code["left"] + code["width"] / 2, code["top"] + code["height"] / 2],
    )
    assert hit is not None, where
    assert "rw-playground-code-button" in hit, (where, hit)
    return box


def test_columns_follow_the_widget_width_and_hold_while_streaming(
    page: Any, lab: Any, backend: LocalServer
) -> None:
    cells = [c.format(url=backend.url) for c in CELLS]
    open_and_run(page, lab, write_notebook(lab.root, "layout.ipynb", cells))
    wait_until_all_ran(page)
    assert cell_errors(page) == []
    expect(page.locator(".rw-playground .rw-form-run")).to_have_count(2, timeout=60_000)
    report: dict[str, Any] = {}

    # 1400 px: side by side, form left, output right, the same top.
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.wait_for_timeout(300)  # JupyterLab re-lays out the notebook on resize
    wide = boxes(page, 0)
    assert wide["form"]["right"] <= wide["panel"]["left"], wide
    assert abs(wide["form"]["top"] - wide["panel"]["top"]) < 1, wide
    assert abs(wide["form"]["width"] - wide["panel"]["width"]) < 1, wide
    report["1400"] = {"root": wide["root"]["width"], "form": wide["form"]["width"]}
    # Before its first run, a wide Playground's output column says what goes there.
    hello = page.locator(".rw-playground").nth(1)
    placeholder = hello.locator(".rw-playground-panel").evaluate(
        "e => getComputedStyle(e, '::before').content"
    )
    assert "output appears here" in placeholder, placeholder
    hello.screenshot(path=str(ARTIFACTS / "layout-before-first-run.png"))

    # Widths do not move before, during and after a streaming run.
    seen = run_and_sample(page, 0)
    assert seen[-1]["status"] == "succeeded", seen[-1]
    growing = {s["length"] for s in seen if s["status"] == "processing"}
    assert len(growing - {0}) >= 3, "the run did not stream while sampled"
    columns = {(tuple(s["form"]), tuple(s["panel"])) for s in seen}
    assert len(columns) == 1, sorted(columns)
    (form, panel) = next(iter(columns))
    report["streaming"] = {"samples": len(seen), "form": form, "panel": panel}
    after = boxes(page, 0)
    assert after["form"]["width"] == wide["form"]["width"], (after, wide)

    # 600 px: stacked, the output under the form, both the widget's full width.
    page.set_viewport_size({"width": 600, "height": 1000})
    page.wait_for_timeout(300)
    narrow = boxes(page, 0)
    assert narrow["panel"]["top"] >= narrow["form"]["bottom"] - 0.5, narrow
    assert abs(narrow["panel"]["left"] - narrow["form"]["left"]) < 1, narrow
    assert abs(narrow["panel"]["width"] - narrow["root"]["width"]) < 1, narrow
    report["600"] = {"root": narrow["root"]["width"], "form": narrow["form"]["width"]}
    assert_header_usable(page, 0, "600 px")
    # Stacked columns hold still while a run streams, too.
    seen = run_and_sample(page, 0)
    assert len({(tuple(s["form"]), tuple(s["panel"])) for s in seen}) == 1

    # 200 % zoom on a 1920x1080 projector: 960x540 CSS pixels at scale 2.
    cdp = page.context.new_cdp_session(page)
    cdp.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": 960, "height": 540, "deviceScaleFactor": 2, "mobile": False},
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.devicePixelRatio") == 2
    page.locator(".rw-playground").nth(0).scroll_into_view_if_needed()
    zoomed = assert_header_usable(page, 0, "200 % zoom")
    report["zoom"] = {"root": zoomed["root"]["width"]}
    button = page.locator(".rw-playground").nth(0).locator(".rw-playground-code-button")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".rw-playground").nth(0).locator(".rw-code")).to_be_visible()
    # Through the same DevTools session: Playwright's own screenshot would restore
    # its viewport first.
    shot = cdp.send("Page.captureScreenshot", {"format": "png"})
    (ARTIFACTS / "layout-zoom-200.png").write_bytes(base64.b64decode(shot["data"]))
    cdp.send("Emulation.clearDeviceMetricsOverride")
    (ARTIFACTS / "layout-widths.json").write_text(json.dumps(report, indent=1))
    print("layout widths:", json.dumps(report))
    assert page.js_errors == []


def test_a_pasted_book_and_a_long_output_stay_bounded(
    page: Any, lab: Any, backend: LocalServer
) -> None:
    cells = [c.format(url=backend.url) for c in CELLS]
    open_and_run(page, lab, write_notebook(lab.root, "long.ipynb", cells))
    wait_until_all_ran(page)
    page.set_viewport_size({"width": 1400, "height": 1000})
    hello = page.locator(".rw-playground").nth(1)
    box = hello.locator(".rw-form textarea").first
    expect(box).to_be_visible(timeout=60_000)
    book = ("All work and no play makes Jack a dull boy. " * 4700)[:200_000]
    box.fill(book)
    assert box.evaluate("e => e.value.length") == 200_000
    sizes = box.evaluate(
        "e => ({client: e.clientHeight, scroll: e.scrollHeight,"
        " widget: e.closest('.rw-playground').getBoundingClientRect().height})"
    )
    assert sizes["widget"] < 1000, sizes
    assert sizes["client"] < sizes["scroll"], sizes  # the rest is a scroll away
    box.evaluate("e => { e.scrollTop = e.scrollHeight; }")
    assert box.evaluate("e => e.scrollTop") > 0

    # The model's answer: the 200,000 characters back, in a box that scrolls.
    hello.locator(".rw-form-run").click()
    panel = hello.locator(".rw-panel")
    expect(panel).to_have_attribute("data-status", "succeeded", timeout=90_000)
    text = hello.locator(".rw-text")
    expect(text).to_have_attribute("data-length", str(len("hello ") + 200_000))
    out = text.evaluate(
        "e => ({client: e.clientHeight, scroll: e.scrollHeight,"
        " widget: e.closest('.rw-playground').getBoundingClientRect().height})"
    )
    assert out["widget"] < 1000, out
    assert out["client"] < out["scroll"], out
    print("bounded heights:", json.dumps({"input": sizes, "output": out}))
    assert page.js_errors == []


# Both Playgrounds of the teaching notebook: their widths, and the streamed length.
PAIR = """() => [...document.querySelectorAll('.rw-playground')].slice(0, 2)
.map((pg) => ({
  width: pg.getBoundingClientRect().width,
  left: pg.getBoundingClientRect().left,
  right: pg.getBoundingClientRect().right,
  status: pg.querySelector('.rw-panel').dataset.status,
}))"""


def test_side_by_side_playgrounds_keep_equal_widths_during_a_run(
    page: Any, lab: Any
) -> None:
    shutil.copy(REPO / "notebooks" / "03-teaching.ipynb", lab.root)
    open_notebook(page, lab, "03-teaching.ipynb")
    page.set_viewport_size({"width": 1400, "height": 1000})
    run_all(page)
    wait_until_all_ran(page)
    assert cell_errors(page) == []
    pair = page.locator(".rw-playground")
    expect(pair.nth(1).locator(".rw-form-run")).to_be_visible(timeout=60_000)
    before = page.evaluate(PAIR)
    assert abs(before[0]["width"] - before[1]["width"]) < 1, before
    # The notebook's 16 px gap between them (grid_gap: ipywidgets has no `gap`).
    assert before[1]["left"] - before[0]["right"] >= 15, before
    for i in (0, 1):
        pair.nth(i).locator(".rw-form-run").click()
    seen = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        sample = page.evaluate(PAIR)
        seen.append(sample)
        if len(seen) > 3 and all(s["status"] in TERMINAL for s in sample):
            break
        time.sleep(0.03)
    assert any(s["status"] == "processing" for sample in seen for s in sample)
    widths = {(round(a["width"], 1), round(b["width"], 1)) for a, b in seen}
    assert widths == {(round(before[0]["width"], 1), round(before[1]["width"], 1))}
    print("teaching widths:", widths, "samples:", len(seen))
    assert page.js_errors == []


def test_streamed_text_breaks_between_words_in_a_narrow_window(
    page: Any, lab: Any, backend: LocalServer
) -> None:
    """JupyterLab's output area breaks its own text anywhere; the widget's does not."""
    page.set_viewport_size({"width": 600, "height": 1000})
    cells = [
        CELLS[0].format(url=backend.url),
        "stream = rw.Playground('demo/text-stream', client=client, keep=False)\n"
        "stream.form.set(max_tokens=160, delay=0.01)\nstream",
    ]
    open_and_run(page, lab, write_notebook(lab.root, "words.ipynb", cells))
    wait_until_all_ran(page)
    assert cell_errors(page) == []
    seen = run_and_sample(page, 0)
    assert seen[-1]["status"] == "succeeded", seen[-1]
    text = page.locator(".rw-playground").nth(0).locator(".rw-text")
    # The box sits in JupyterLab's output area, whose rules are the ones to beat.
    assert text.evaluate("e => !!e.closest('.jp-OutputArea-output')")
    measured = text.evaluate(WORD_BREAKS)
    print("streamed text at 600 px:", json.dumps({**measured, "split": None}))
    assert measured["lines"] >= 5, measured  # long enough to wrap many times
    assert measured["words"] >= 100, measured
    for style in [measured["box"], *measured["blocks"]]:
        assert style["wordBreak"] == "normal", measured
        assert style["overflowWrap"] in ("anywhere", "break-word"), measured
        assert style["whiteSpace"] == "pre-wrap", measured
    assert measured["split"] == [], measured["split"]
    text.screenshot(path=str(ARTIFACTS / "stream-words-600.png"))

    # The measure can fail: breaking anywhere (as the output area's own text does)
    # splits words at line ends, and they are found.
    text.evaluate("e => { e.style.wordBreak = 'break-all'; }")
    broken = text.evaluate(WORD_BREAKS)
    text.evaluate("e => { e.style.wordBreak = ''; }")
    print("with break-all forced, words split:", len(broken["split"]))
    assert broken["box"]["wordBreak"] == "break-all"
    assert len(broken["split"]) >= 2, broken
    assert page.js_errors == []
