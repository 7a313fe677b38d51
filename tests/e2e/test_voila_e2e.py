"""notebooks/03-teaching.ipynb as a Voila app: widgets render and runs complete."""

from __future__ import annotations

import shutil

from labharness import ARTIFACTS, REPO
from playwright.sync_api import expect

# Each Playground's width and the boxes of its form and output columns.
COLUMNS = """() => [...document.querySelectorAll('.rw-playground')].map((pg) => {
  const box = (sel) => {
    const r = pg.querySelector(sel).getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom};
  };
  return {
    width: pg.getBoundingClientRect().width,
    form: box('.rw-playground-form'),
    panel: box('.rw-playground-panel'),
  };
})"""


def test_teaching_notebook_runs_in_voila(page, lab):
    shutil.copy(REPO / "notebooks" / "03-teaching.ipynb", lab.root)
    # Voila's server extension, inside the test's JupyterLab: it runs every cell in
    # a fresh kernel and shows only the outputs.
    page.goto(lab.page_url("voila/render/03-teaching.ipynb"), timeout=180_000)
    playgrounds = page.locator(".rw-playground")
    expect(playgrounds).to_have_count(3, timeout=180_000)
    expect(page.get_by_text("Alice was ->")).to_be_visible(timeout=180_000)
    expect(page.get_by_text("the Rabbit ->")).to_be_visible()
    left = playgrounds.nth(0)
    right = playgrounds.nth(1)
    for pg in (left, right):
        expect(pg.locator(".rw-panel")).to_have_attribute("data-status", "succeeded")
        expect(pg.locator(".rw-badge")).to_have_text("local backend")
    # Two prompts, side by side, two different continuations.
    texts = [pg.locator(".rw-text").inner_text() for pg in (left, right)]
    assert texts[0] != texts[1]
    # The layout follows each widget's own width (a container query), here too: the
    # side-by-side pair, about half the page each, stacks its output under its form
    # at equal widths; the full-width Playground puts its output right of its form.
    layout = page.evaluate(COLUMNS)
    pair, whole = layout[:2], layout[2]
    assert abs(pair[0]["width"] - pair[1]["width"]) < 1, layout
    for one in pair:
        assert one["panel"]["top"] >= one["form"]["bottom"] - 0.5, layout
    assert whole["form"]["right"] <= whole["panel"]["left"], layout
    assert abs(whole["form"]["top"] - whole["panel"]["top"]) < 1, layout
    # A person can still press Run in the app.
    big = playgrounds.nth(2)
    big.locator(".rw-form-run").click()
    expect(big.locator(".rw-panel")).to_have_attribute(
        "data-status", "succeeded", timeout=120_000
    )
    expect(big.locator("img.rw-image").first).to_be_visible()
    # Runs are kept, but a page of the app does not point at the server's folders.
    assert "Kept in" not in page.locator("body").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "voila-teaching.png"), full_page=True)
    assert page.js_errors == []
