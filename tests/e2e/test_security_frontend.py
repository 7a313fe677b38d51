"""A hostile model's every text in JupyterLab, in headless Chromium: nothing runs.

The model (``tests/security/models/hostile``) writes script payloads into its
description, input descriptions, enum labels, defaults, logs (HTML, ANSI colours and
OSC 8 hyperlinks), streamed text, object keys and values, file names, an SVG with
``onload`` and ``<script>``, an HTML file, and its error. Each payload sets
``window.__pwned`` when it runs. The Playground runs every mode; History, the model
browser and a shared run show the results. The probe must stay unset while the
texts are shown as text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from labharness import ARTIFACTS
from nbdriver import cell_errors, open_and_run, wait_until_all_ran, write_notebook
from playwright.sync_api import expect

from replicate_widgets.server import serve

HOSTILE = Path(__file__).parents[1] / "security" / "models" / "hostile"

SETUP = """\
from replicate_widgets._client.client import Client
from replicate_widgets._widgets.playground.playground import Playground
client = Client(base_url={url!r})"""

# A failed run raises ModelError; caught so that "run all" goes on to later cells.
RUN = """\
from replicate_widgets import ModelError
pg_{mode} = Playground("evil/hostile", client=client, keep=False)
display(pg_{mode})
try:
    pg_{mode}.run(mode={mode!r})
except ModelError as exc:
    print("failed as asked:", type(exc).__name__)"""

AFTER = """\
from replicate_widgets._widgets.history.history import History
from replicate_widgets._widgets.catalog.browser import ModelBrowser
display(History(client=client, keeper=None))
display(ModelBrowser(client=client))
pg_object.share()"""


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data = tmp_path_factory.mktemp("backend")
    with serve(port=0, models=[HOSTILE], bundled=False, data_dir=data) as server:
        yield server


def test_hostile_model_texts_never_run_script(page, lab, backend):
    modes = ["object", "text", "files", "fail"]
    cells = [SETUP.format(url=backend.url)]
    cells += [RUN.format(mode=m) for m in modes]
    cells.append(AFTER)
    nb = write_notebook(lab.root, "hostile.ipynb", cells)
    open_and_run(page, lab, nb)
    wait_until_all_ran(page)
    playgrounds = page.locator(".rw-playground")
    expect(playgrounds).to_have_count(len(modes))
    for i in range(len(modes)):
        status = playgrounds.nth(i).locator(".rw-panel")
        expect(status).to_have_attribute(
            "data-status", re.compile("succeeded|failed"), timeout=60_000
        )
    expect(page.locator(".rw-history")).to_have_count(1)
    expect(page.locator(".rw-model-browser")).to_have_count(1)
    expect(page.locator(".replicate-widgets-share")).to_have_count(1)
    expect(page.locator(".rw-model-browser")).to_contain_text(
        "onerror=", timeout=30_000
    )
    # Scroll through every output so that nothing is left unrendered or unloaded.
    for output in page.locator(".jp-OutputArea-output").all():
        output.scroll_into_view_if_needed()
    # Open every collapsed part so its content is rendered, too.
    page.evaluate(
        "document.querySelectorAll('.jp-OutputArea details')"
        ".forEach(d => { d.open = true; })"
    )
    page.wait_for_timeout(1500)  # let images, SVGs and iframes (if any) load
    page.screenshot(path=str(ARTIFACTS / "security-hostile.png"), full_page=True)
    assert page.evaluate("window.__pwned") is None
    # The payloads are shown as text, not dropped.
    logs = playgrounds.nth(0).locator(".rw-logs")
    expect(logs).to_contain_text("onerror=")
    expect(logs).to_contain_text("click me")  # an OSC 8 link keeps its text
    # No link from a model's logs may lead anywhere but the web.
    hrefs = page.locator(".rw-logs a").evaluate_all(
        "as => as.map(a => [a.getAttribute('href'), a.rel, a.target])"
    )
    for href, rel, target in hrefs:
        assert href.startswith(("https://", "http://")), href
        assert "noopener" in rel
        assert target == "_blank"
    expect(playgrounds.nth(3)).to_contain_text("window.__pwned='error'")
    # Links anywhere in the output area lead to the web or to data the code built.
    for href in page.locator(".jp-OutputArea-output a[href]").evaluate_all(
        "as => as.map(a => a.getAttribute('href'))"
    ):
        assert not href.lower().lstrip().startswith("javascript:"), href
    assert cell_errors(page) == []
    assert page.js_errors == []
