"""History in JupyterLab, in headless Chromium, against the local backend.

Proved here: the table renders in the page with a thumbnail sent as binary bytes,
and pressing Tweak in a row re-loads that prediction's inputs into a Playground's
form in the browser, while the secret the person typed stays (the stored mask is
never loaded back).
"""

from __future__ import annotations

from typing import Any

import pytest
from labharness import ARTIFACTS, REPO
from nbdriver import open_and_run, read_json, write_notebook
from playwright.sync_api import expect

from replicate_widgets.server import serve

BUNDLED = REPO / "replicate_widgets" / "server" / "models"

SETUP = """\
import json, pathlib
from replicate_widgets._client import Client
from replicate_widgets._history import History, record
from replicate_widgets._playground import Playground
client = Client(base_url={url!r})
pg = Playground("demo/text-stats", client=client)
def dump(_change=None):
    sent = pg.form.to_input() if pg.form.valid else {{}}
    pathlib.Path("form.json").write_text(json.dumps({{
        "input": sent, "values": json.dumps(pg.form.values)}}))
pg.form.observe(dump, names="values")
pg"""

RUN = """\
art = client.predictions.wait(client.predictions.create(
    "demo/fractal", {"width": 256, "height": 256, "seed": 5, "steps": 2}))
p = client.predictions.wait(client.predictions.create("demo/text-stats",
    {"text": "Tweak me. From the browser.", "top": 3, "signing_key": "s3cret"}))
record(art, client)
record(p, client)
pg.form.set(text="something else", top=9, signing_key="mine")
history = History(playground=pg, keeper=None)
history.wait(60)
pathlib.Path("ids.json").write_text(json.dumps({"p": p.id, "art": art.id}))
history"""


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    models = [BUNDLED / "text-stats", BUNDLED / "fractal"]
    data = tmp_path_factory.mktemp("backend")
    with serve(port=0, models=models, bundled=False, data_dir=data) as server:
        yield server


def test_tweak_reloads_inputs_into_the_playground_form(page, lab, backend):
    for stale in ("ids.json", "form.json"):
        (lab.root / stale).unlink(missing_ok=True)
    nb = write_notebook(
        lab.root, "history-tweak.ipynb", [SETUP.format(url=backend.url), RUN]
    )
    open_and_run(page, lab, nb)
    ids = read_json(lab.root / "ids.json", bool, timeout=120)

    table = page.locator(".rw-history-table")
    row = table.locator(".rw-history-row", has_text=ids["p"])
    expect(row).to_be_visible(timeout=30_000)
    expect(row.locator(".rw-history-model")).to_have_text("demo/text-stats")
    expect(row.locator(".rw-history-status")).to_have_text("succeeded")
    # the fractal's row carries a thumbnail, drawn from bytes sent as a buffer
    thumb = table.locator(".rw-history-row", has_text=ids["art"]).locator("img")
    expect(thumb).to_be_visible()
    assert thumb.evaluate("i => i.complete && i.naturalWidth") == 64
    assert thumb.evaluate("i => i.src").startswith("blob:")

    form = page.locator(".rw-playground")
    text = form.locator('[data-field="text"] textarea, [data-field="text"] input')
    expect(text.first).to_have_value("something else")
    row.locator(".rw-history-tweak").click()

    # the browser's form shows the prediction's inputs...
    expect(text.first).to_have_value("Tweak me. From the browser.")
    expect(form.locator('[data-field="top"] .rw-form-numbox')).to_have_value("3")
    # ...and so does the kernel; the typed secret stayed, the mask never came back
    state = read_json(
        lab.root / "form.json", lambda s: s["input"].get("top") == 3, timeout=30
    )
    assert state["input"]["text"] == "Tweak me. From the browser."
    assert state["input"]["signing_key"] == "mine"
    assert "**********" not in state["values"]
    expect(page.locator(".rw-history-message")).to_contain_text("Loaded the inputs")

    page.locator(".rw-history").screenshot(path=str(ARTIFACTS / "history-table.png"))
    form.screenshot(path=str(ARTIFACTS / "history-tweaked-form.png"))
    assert page.js_errors == []
    assert page.external_requests == []
