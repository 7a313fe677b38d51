"""History in JupyterLab, in headless Chromium, against the local backend.

Proved here: the table renders in the page with a thumbnail sent as binary bytes,
and pressing Tweak in a row re-loads that prediction's inputs into a Playground's
form in the browser, while the secret the person typed stays (the stored mask is
never loaded back). Then, with a page of four rows: Older and Newer page through
the runs, Open shows a run's inputs, output, logs and metrics right under its row,
the search, model and status boxes filter the table, and Tweak on another model's
run opens a Playground of that model below the table, leaving the attached form as
the person typed it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from labharness import ARTIFACTS, REPO
from nbdriver import open_and_run, read_json, write_notebook
from playwright.sync_api import expect

from replicate_widgets._client.client import Client
from replicate_widgets.server import serve

BUNDLED = REPO / "replicate_widgets" / "server" / "models"

SETUP = """\
import json, pathlib
from replicate_widgets._client.client import Client
from replicate_widgets._widgets.history.history import History
from replicate_widgets._widgets.history.entries import record
from replicate_widgets._widgets.playground.playground import Playground
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


PAGES_RUN = """\
import json, pathlib
from replicate_widgets._client.client import Client
from replicate_widgets._widgets.history.history import History
from replicate_widgets._widgets.playground.playground import Playground
client = Client(base_url={url!r})
def make(model, **inputs):
    return client.predictions.wait(client.predictions.create(model, inputs)).id
ids = {{"echo": make("demo/echo", text="echo in the browser", delay=0.2)}}
for n in range(1, 5):
    ids[f"s{{n}}"] = make("demo/text-stats", text=f"stats run {{n}}.", top=n)
ids["art"] = make("demo/fractal", width=256, height=256, seed=3, steps=2)
pg = Playground("demo/text-stats", client=client, keep=False)
pg.form.set(text="typed by hand", top=7)
def dump(_change=None):
    pathlib.Path("pg-form.json").write_text(json.dumps(pg.form.to_input()))
pg.form.observe(dump, names="values")
dump()
display(pg)
history = History(playground=pg, keeper=None, page_size=4)
history.wait(60)
pathlib.Path("page-ids.json").write_text(json.dumps(ids))
history"""


@pytest.fixture
def fresh_backend(tmp_path: Any) -> Any:
    """A backend with no runs yet, so the pages hold exactly this test's runs."""
    models = [BUNDLED / "text-stats", BUNDLED / "fractal", BUNDLED / "echo"]
    with serve(port=0, models=models, bundled=False, data_dir=tmp_path) as server:
        yield server


def test_pages_open_filter_and_tweak_across_models(page, lab, fresh_backend):
    nb = write_notebook(
        lab.root,
        "history-pages.ipynb",
        [PAGES_RUN.format(url=fresh_backend.url)],
        stale=("page-ids.json", "pg-form.json"),
    )
    open_and_run(page, lab, nb)
    ids = read_json(lab.root / "page-ids.json", bool, timeout=180)
    history = page.locator(".rw-history")
    rows = history.locator(".rw-history-row")
    summary = history.locator(".rw-history-summary")
    older = history.locator("button.rw-history-older")
    newer = history.locator("button.rw-history-newer")

    def row(key: str) -> Any:
        return history.locator(".rw-history-row", has_text=ids[key])

    def after(element: Any) -> Any:
        """The element drawn right after ``element`` (its next sibling)."""
        return element.locator("xpath=following-sibling::*[1]")

    # The newest page: four rows of six, newest first.
    expect(rows).to_have_count(4, timeout=30_000)
    for i, key in enumerate(["art", "s4", "s3", "s2"]):
        expect(rows.nth(i)).to_contain_text(ids[key])
    expect(summary).to_have_text("Runs 1 to 4 of 6.")
    expect(newer).to_be_disabled()
    older.click()
    expect(summary).to_have_text("Runs 5 to 6 of 6.")
    expect(rows).to_have_count(2)
    expect(row("s1")).to_be_visible()
    expect(row("echo")).to_be_visible()
    expect(older).to_be_disabled()

    # Open: the run's details right under its row, before the next row.
    row("s1").locator(".rw-history-open").click()
    detail = history.locator(".rw-history-detail")
    expect(detail).to_be_visible()
    expect(after(row("s1"))).to_have_class(re.compile(r"\brw-history-detail\b"))
    expect(after(detail)).to_contain_text(ids["echo"])  # then the next row
    expect(detail.locator(".rw-history-inputs")).to_contain_text("stats run 1.")
    expect(row("s1").locator(".rw-history-open")).to_have_text("Hide")
    # a second Open moves the pane under the other row; the echo run logs
    row("echo").locator(".rw-history-open").click()
    expect(detail.locator(".rw-history-inputs")).to_contain_text("echo in the browser")
    expect(after(row("echo"))).to_have_class(re.compile(r"\brw-history-detail\b"))
    panel = detail.locator(".rw-panel")
    expect(panel.locator(".rw-text")).to_have_text("echo in the browser")
    expect(panel.locator(".rw-logs")).to_contain_text("echo: waiting 0.20 s")
    expect(panel.locator(".rw-metrics")).to_contain_text("predict time")
    row_box = row("echo").bounding_box()
    detail_box = detail.bounding_box()
    assert row_box is not None
    assert detail_box is not None
    assert 0 <= detail_box["y"] - (row_box["y"] + row_box["height"]) < 20
    history.screenshot(path=str(ARTIFACTS / "history-open-under-row.png"))

    # Filter: words in the inputs, then a model, then a status.
    search = history.locator(".rw-history-search input")
    search.fill("run 3")
    search.press("Enter")
    expect(rows).to_have_count(1)
    expect(row("s3")).to_be_visible()
    expect(summary).to_have_text(
        "Runs 1 to 1 with inputs containing “run 3”, searching all 6 runs."
    )
    history.screenshot(path=str(ARTIFACTS / "history-filtered.png"))
    search.fill("")
    search.press("Enter")
    expect(rows).to_have_count(4)
    model = history.locator(".rw-history-model-filter input")
    model.fill("echo")
    model.press("Enter")
    expect(rows).to_have_count(1)
    expect(row("echo")).to_be_visible()
    history.locator(".rw-history-status-filter select").select_option("failed")
    expect(rows).to_have_count(0)
    expect(summary).to_contain_text("No run with model “echo”, status failed")
    history.locator(".rw-history-status-filter select").select_option("succeeded")
    expect(rows).to_have_count(1)

    # Tweak a run of another model: its own Playground opens below the table.
    row("echo").locator(".rw-history-tweak").click()
    opened = history.locator(".rw-history-playground")
    expect(opened).to_have_count(1)
    expect(opened).to_contain_text("demo/echo")
    field = '[data-field="text"] textarea, [data-field="text"] input'
    expect(opened.locator(field).first).to_have_value("echo in the browser")
    expect(history.locator(".rw-history-message")).to_contain_text(
        "a new Playground for demo/echo"
    )
    # The attached Playground's form is as the person typed it, in the page and
    # in the kernel.
    attached = page.locator(".rw-playground").first
    expect(attached.locator(field).first).to_have_value("typed by hand")
    form = read_json(lab.root / "pg-form.json")
    assert (form["text"], form["top"]) == ("typed by hand", 7)
    opened.scroll_into_view_if_needed()
    history.screenshot(path=str(ARTIFACTS / "history-tweak-other-model.png"))

    # No filters: the newest page again.
    model.fill("")
    model.press("Enter")
    status = history.locator(".rw-history-status-filter select")
    status.select_option(label="Any status")
    expect(summary).to_have_text("Runs 1 to 4 of 6.")
    expect(rows).to_have_count(4)
    expect(newer).to_be_disabled()
    assert page.js_errors == []
    assert page.external_requests == []


CANCEL_RUN = """\
import json, pathlib
from replicate_widgets._client.client import Client
from replicate_widgets._widgets.history.history import History
client = Client(base_url={url!r})
done = client.predictions.create("demo/echo", {{"text": "done"}})
done = client.predictions.wait(done)
live = client.predictions.create("demo/echo", {{"text": "slow", "delay": 60}})
history = History(client=client, keeper=None)
history.wait(60)
ids = {{"done": done.id, "live": live.id}}
pathlib.Path("cancel-ids.json").write_text(json.dumps(ids))
history"""


def test_one_cancel_per_running_run_and_no_empty_thumbnail_column(
    page, lab, fresh_backend
):
    nb = write_notebook(
        lab.root,
        "history-cancel.ipynb",
        [CANCEL_RUN.format(url=fresh_backend.url)],
        stale=("cancel-ids.json",),
    )
    open_and_run(page, lab, nb)
    ids = read_json(lab.root / "cancel-ids.json", bool, timeout=120)
    history = page.locator(".rw-history")
    done = history.locator(".rw-history-row", has_text=ids["done"])
    live = history.locator(".rw-history-row", has_text=ids["live"])
    expect(done).to_be_visible(timeout=30_000)
    expect(live).to_be_visible()

    # A finished run has no Cancel at all (not a disabled one); a running run one.
    cancel = page.get_by_role("button", name="Cancel", exact=True)
    expect(done.locator("button")).to_have_count(2)  # Open, Tweak
    expect(done.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(live.locator("button.rw-history-cancel")).to_have_count(1)
    expect(cancel).to_have_count(1)  # the whole page: one Cancel for one running run
    # Its Open and Tweak stand in the same columns as the running row's.
    for name in ("Open", "Tweak"):
        x_done = done.get_by_role("button", name=name).bounding_box()
        x_live = live.get_by_role("button", name=name).bounding_box()
        assert x_done is not None
        assert x_live is not None
        assert abs(x_done["x"] - x_live["x"]) < 1
    # Text-only runs: no thumbnail column, the run's cells start at the left.
    expect(
        history.locator(".rw-history-row .rw-history-thumb-cell").first
    ).to_be_hidden()
    row_box = live.bounding_box()
    info_box = live.locator(".rw-history-info").bounding_box()
    assert row_box is not None
    assert info_box is not None
    assert info_box["x"] - row_box["x"] < 4
    history.screenshot(path=str(ARTIFACTS / "history-running-cancel.png"))

    # Cancel: the run ends canceled (on the backend too), and loses its Cancel.
    live.locator("button.rw-history-cancel").click()
    expect(live.locator(".rw-history-status")).to_have_text("canceled", timeout=30_000)
    expect(cancel).to_have_count(0)
    with Client(base_url=fresh_backend.url) as client:
        assert client.predictions.get(ids["live"]).status == "canceled"
    assert page.js_errors == []
    assert page.external_requests == []
