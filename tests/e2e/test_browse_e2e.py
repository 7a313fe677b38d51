"""ModelBrowser and CreateModel in JupyterLab, in headless Chromium (local backend).

Proved here in the browser: the model grid renders with cover images that arrived as
bytes (``blob:`` URLs, never the backend's URL); searching, opening a model card and
pressing "Open in Playground" gives a working Playground whose Run produces output and
counts on the model's tile and card at once; the create-a-model form flags a bad name
before sending and shows the created model.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from labharness import ARTIFACTS, BUNDLED, SETUP
from nbdriver import open_and_run, write_notebook
from playwright.sync_api import expect

from replicate_widgets._client.client import Client
from replicate_widgets._widgets.catalog.model_html import runs_text
from replicate_widgets.server import LocalServer, serve


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    models = [BUNDLED / "hello-world", BUNDLED / "fractal", BUNDLED / "text-stream"]
    data = tmp_path_factory.mktemp("browse-backend")
    with serve(port=0, models=models, bundled=False, data_dir=data) as server:
        yield server


def test_browse_to_a_model_and_run_it_in_its_playground(
    page: Any, lab: Any, backend: LocalServer
) -> None:
    cells = [
        SETUP.format(url=backend.url),
        "from replicate_widgets._widgets.catalog.browser import ModelBrowser\n"
        "browser = ModelBrowser(client=client)\nbrowser",
    ]
    open_and_run(page, lab, write_notebook(lab.root, "browse.ipynb", cells))
    tiles = page.locator(".rw-browser-tile")
    expect(tiles).to_have_count(3, timeout=60_000)
    expect(page.locator(".rw-browser-status")).to_contain_text(
        "Models on the local backend: 3 models."
    )
    # The fractal's cover arrived as bytes from the kernel, not as a backend URL.
    cover = tiles.filter(has_text="demo/fractal").locator("img.rw-cover")
    expect(cover).to_have_count(1, timeout=30_000)
    page.wait_for_function(
        "[...document.querySelectorAll('.rw-browser-tile img.rw-cover')]"
        ".every(i => i.complete && i.naturalWidth > 0)",
        polling=100,
    )
    assert cover.get_attribute("src").startswith("blob:")
    expect(page.locator(".rw-browser-collection select")).to_contain_text(
        "Local models"
    )
    page.screenshot(path=str(ARTIFACTS / "browse-grid.png"), full_page=True)

    query = page.locator(".rw-browser-query input")
    query.fill("hello")
    query.press("Enter")
    expect(tiles).to_have_count(1, timeout=30_000)
    tiles.first.locator("button.rw-tile-open").click()
    card = page.locator(".rw-browser-card")
    expect(card.locator(".rw-card-title")).to_have_text(
        "replicate/hello-world", timeout=30_000
    )
    expect(card).to_contain_text("Default example")
    expect(card.locator(".rw-browser-version select")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "browse-card.png"), full_page=True)
    tile_runs = tiles.first.locator(".rw-tile-runs")
    before = int(tile_runs.inner_text().split()[0].replace(",", ""))

    card.locator("button.rw-browser-open").click()
    playground = page.locator(".rw-browser-playground .rw-playground")
    expect(playground).to_have_count(1, timeout=60_000)
    field = playground.locator('[data-field="text"] .rw-form-input')
    field.fill("Browser")
    playground.locator(".rw-form-run").click()
    panel = playground.locator(".rw-panel")
    expect(panel).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(panel).to_contain_text("hello Browser")
    # The run counts on the tile and the card at once, with no list reloaded.
    counted = runs_text(before + 1)
    expect(tile_runs).to_have_text(counted, timeout=30_000)
    expect(card.locator(".rw-card-runs")).to_have_text(
        re.compile(rf"^{counted}\b"), timeout=30_000
    )
    page.screenshot(path=str(ARTIFACTS / "browse-playground.png"), full_page=True)
    assert page.js_errors == []
    assert page.external_requests == []


def test_create_a_model_with_name_checks(
    page: Any, lab: Any, backend: LocalServer
) -> None:
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    cells = [
        SETUP.format(url=backend.url),
        "from replicate_widgets._widgets.catalog.create_model import CreateModel\n"
        "form = CreateModel(client=client)\nform",
    ]
    open_and_run(page, lab, write_notebook(lab.root, "create.ipynb", cells))
    form = page.locator(".rw-create-model")
    expect(form.locator(".rw-create-owner input")).to_have_value(
        "local", timeout=60_000
    )
    expect(form.locator(".rw-create-hardware select")).to_have_value("cpu")

    name_box = form.locator(".rw-create-name input")
    name_box.fill("My Model")
    name_box.press("Tab")
    note = form.locator(".rw-field-error").nth(1)
    expect(note).to_contain_text("must be lowercase. Try 'my-model'")
    paper = form.locator(".rw-create-paper-url input")
    paper.fill("arxiv.org/abs/1234")
    paper.press("Tab")
    expect(form).to_contain_text("Paper URL must start with https://")
    page.screenshot(path=str(ARTIFACTS / "create-model-errors.png"), full_page=True)
    form.locator("button.rw-create-button").click()
    expect(form.locator(".rw-create-message")).to_contain_text("Fix the fields")

    name_box.fill(name)
    name_box.press("Tab")
    paper.fill("https://arxiv.org/abs/1234")
    paper.press("Tab")
    form.locator(".rw-create-description textarea").fill("Made in a browser test")
    form.locator(".rw-create-visibility button", has_text="public").click()
    form.locator("button.rw-create-button").click()
    result = form.locator(".rw-create-result")
    expect(result).to_contain_text(f"local/{name}", timeout=30_000)
    expect(form.locator(".rw-create-message")).to_contain_text(
        re.compile(f"Created local/{name}")
    )
    page.screenshot(path=str(ARTIFACTS / "create-model-done.png"), full_page=True)
    with Client(base_url=backend.url) as client:
        made = client.models.get(f"local/{name}")
    assert made.visibility == "public"
    assert made.paper_url == "https://arxiv.org/abs/1234"
    assert made.description == "Made in a browser test"
    assert page.js_errors == []
