"""The quickstart in JupyterLab, driven through the UI: Run, watch, Cancel.

Runs notebooks/01-quickstart.ipynb as a person would (embedded local backend, no
token), then presses Run in each Playground and checks that streamed tokens,
progress and intermediate images reach the page *before* the prediction ends.
"""

from __future__ import annotations

import re
import shutil

import pytest
from labharness import ARTIFACTS, REPO
from nbdriver import (
    cell_errors,
    open_notebook,
    run_all,
    wait_until_all_ran,
    write_notebook,
)
from pictures import publish
from playdriver import check_quickstart, playground
from playwright.sync_api import expect

# Two frames: what scrolling or resizing changed has been laid out.
NEXT_FRAMES = """() => new Promise(
  (done) => requestAnimationFrame(() => requestAnimationFrame(done)))"""


@pytest.fixture
def quickstart(page, lab):
    shutil.copy(REPO / "notebooks" / "01-quickstart.ipynb", lab.root)
    open_notebook(page, lab, "01-quickstart.ipynb")
    run_all(page)
    wait_until_all_ran(page)
    return page


def test_quickstart_runs_and_each_playground_works_from_the_ui(quickstart):
    page = quickstart
    assert cell_errors(page) == []
    fractal = check_quickstart(page, "Browser")
    expect(fractal.locator(".rw-progress-label")).to_have_text(re.compile(r"100%"))
    expect(fractal.locator(".rw-logs")).to_contain_text("%|")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # The picture for the README: at 1400 px, without the file browser, the fractal
    # Playground (form left, output right) at the top of the window.
    page.set_viewport_size({"width": 1400, "height": 900})
    page.evaluate("() => jupyterapp.shell.collapseLeft()")
    fractal.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.evaluate(NEXT_FRAMES)
    form, output = fractal.locator(".rw-form"), fractal.locator(".rw-panel")
    form_box, output_box = form.bounding_box(), output.bounding_box()
    assert form_box is not None
    assert output_box is not None
    assert form_box["x"] + form_box["width"] <= output_box["x"]  # side by side
    shot = ARTIFACTS / "quickstart.png"
    page.screenshot(path=str(shot))
    publish(shot, REPO / "docs" / "quickstart.png")
    assert page.js_errors == []
    assert page.external_requests == []


def test_cancel_from_the_playground_stops_the_prediction(page, lab):
    nb = write_notebook(
        lab.root,
        "cancel-playground.ipynb",
        [
            "import replicate_widgets as rw\n"
            "w = rw.Playground('demo/text-stream')\n"
            "w.form.set(max_tokens=500, delay=0.1)\n"
            "w",
        ],
    )
    open_notebook(page, lab, nb)
    run_all(page)
    wait_until_all_ran(page)
    pg = playground(page, 0)
    pg.locator(".rw-form-run").click()
    page.wait_for_function(
        "Number(document.querySelector('.rw-text')?.dataset.length || 0) > 10",
        polling=50,
        timeout=60_000,
    )
    pg.locator(".rw-cancel").click()
    expect(pg.locator(".rw-panel")).to_have_attribute(
        "data-status", "canceled", timeout=30_000
    )
    expect(pg.locator(".rw-notice")).to_contain_text("Canceled")
    # The form is usable again for the next run.
    expect(pg.locator(".rw-form-run")).to_be_enabled()
    page.screenshot(path=str(ARTIFACTS / "playground-canceled.png"), full_page=True)
    assert page.js_errors == []


def test_login_token_is_not_saved_with_the_notebook(page, lab):
    token = "r8_e2eSecretToken0123456789"
    nb = write_notebook(
        lab.root,
        "login.ipynb",
        [
            "import replicate_widgets as rw\nrw.login(verify=False)",
            # An async cell lets the kernel handle the widget's message meanwhile.
            "import asyncio, pathlib\n"
            "from replicate_widgets._client import auth as _auth\n"
            "while _auth.get_token() is None:\n"
            "    await asyncio.sleep(0.1)\n"
            "pathlib.Path('token-length.txt').write_text(str(len(_auth.get_token())))",
        ],
    )
    open_notebook(page, lab, nb)
    run_all(page)
    box = page.locator(".rw-login-input")
    box.fill(token)
    box.press("Enter")
    expect(page.locator(".rw-login-status")).to_contain_text("Token set")
    expect(box).to_have_value("")
    wait_until_all_ran(page)
    assert (lab.root / "token-length.txt").read_text() == str(len(token))
    page.evaluate("jupyterapp.commands.execute('docmanager:save')")
    saved = lab.root / nb
    page.wait_for_function(
        "() => !jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000
    )
    text = saved.read_text()
    assert "application/vnd.jupyter.widget-state+json" in text  # state was saved
    assert token not in text
    assert token[3:] not in text


def test_copied_code_runs_and_code_cell_inserts_it(page, lab):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    nb = write_notebook(
        lab.root,
        "copy-code.ipynb",
        [
            "import replicate_widgets as rw\n"
            "pg = rw.Playground('replicate/hello-world', keep=False)\n"
            "pg.form.set(text='from the \"Code\" button')\n"
            "pg",
            "pg.code_cell()",
        ],
    )
    open_notebook(page, lab, nb)
    run_all(page)
    # Not wait_until_all_ran: the cell pg.code_cell() adds has, rightly, not run.
    page.wait_for_function(
        """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
              .slice(0, 2).every(p => /\\[\\d+\\]:/.test(p.textContent))""",
        timeout=120_000,
        polling=200,
    )
    pg = playground(page, 0)
    pg.get_by_role("button", name="Code").click()
    code_box = pg.locator(".rw-code-text")
    expect(code_box).to_contain_text("client.run(")
    pg.locator(".rw-code-copy").click()
    expect(pg.locator(".rw-code-copy")).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == code_box.inner_text()
    # The copied Python, run outside the notebook, gives the model's answer.
    scope: dict[str, object] = {}
    exec(compile(copied, "<copied>", "exec"), scope)  # noqa: S102 - the feature under test
    assert scope["output"] == 'hello from the "Code" button'
    # pg.code_cell() put the same call into a new cell below.
    cells = page.locator(".jp-CodeCell .jp-InputArea-editor").all_inner_texts()
    assert any("client.run(" in text for text in cells[2:]), cells
    for tab in ("Python (replicate)", "JavaScript", "curl"):
        pg.get_by_role("tab", name=tab).click()
        expect(code_box).not_to_be_empty()
    expect(code_box).to_contain_text("curl")
    page.screenshot(path=str(ARTIFACTS / "playground-code.png"), full_page=True)
    assert page.js_errors == []
