"""Trainer in JupyterLab, in headless Chromium: train demo/text-stream to a new version.

The destination model is made with the Trainer's own "New model" form, the training
form is filled and submitted in the page, the live panel reaches ``succeeded`` with
the training's logs, and the new version opens in a Playground that runs it.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from labharness import ARTIFACTS, BUNDLED, SETUP
from nbdriver import open_and_run, write_notebook
from playwright.sync_api import expect

from replicate_widgets._client.client import Client
from replicate_widgets.server import LocalServer, serve

TEXT = (
    "the owl and the cat went to sea in a beautiful boat and the owl sang to the "
    "stars above and the cat said you elegant fowl "
) * 8


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    models = [BUNDLED / "text-stream"]
    data = tmp_path_factory.mktemp("trainer-backend")
    with serve(port=0, models=models, bundled=False, data_dir=data) as server:
        yield server


def test_train_to_a_new_version_and_run_it(
    page: Any, lab: Any, backend: LocalServer
) -> None:
    name = f"owl-{uuid.uuid4().hex[:6]}"
    cells = [
        SETUP.format(url=backend.url),
        "from replicate_widgets._widgets.catalog.trainer import Trainer\n"
        "trainer = Trainer('demo/text-stream', client=client)\ntrainer",
    ]
    open_and_run(page, lab, write_notebook(lab.root, "train.ipynb", cells))
    trainer = page.locator(".rw-trainer")
    expect(trainer.locator(".rw-form")).to_have_count(1, timeout=60_000)

    # Create the destination from inside the Trainer.
    trainer.locator("button.rw-trainer-new-model").click()
    create = trainer.locator(".rw-create-model")
    expect(create.locator(".rw-create-hardware select")).to_have_value(
        "cpu", timeout=30_000
    )
    create.locator(".rw-create-name input").fill(name)
    create.locator("button.rw-create-button").click()
    expect(trainer.locator(".rw-trainer-destination input")).to_have_value(
        f"local/{name}", timeout=30_000
    )

    trainer.locator('[data-field="training_text"] .rw-form-input').fill(TEXT)
    trainer.locator(".rw-form-run").click()
    panel = trainer.locator(".rw-panel")
    expect(panel).to_have_attribute("data-status", "succeeded", timeout=120_000)
    expect(panel).to_contain_text("learned")
    result = trainer.locator(".rw-trainer-result")
    expect(result).to_contain_text(f"New version local/{name}:")
    page.screenshot(path=str(ARTIFACTS / "trainer-succeeded.png"), full_page=True)

    trainer.locator("button.rw-trainer-open").click()
    playground = trainer.locator(".rw-trainer-playground .rw-playground")
    expect(playground).to_have_count(1, timeout=60_000)
    playground.locator('[data-field="prompt"] .rw-form-input').fill("the owl")
    playground.locator(".rw-form-run").click()
    run_panel = playground.locator(".rw-panel")
    expect(run_panel).to_have_attribute("data-status", "succeeded", timeout=120_000)
    page.screenshot(path=str(ARTIFACTS / "trainer-playground.png"), full_page=True)

    with Client(base_url=backend.url) as client:
        latest = client.models.get(f"local/{name}").latest_version
        run = client.predictions.list().results[0]
    assert latest is not None
    assert run.version == latest["id"]
    assert set("".join(run.output).split()) <= set(TEXT.split())
    assert page.js_errors == []
    assert page.external_requests == []
