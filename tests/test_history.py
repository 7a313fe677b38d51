"""History: this notebook's predictions, the backend's list, tweak, cancel, open.

Server interactions run against the real local backend on 127.0.0.1. Paging and
Replicate's data removal, which the local backend cannot produce on demand, replay
real api.replicate.com responses through ``httpx.MockTransport``.
"""

from __future__ import annotations

import copy
import datetime as dt
import html
import io
import json
import time
from pathlib import Path

import httpx
import ipywidgets
import pytest
from PIL import Image

from replicate_widgets._client import Client
from replicate_widgets._history import (
    History,
    clean_inputs,
    first_image_url,
    parse_bound,
    record,
    recorded,
)
from replicate_widgets._panel import PredictionPanel
from replicate_widgets._playground import Playground
from replicate_widgets._schema_types import SECRET_MASK

RESPONSES = Path(__file__).parent / "fixtures" / "responses"


def fixture(name: str) -> dict:
    return json.loads((RESPONSES / name).read_text())


@pytest.fixture(scope="module")
def client(local_client: Client) -> Client:
    """The session's local backend (all bundled models), as this module names it."""
    return local_client


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def rows(history: History) -> list[ipywidgets.HBox]:
    return [r for r in history._table.children if "rw-history-row" in r._dom_classes]


def row_of(history: History, prediction_id: str) -> ipywidgets.HBox:
    for row in rows(history):
        if prediction_id in row.children[1].value:
            return row
    raise AssertionError(f"no row for {prediction_id}")


def thumbnail(row: ipywidgets.HBox) -> ipywidgets.Image | None:
    images = [c for c in row.children[0].children if isinstance(c, ipywidgets.Image)]
    return images[0] if images else None


def button(row: ipywidgets.HBox, css: str) -> ipywidgets.Button:
    return next(c for c in row.children if css in c._dom_classes)


# -- pure helpers -----------------------------------------------------------------


def test_masked_secrets_are_never_loaded_back():
    stored = {"text": "hi", "key": SECRET_MASK, "keys": ["a", SECRET_MASK], "n": 3}
    assert clean_inputs(stored) == {"text": "hi", "n": 3}


def test_date_filters_accept_dates_datetimes_and_iso_text():
    utc = dt.timezone.utc
    assert parse_bound(dt.date(2026, 1, 2), "x") == dt.datetime(2026, 1, 2, tzinfo=utc)
    assert parse_bound("2026-01-02T03:04:05.1234567Z", "x") == dt.datetime(
        2026, 1, 2, 3, 4, 5, 123456, tzinfo=utc
    )
    assert parse_bound("", "x") is None
    with pytest.raises(ValueError, match=r"created_after='yesterday' is not a date"):
        parse_bound("yesterday", "created_after")
    with pytest.raises(ValueError, match="2026-11-22"):
        History(include_api=False, keeper=None, created_before="soon")


def test_first_image_url_prefers_an_iterators_last_image():
    out = ["https://x/a/out-0.png", "https://x/a/out-1.png?sig=1"]
    assert first_image_url(out) == "https://x/a/out-1.png?sig=1"
    assert first_image_url({"caption": "a cat", "image": "data:image/png;base64,AA"})
    assert first_image_url("hello world") is None
    assert first_image_url(["https://x/a/out.wav"]) is None


def test_record_rejects_what_is_not_a_prediction():
    with pytest.raises(TypeError, match=r"predictions\.create"):
        record({"id": "abc"})  # type: ignore[arg-type]


# -- this notebook's predictions --------------------------------------------------


def test_recorded_predictions_appear_live(client):
    history = History(client=client, include_api=False, keeper=None)
    history.wait(30)
    p = client.predictions.create("replicate/hello-world", {"text": "live"})
    record(p, client)
    assert recorded()[0].id == p.id
    wait_for(lambda: p.id in history._entries, what="the recorded prediction's row")
    entry = history.entry(p.id)
    assert entry.origins == {"notebook"}
    assert entry.model == "replicate/hello-world"
    final = client.predictions.wait(p)
    record(final, client)
    wait_for(lambda: history.entry(p.id).status == "succeeded", what="the update")
    wait_for(lambda: "rw-status-succeeded" in row_of(history, p.id)._dom_classes)
    with pytest.raises(KeyError, match="refresh"):
        history.entry("nope")
    history.close()


# -- the backend's list -----------------------------------------------------------


def test_the_backends_list_with_date_filters(client):
    first = client.predictions.wait(
        client.predictions.create("replicate/hello-world", {"text": "one"})
    )
    time.sleep(0.05)
    second = client.predictions.wait(
        client.predictions.create("replicate/hello-world", {"text": "two"})
    )
    history = History(client=client, keeper=None)
    history.wait(30)
    ids = [e.id for e in history.entries]
    assert ids.index(second.id) < ids.index(first.id)  # newest first
    assert "api" in history.entry(first.id).origins
    history.set_dates(created_after=first.created_at)  # exclusive, as the API
    history.wait(30)
    ids = [e.id for e in history.entries]
    assert second.id in ids
    assert first.id not in ids
    history.set_dates(created_before=second.created_at)
    history.wait(30)
    ids = [e.id for e in history.entries]
    assert first.id in ids
    assert second.id not in ids
    # a date typed wrong in the widget is explained there, nothing is reloaded
    history._after.value = "last tuesday"
    history._apply_filters()
    wait_for(lambda: "is not a date" in history._message.value)
    history.close()


def test_thumbnails_are_small_images_sent_as_bytes(client):
    p = client.predictions.create(
        "demo/fractal", {"width": 256, "height": 256, "seed": 4, "steps": 2}
    )
    p = client.predictions.wait(p)
    assert p.status == "succeeded"
    history = History(client=client, keeper=None, thumbnail_size=48)
    history.wait(60)
    thumb = thumbnail(row_of(history, p.id))
    assert thumb is not None
    assert thumb.format in ("jpeg", "png")
    with Image.open(io.BytesIO(bytes(thumb.value))) as im:
        assert max(im.size) == 48
        assert im.format.lower() == thumb.format
    history.close()


def test_open_shows_the_prediction_in_a_panel(client):
    p = client.predictions.wait(
        client.predictions.create("replicate/hello-world", {"text": "open"})
    )
    history = History(client=client, keeper=None)
    history.wait(30)
    button(row_of(history, p.id), "rw-history-open").click()
    wait_for(lambda: history._detail.children, what="the panel")
    panel = history._detail.children[0]
    assert isinstance(panel, PredictionPanel)
    assert panel.wait(30).output == "hello open"
    wait_for(lambda: panel.text == "hello open" or panel.value == "hello open")
    history.close()


def test_cancel_a_running_prediction(client):
    p = client.predictions.create("demo/echo", {"text": "slow", "delay": 30})
    history = History(client=client, keeper=None)
    history.wait(30)
    row = row_of(history, p.id)
    assert not button(row, "rw-history-cancel").disabled
    assert history.entry(p.id).running
    button(row, "rw-history-cancel").click()
    wait_for(lambda: history.entry(p.id).status == "canceled", what="canceled")
    assert client.predictions.wait(p).status == "canceled"
    wait_for(lambda: button(row_of(history, p.id), "rw-history-cancel").disabled)
    history.close()


# -- tweak ------------------------------------------------------------------------


def test_tweak_loads_inputs_into_the_playground_without_the_mask(client):
    p = client.predictions.wait(
        client.predictions.create(
            "demo/text-stats",
            {"text": "Tweak me. Twice.", "top": 2, "signing_key": "s3cret"},
        )
    )
    assert p.input["signing_key"] == SECRET_MASK  # stored masked by the backend
    pg = Playground("demo/text-stats", client=client)
    pg.form.set(text="something else", top=9, signing_key="mine")
    seen = []
    history = History(playground=pg, keeper=None)
    history.on_tweak(seen.append)
    history.wait(30)
    button(row_of(history, p.id), "rw-history-tweak").click()
    assert seen == [{"text": "Tweak me. Twice.", "top": 2}]
    sent = pg.form.to_input()
    assert sent["text"] == "Tweak me. Twice."
    assert sent["top"] == 2
    # the secret the person typed stays; the mask never replaces it
    assert sent["signing_key"] == "mine"
    assert SECRET_MASK not in json.dumps(pg.form.values)
    wait_for(lambda: "Loaded the inputs" in history._message.value)
    history.close()


def test_tweak_resets_inputs_the_prediction_left_unset(client):
    p = client.predictions.wait(
        client.predictions.create("demo/text-stats", {"text": "Only text."})
    )
    pg = Playground("demo/text-stats", client=client)
    pg.form.set(top=9)
    history = History(playground=pg, keeper=None)
    history.wait(30)
    history.tweak(p.id)
    assert pg.form.to_input() == {"text": "Only text.", "top": 5}
    history.close()


def test_tweak_into_another_models_form_names_what_was_skipped(client):
    p = client.predictions.wait(
        client.predictions.create("demo/echo", {"text": "x", "delay": 0.1})
    )
    pg = Playground("replicate/hello-world", client=client)
    history = History(playground=pg, keeper=None)
    history.wait(30)
    history.tweak(p.id)
    assert pg.form.to_input() == {"text": "x"}
    # the quotes are escaped (markupsafe writes &#39;): compare the text a browser shows
    wait_for(lambda: "no input 'delay'" in html.unescape(history._message.value))
    assert "'" not in history._message.value
    history.close()


# -- replayed api.replicate.com responses -------------------------------------------


def replicate_api(pages: list[list[dict]]) -> httpx.MockTransport:
    """Serve ``GET /v1/predictions`` as Replicate does: pages linked by ``next``."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/predictions":
            n = int(request.url.params.get("cursor", "0"))
            nxt = (
                f"https://api.replicate.com/v1/predictions?cursor={n + 1}"
                if n + 1 < len(pages)
                else None
            )
            return httpx.Response(
                200, json={"results": pages[n], "next": nxt, "previous": None}
            )
        return httpx.Response(404, json={"detail": "Not found.", "status": 404})

    return httpx.MockTransport(handler)


def api_prediction(i: int, **changes) -> dict:
    body = copy.deepcopy(fixture("prediction-succeeded.json"))
    body["id"] = f"{body['id'][:-3]}{i:03d}"
    body["created_at"] = f"2023-08-16T18:{59 - i:02d}:08.360785Z"
    body.update(changes)
    return body


def test_pages_load_one_at_a_time():
    pages = [[api_prediction(i) for i in range(j, j + 3)] for j in (0, 3, 6)]
    with Client("r8_test", transport=replicate_api(pages)) as c:
        history = History(client=c, keeper=None)
        history.wait(30)
        assert len(history.entries) == 3
        assert not history._more_btn.disabled
        history._more_btn.click()
        history.wait(30)
        assert len(history.entries) == 6
        history.load_more().result(30)
        assert [e.id for e in history.entries] == [
            api_prediction(i)["id"] for i in range(9)
        ]
        assert history._more_btn.disabled
        history.load_more().result(30)
        assert "No more" in history._message.value
        history.close()


def test_removed_data_is_shown_and_cannot_be_tweaked():
    gone = api_prediction(1, input={}, output=None, logs=None, data_removed=True)
    with Client("r8_test", transport=replicate_api([[gone]])) as c:
        history = History(client=c, keeper=None)
        history.wait(30)
        info = row_of(history, gone["id"]).children[1].value
        assert "data removed" in info
        assert "an hour" in info  # the tooltip says why
        assert button(row_of(history, gone["id"]), "rw-history-tweak").disabled
        with pytest.raises(ValueError, match="removed by the backend"):
            history.tweak(gone["id"])
        history.close()


def test_a_backend_that_fails_is_explained_in_the_widget():
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json=fixture("error-401-unauthenticated.json"))

    with Client("r8_bad", transport=httpx.MockTransport(refuse)) as c:
        history = History(client=c, keeper=None)
        history.wait(30)
        assert "Could not list the backend" in history._message.value
        assert "r8_bad" not in history._message.value
        history.close()


# -- kept records (replicate_widgets._keep) -------------------------------------------


@pytest.fixture(scope="module")
def kept_fractal(client, tmp_path_factory):
    """A fractal prediction run on the local backend and kept by the real Keeper."""
    from replicate_widgets._keep import Keeper

    p = client.predictions.wait(
        client.predictions.create(
            "demo/fractal", {"width": 256, "height": 256, "seed": 9, "steps": 2}
        )
    )
    assert p.status == "succeeded"
    keeper = Keeper(tmp_path_factory.mktemp("kept"))
    assert keeper.save(p, read=client.read) is not None
    return p, keeper


def test_kept_records_survive_without_the_backend(kept_fractal, client):
    p, keeper = kept_fractal
    # A new kernel with no backend listing: only what was kept on disk.
    history = History(client=client, include_api=False, keeper=keeper)
    history.wait(60)
    entry = history.entry(p.id)
    assert entry.origins == {"kept"}
    assert entry.model == "demo/fractal"
    assert entry.status == "succeeded"
    row = row_of(history, p.id)
    assert "kept" in row.children[1].value
    assert thumbnail(row) is not None
    history.close()


def test_removed_data_is_opened_and_tweaked_from_the_kept_record(kept_fractal, client):
    p, keeper = kept_fractal
    # What Replicate answers an hour later: same prediction, data removed.
    gone = dict(p.raw, input={}, output=None, logs=None, data_removed=True)
    with Client("r8_test", transport=replicate_api([[gone]])) as cloud:
        pg = Playground("demo/fractal", client=client)
        history = History(client=cloud, playground=pg, keeper=keeper)
        history.wait(60)
        entry = history.entry(p.id)
        assert entry.origins == {"api", "kept"}
        assert entry.data_removed
        row = row_of(history, p.id)
        assert "data removed · kept locally" in row.children[1].value
        assert thumbnail(row) is not None
        assert not button(row, "rw-history-tweak").disabled
        assert history.tweak(p.id) == {
            "width": 256,
            "height": 256,
            "seed": 9,
            "steps": 2,
        }
        assert pg.form.to_input()["seed"] == 9
        panel = history.show(p.id)
        final = panel.wait(60)
        assert final.status == "succeeded"
        # the kept files, read without the network (the cloud client would 404)
        wait_for(lambda: len(panel.media) == len(p.output), what="kept images")
        assert all(m["kind"] == "image" for m in panel.media)
        history.close()


def test_unchanged_rows_are_reused_not_rebuilt(client):
    p = client.predictions.wait(
        client.predictions.create("replicate/hello-world", {"text": "same"})
    )
    history = History(client=client, keeper=None)
    history.wait(30)
    before = row_of(history, p.id)
    history.refresh().result(30)
    assert row_of(history, p.id) is before
    q = client.predictions.create("demo/echo", {"text": "new", "delay": 0.2})
    record(q, client)
    wait_for(lambda: q.id in history._entries, what="the new row")
    assert row_of(history, p.id) is before
    record(client.predictions.wait(q), client)
    wait_for(lambda: history.entry(q.id).status == "succeeded", what="the update")
    wait_for(lambda: "rw-status-succeeded" in row_of(history, q.id)._dom_classes)
    assert row_of(history, p.id) is before
    history.close()


def test_an_attached_playgrounds_runs_are_recorded(client):
    pg = Playground("replicate/hello-world", client=client)
    history = History(playground=pg, include_api=False, keeper=None)
    history.wait(30)
    done = pg.run(text="from the playground")
    wait_for(lambda: done.id in history._entries, what="the Playground's run")
    wait_for(lambda: history.entry(done.id).status == "succeeded", what="its end")
    assert history.entry(done.id).origins == {"notebook"}
    assert any(p.id == done.id for p in recorded())
    history.close()
