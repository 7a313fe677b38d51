"""The Playground in Jupyter Notebook 7, driven through the UI, on the local backend.

Notebook 7 runs as ``jupyter notebook``, in a server of its own (the ``notebook7``
fixture; labharness says why it cannot share JupyterLab's). Its notebook page
(``/notebooks/<path>``) is JupyterLab's notebook in another shell; the widgets reach
it through the same widget manager (jupyterlab_widgets) and anywidget's
labextension. Proved here, as in
JupyterLab (test_playground_e2e.py, test_details_e2e.py): the quickstart runs with
no cell error, Run in the page and ``pg.run(...)`` both show the answer, text
streams token by token, the fractal shows images before it ends, chiptune's output
is an audio player, Cancel stops a run. The page is photographed at 600 px wide
and at 200 % zoom, under ``test-artifacts/e2e/notebook7-*.png``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from labharness import ARTIFACTS, REPO
from nbdriver import (
    cell_errors,
    open_in_notebook7,
    run_all,
    wait_until_all_ran,
    write_notebook,
)
from playdriver import check_quickstart, playground
from playwright.sync_api import expect

# Notebook 7.6's own start-up race, on every page (a notebook of `1 + 1` too): the
# keyboard-shortcuts plugin reacts to another plugin's settings being loaded before
# its own are (`plugins[shortcuts.id].schema` of undefined, in notebook_core).
UPSTREAM_ERROR = "TypeError: Cannot read properties of undefined (reading 'schema')"
UPSTREAM_SOURCE = "/static/notebook/notebook_core."


def own_errors(stacks: list[str]) -> list[str]:
    """Uncaught errors, but Notebook 7's start-up race (told apart by its stack)."""

    def upstream(stack: str) -> bool:
        lines = stack.splitlines()
        return (
            lines[0] == UPSTREAM_ERROR
            and len(lines) > 1
            and UPSTREAM_SOURCE in lines[1]
        )

    return [s for s in stacks if not upstream(s)]


def assert_clean(page: Any) -> None:
    """No uncaught error (but the known upstream one) and no console error."""
    assert own_errors(page.js_error_stacks) == []
    assert page.console_errors == []
    assert page.external_requests == []


def assert_widget_manager_loaded(page: Any) -> None:
    """Both labextensions the widgets need are active in Notebook 7's front end."""
    active = page.evaluate(
        """() => ['@jupyter-widgets/jupyterlab-manager:plugin', 'anywidget:plugin']
              .map(id => [id, jupyterapp.isPluginActivated(id)])"""
    )
    assert all(on for _, on in active), active


def test_quickstart_in_notebook7(page: Any, notebook7: Any) -> None:
    shutil.copy(REPO / "notebooks" / "01-quickstart.ipynb", notebook7.root)
    open_in_notebook7(page, notebook7, "01-quickstart.ipynb")
    run_all(page)
    wait_until_all_ran(page)
    assert cell_errors(page) == []
    assert_widget_manager_loaded(page)
    fractal = check_quickstart(page, "Notebook 7")
    expect(fractal.locator("img.rw-image").first).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    fractal.locator(".rw-panel").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(ARTIFACTS / "notebook7-quickstart.png"))
    assert_clean(page)


def test_audio_and_cancel_in_notebook7(page: Any, notebook7: Any) -> None:
    nb = write_notebook(
        notebook7.root,
        "notebook7-audio-cancel.ipynb",
        [
            "import replicate_widgets as rw\n"
            "chip = rw.Playground('demo/chiptune', keep=False)\n"
            "chip.run(notes=['C4', 'E4', 'G4'])\n"
            "chip",
            "writer = rw.Playground('demo/text-stream', keep=False)\n"
            "writer.form.set(max_tokens=500, delay=0.1)\n"
            "writer",
        ],
    )
    open_in_notebook7(page, notebook7, nb)
    run_all(page)
    wait_until_all_ran(page)
    assert cell_errors(page) == []
    chip, writer = playground(page, 0), playground(page, 1)
    expect(chip.locator(".rw-panel")).to_have_attribute("data-status", "succeeded")
    expect(chip.locator("audio.rw-audio")).to_have_count(1, timeout=30_000)
    # The browser decodes it: the tune's length (3 notes at 200 bpm) is known.
    chip.locator("audio.rw-audio").evaluate(
        """a => new Promise(done => a.readyState >= 1 ? done()
                : a.addEventListener('loadedmetadata', done, {once: true}))"""
    )
    duration = chip.locator("audio.rw-audio").evaluate("a => a.duration")
    assert abs(duration - 0.9) < 0.05, duration
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chip.locator(".rw-panel").screenshot(path=str(ARTIFACTS / "notebook7-audio.png"))
    # Cancel: a long stream, stopped once some tokens have arrived.
    writer.locator(".rw-form-run").click()
    page.wait_for_function(
        """() => Number(document.querySelectorAll('.rw-playground')[1]
                 .querySelector('.rw-text')?.dataset.length || 0) > 10""",
        polling=50,
        timeout=60_000,
    )
    writer.locator(".rw-cancel").click()
    expect(writer.locator(".rw-panel")).to_have_attribute(
        "data-status", "canceled", timeout=30_000
    )
    expect(writer.locator(".rw-notice")).to_contain_text("Canceled")
    expect(writer.locator(".rw-form-run")).to_be_enabled()
    assert_clean(page)


def test_cell_errors_in_notebook7(page: Any, notebook7: Any) -> None:
    """nbdriver's cell_errors reads Notebook 7's outputs as it reads JupyterLab's."""
    cells = ["import sys; print('only a warning', file=sys.stderr)", "1 / 0"]
    nb = write_notebook(notebook7.root, "notebook7-errors.ipynb", cells)
    open_in_notebook7(page, notebook7, nb)
    run_all(page)
    wait_until_all_ran(page)
    assert cell_errors(page) == ["ZeroDivisionError: division by zero"]


@contextmanager
def sized_page(browser: Any, width: int, height: int, scale: float) -> Iterator[Any]:
    """A page of ``width`` CSS pixels drawn at ``scale`` device pixels per CSS pixel.

    A browser zoomed to 200 % is a window half as wide in CSS pixels, drawn at twice
    the device pixel ratio: that is what ``scale=2`` with half the width shows.
    """
    ctx = browser.new_context(
        viewport={"width": width, "height": height}, device_scale_factor=scale
    )
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    pg.js_error_stacks = []
    pg.console_errors = []
    pg.on("pageerror", lambda e: pg.js_error_stacks.append(e.stack or str(e)))
    pg.on(
        "console",
        lambda m: pg.console_errors.append(m.text) if m.type == "error" else None,
    )
    try:
        yield pg
    finally:
        ctx.close()


def test_playground_narrow_and_zoomed_in_notebook7(
    browser: Any, notebook7: Any
) -> None:
    """Screenshots for a person to look at: 600 px wide, and 200 % zoom."""
    nb = write_notebook(
        notebook7.root,
        "notebook7-sizes.ipynb",
        [
            "import replicate_widgets as rw\n"
            "fractal = rw.Playground('demo/fractal', keep=False)\n"
            "fractal.run(steps=4)\n"
            "fractal",
        ],
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # 600 px wide at 1x; a 1280 px window at 200 % (640 CSS px at 2x).
    for name, width, scale in (("600px", 600, 1), ("zoom200", 640, 2)):
        with sized_page(browser, width, 900, scale) as page:
            open_in_notebook7(page, notebook7, nb)
            run_all(page)
            wait_until_all_ran(page)
            assert cell_errors(page) == []
            pg = playground(page, 0)
            expect(pg.locator(".rw-panel")).to_have_attribute(
                "data-status", "succeeded"
            )
            expect(pg.locator("img.rw-image").first).to_be_visible()
            # Nothing of the widget sticks out sideways past its output area.
            overflow = pg.evaluate("e => e.scrollWidth - e.clientWidth")
            # Notebook 7 scrolls the notebook inside its panel, not the document: a
            # second picture, scrolled to the prediction's panel, shows the image.
            page.screenshot(path=str(ARTIFACTS / f"notebook7-{name}.png"))
            pg.locator(".rw-panel").evaluate("e => e.scrollIntoView({block: 'start'})")
            page.screenshot(path=str(ARTIFACTS / f"notebook7-{name}-panel.png"))
            assert own_errors(page.js_error_stacks) == []
            assert page.console_errors == []
            assert overflow <= 0, f"{name}: the Playground is {overflow}px too wide"
        notebook7.shutdown_sessions()
