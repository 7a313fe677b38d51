"""Details of issue #13 in JupyterLab, in headless Chromium, on the local backend.

Proved here: a download keeps the model's file name and extension (image-filter's
``filtered.png``; chiptune's audio as ``tune.wav``), the finished prediction's JSON
opens in the panel, and Copy output puts the output on the clipboard. The secondary
widgets (Trainer, CreateModel, Compare, Sweep) are photographed in the light and the
dark theme, under ``test-artifacts/e2e/details-*.png``.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from labharness import ARTIFACTS, REPO
from nbdriver import cell_errors, open_and_run, wait_until_all_ran, write_notebook
from playwright.sync_api import expect

from replicate_widgets._client.client import Client
from replicate_widgets.server import LocalServer, serve

BUNDLED = REPO / "replicate_widgets" / "server" / "models"

SETUP = """\
import pathlib
from PIL import Image
import replicate_widgets as rw
client = rw.Client(base_url={url!r})"""

RUNS = """\
Image.new("RGB", (64, 48), "teal").save("photo.png")
flt = rw.Playground("demo/image-filter", client=client, keep=False)
flt.run(image=pathlib.Path("photo.png"), filter="invert")
flt"""

TUNE = """\
chip = rw.Playground("demo/chiptune", client=client, keep=False)
chip.run(notes=["C4", "E4", "G4"])
chip"""

TEXT = (
    "the owl and the cat went to sea in a beautiful boat and the owl sang to the "
    "stars above and the cat said you elegant fowl "
) * 8


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    models = [
        BUNDLED / name
        for name in (
            "image-filter",
            "chiptune",
            "hello-world",
            "echo",
            "fractal",
            "text-stream",
        )
    ]
    data = tmp_path_factory.mktemp("details-backend")
    with serve(port=0, models=models, bundled=False, data_dir=data) as server:
        yield server


def test_downloads_keep_the_models_file_names(
    page: Any, lab: Any, backend: LocalServer
) -> None:
    cells = [SETUP.format(url=backend.url), RUNS, TUNE]
    open_and_run(page, lab, write_notebook(lab.root, "names.ipynb", cells))
    wait_until_all_ran(page)
    assert cell_errors(page) == []
    image_panel = page.locator(".rw-playground").nth(0).locator(".rw-panel")
    expect(image_panel).to_have_attribute("data-status", "succeeded")
    button = image_panel.locator(".rw-gallery .rw-download")
    expect(button).to_have_text("⤓ filtered.png", timeout=30_000)
    with page.expect_download() as got:
        button.click()
    download = got.value
    assert download.suggested_filename == "filtered.png"
    assert download.path().read_bytes().startswith(b"\x89PNG")

    audio_panel = page.locator(".rw-playground").nth(1).locator(".rw-panel")
    expect(audio_panel.locator("audio.rw-audio")).to_have_count(1, timeout=30_000)
    # The player's own menu would save the blob under a random name: only our
    # button downloads, under the model's name.
    assert "nodownload" in (
        audio_panel.locator("audio.rw-audio").get_attribute("controlslist") or ""
    )
    with page.expect_download() as got:
        audio_panel.locator(".rw-gallery .rw-download").click()
    assert got.value.suggested_filename == "tune.wav"
    assert got.value.path().read_bytes().startswith(b"RIFF")
    image_panel.screenshot(path=str(ARTIFACTS / "details-download.png"))
    assert page.js_errors == []
    assert page.external_requests == []


def test_the_json_view_and_copy_output(
    page: Any, lab: Any, backend: LocalServer
) -> None:
    page.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=lab.page_url("")[:-1]
    )
    cells = [SETUP.format(url=backend.url), RUNS]
    open_and_run(page, lab, write_notebook(lab.root, "json.ipynb", cells))
    wait_until_all_ran(page)
    panel = page.locator(".rw-playground .rw-panel")
    expect(panel).to_have_attribute("data-status", "succeeded")
    fold = panel.locator("details.rw-raw")
    expect(fold).to_be_visible()
    assert fold.get_attribute("open") is None
    fold.locator("summary").click()
    # Drawn on the fold's "toggle" event, which the browser fires a task later.
    expect(fold.locator(".rw-raw-json")).to_have_text(re.compile(r"^\{"))
    shown = json.loads(fold.locator(".rw-raw-json").inner_text())
    assert shown["status"] == "succeeded"
    assert shown["output"].endswith("/filtered.png")
    assert shown["input"]["filter"] == "invert"
    assert shown["id"] in panel.locator(".rw-title").inner_text()

    copy = panel.locator(".rw-copy-output")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == shown["output"]
    panel.screenshot(path=str(ARTIFACTS / "details-json.png"))
    assert page.js_errors == []


FAILS = """\
pg = rw.Playground("demo/echo", client=client, keep=False)
try:
    pg.run(text="x", fail=True)
except rw.ModelError:
    pass
pg"""


def test_a_failed_run_shows_its_last_log_lines_once(
    page: Any, lab: Any, backend: LocalServer
) -> None:
    cells = [SETUP.format(url=backend.url), FAILS]
    open_and_run(page, lab, write_notebook(lab.root, "fails.ipynb", cells))
    wait_until_all_ran(page)
    playground = page.locator(".rw-playground")
    panel = playground.locator(".rw-panel")
    expect(panel).to_have_attribute("data-status", "failed")
    expect(panel.locator(".rw-error-message")).to_contain_text("failed on purpose")
    expect(panel.locator(".rw-logs")).to_contain_text("echo: failing on purpose")
    shown = playground.inner_text()
    assert shown.count("echo: failing on purpose") == 1, shown
    # The cell's own output adds nothing: no traceback, no second copy of the logs.
    assert cell_errors(page) == []
    assert (
        page.locator(".jp-OutputArea-output")
        .inner_text()
        .count("echo: failing on purpose")
        == 1
    )
    panel.screenshot(path=str(ARTIFACTS / "details-failed.png"))


# ------------------------------------------------------------- the secondary widgets
WIDGETS = """\
from replicate_widgets import Compare, CreateModel, Sweep, Trainer
trainer = Trainer("demo/text-stream", client=client, destination={dest!r})
trainer.ready.result(60)
trainer.train(training_text={text!r})
create = CreateModel(client=client, name="My Model", paper_url="arxiv.org/abs/1")
cmp = Compare(["replicate/hello-world", "demo/echo"], input={{"text": "hi"}},
              client=client)
cmp.run(60)
sweep = Sweep("demo/echo", grid={{"text": ["a", "b"], "delay": [0, 0.1]}},
              client=client)
sweep.run(60)
"""

SHOWN = ("trainer", "create", "cmp", "sweep")


def _shoot(page: Any, theme: str) -> None:
    # The Trainer holds a hidden "New model" form: the shown one is the cell's own.
    create = ".rw-create-model:visible"
    selectors = (".rw-trainer", create, ".rw-compare", ".rw-compare")
    for name, selector in zip(SHOWN, selectors, strict=True):
        index = 1 if name == "sweep" else 0
        widget = page.locator(selector).nth(index)
        widget.scroll_into_view_if_needed()
        widget.screenshot(path=str(ARTIFACTS / f"details-{name}-{theme}.png"))


def test_the_secondary_widgets_in_light_and_dark(
    page: Any, lab: Any, backend: LocalServer
) -> None:
    name = f"owl-{uuid.uuid4().hex[:6]}"
    with Client(base_url=backend.url) as client:
        client.models.create("local", name, visibility="private", hardware="cpu")
    cells = [
        SETUP.format(url=backend.url),
        WIDGETS.format(dest=f"local/{name}", text=TEXT),
        *SHOWN,
    ]
    open_and_run(page, lab, write_notebook(lab.root, "widgets.ipynb", cells))
    wait_until_all_ran(page, timeout_ms=300_000)
    assert cell_errors(page) == []
    page.set_viewport_size({"width": 1280, "height": 2400})
    _shoot(page, "light")
    page.evaluate(
        "jupyterapp.commands.execute('apputils:change-theme',"
        " {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function(
        "document.body.dataset.jpThemeLight === 'false'", timeout=30_000
    )
    page.wait_for_timeout(500)  # the theme's stylesheet applies
    _shoot(page, "dark")
    page.evaluate(
        "jupyterapp.commands.execute('apputils:change-theme',"
        " {theme: 'JupyterLab Light'})"
    )
    assert page.js_errors == []
