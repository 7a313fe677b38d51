"""Hostile share() pages and log links in headless Chromium: nothing may run.

Every payload in ``tests/security/_hostile.py`` that could run sets
``window.__pwned``. The shared HTML is opened as a standalone page (what an nbconvert
export is) and displayed in a JupyterLab notebook (the Jupyter origin, where a
handler could reach the kernel); hostile OSC 8 links are printed by a real model
and shown in the panel's logs. The probe must stay unset.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labharness import ARTIFACTS
from nbdriver import (
    cell_errors,
    open_and_run,
    read_json,
    wait_until_all_ran,
    write_notebook,
)
from playwright.sync_api import expect

from replicate_widgets._widgets.share import share_html
from replicate_widgets.server import LocalServer, serve

# The hostile corpus is shared with tests/security/test_html.py.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))
from _hostile import (
    DATA_URI_MIMES,
    HOSTILE_MIMES,
    PAYLOADS,
    PROBE,
    data_uri_output,
    hostile_prediction,
    osc8,
    write_hostile_model,
)

# Fire every handler a payload could have added, then wait until each image and
# media element has loaded or failed (a failed load is what runs onerror).
PROVOKE = """(root) => {
  const types = ['mouseover', 'mouseenter', 'mousemove', 'focus', 'blur', 'toggle',
                 'load', 'error', 'animationstart', 'pointerover'];
  for (const el of document.querySelectorAll(root + ' *'))
    for (const type of types) el.dispatchEvent(new Event(type));
  for (const d of document.querySelectorAll(root + ' details')) d.open = !d.open;
}"""
SETTLED = """(root) => window.__pwned === 1 || (
  [...document.querySelectorAll(root + ' audio, ' + root + ' video')]
    .every(m => m.error || m.readyState > 0)
  && [...document.querySelectorAll(root + ' img')].every(i => i.complete))"""


def hostile_runs() -> list[dict[str, Any]]:
    """share() inputs: every payload in every field, files with hostile types."""
    junk = b"\x00\x01\x02 not media"
    files = {f"https://x.test/f{i}": (junk, m) for i, m in enumerate(HOSTILE_MIMES)}
    outputs = [*files, *(data_uri_output(m) for m in DATA_URI_MIMES)]
    return [
        {
            "prediction": hostile_prediction(
                payload, output={"files": outputs, payload: payload}
            ),
            "files": {
                u: [base64.b64encode(d).decode(), m] for u, (d, m) in files.items()
            },
            "title": payload,
        }
        for payload in PAYLOADS
    ]


def assert_probe_unset(page: Any, root: str, count: int) -> None:
    expect(page.locator(root)).to_have_count(count, timeout=180_000)
    page.evaluate(PROVOKE, root)
    page.wait_for_function(SETTLED, arg=root, timeout=60_000, polling=100)
    assert page.evaluate("window.__pwned") is None


def test_hostile_share_page_runs_nothing_standalone(page: Any) -> None:
    runs = hostile_runs()
    body = "\n".join(
        share_html(
            r["prediction"],
            {u: (base64.b64decode(d), m) for u, (d, m) in r["files"].items()},
            title=r["title"],
        )
        for r in runs
    )
    page.set_content(f"<!doctype html><meta charset='utf-8'><body>{body}</body>")
    assert_probe_unset(page, ".replicate-widgets-share", len(runs))
    # the payloads are on the page, as text
    assert PAYLOADS[0] in page.locator(".replicate-widgets-share").first.inner_text()
    assert page.js_errors == []


def test_hostile_share_page_runs_nothing_in_jupyterlab(page: Any, lab: Any) -> None:
    runs = hostile_runs()
    (lab.root / "hostile-share.json").write_text(json.dumps(runs))
    nb = write_notebook(
        lab.root,
        "security-share.ipynb",
        [
            "import base64, json, pathlib\n"
            "from IPython.display import display\n"
            "from replicate_widgets._widgets.share import SharedRun\n"
            "for run in json.loads(pathlib.Path('hostile-share.json').read_text()):\n"
            "    files = {u: (base64.b64decode(d), m)"
            " for u, (d, m) in run['files'].items()}\n"
            "    display(SharedRun(run['prediction'], files, title=run['title']))\n"
            "pathlib.Path('shared.json').write_text('1')"
        ],
        stale=["shared.json"],
    )
    open_and_run(page, lab, nb)
    read_json(lab.root / "shared.json")
    wait_until_all_ran(page)
    assert cell_errors(page) == []
    assert_probe_unset(page, ".jp-OutputArea .replicate-widgets-share", len(runs))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "security-share-lab.png"))


@pytest.fixture(scope="module")
def hostile_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    folder = write_hostile_model(tmp_path_factory.mktemp("models") / "hostile")
    data = tmp_path_factory.mktemp("backend")
    with serve(port=0, models=[folder], bundled=False, data_dir=data) as server:
        yield server


def test_osc8_links_in_panel_logs(
    page: Any, lab: Any, hostile_backend: LocalServer
) -> None:
    safe = f"{hostile_backend.url}/models"  # on 127.0.0.1: the popup may load it
    log = "\n".join(
        [
            f"read {osc8(safe, 'the docs')} first",
            f"{osc8('https://replicate.com/login', 'https://replicate.com/login')} ok",
            f"{osc8(f'javascript:{PROBE}', 'click me')} js",
            osc8(f'https://x.test/"><img/src=x/onerror={PROBE}>', "quote"),
            f"<img src=x onerror={PROBE}> plain",
        ]
    )
    nb = write_notebook(
        lab.root,
        "security-logs.ipynb",
        [
            "import json, pathlib\n"
            "from replicate_widgets import Playground\n"
            f"url = {hostile_backend.url!r}\n"
            "pg = Playground('test/hostile', backend=url, keep=False)\n"
            "pg",
            f"p = pg.run(url='', log={log!r})\n"
            "pathlib.Path('logs.json').write_text(json.dumps(p.status))",
        ],
        stale=["logs.json"],
    )
    open_and_run(page, lab, nb)
    assert read_json(lab.root / "logs.json") == "succeeded"
    wait_until_all_ran(page)
    logs = page.locator(".rw-logs")
    expect(logs).to_contain_text("plain")
    links = logs.locator("a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(hrefs) == 3, hrefs  # the javascript: one is text
    for i, href in enumerate(hrefs):
        a = links.nth(i)
        assert href is not None
        assert href.startswith(("http://", "https://"))
        assert a.get_attribute("rel") == "noopener noreferrer"
        assert a.get_attribute("target") == "_blank"
        assert a.inner_text() == href  # what is clicked is what is shown
    text = logs.inner_text()
    assert f"the docs ({safe})" in text
    assert logs.locator("img").count() == 0
    # A click opens a new tab that cannot reach back into the notebook.
    with page.expect_popup() as popup_info:
        links.nth(0).click()
    popup = popup_info.value
    popup.wait_for_load_state()
    assert popup.evaluate("window.opener") is None
    assert page.url.startswith(lab.url)  # the notebook stayed where it was
    assert page.evaluate("window.__pwned") is None
