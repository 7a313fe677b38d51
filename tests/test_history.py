"""History: this notebook's predictions, the backend's list, tweak, cancel, open.

Server interactions run against the real local backend on 127.0.0.1. Replicate's
data removal and secrets a cloud sent unmasked, which the local backend cannot
produce, replay real api.replicate.com responses (``_history_api``). Paging and
filtering: ``test_history_pages.py``.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import re
import time

import anywidget
import httpx
import pytest
from _history_api import ReplicateAPI, api_prediction, fixture
from _widgets import open_widgets, opened_since
from PIL import Image

from replicate_widgets._client.client import Client
from replicate_widgets._secret_mask import SECRET_MASK
from replicate_widgets._widgets.composite import widget_refs
from replicate_widgets._widgets.history.entries import (
    clean_inputs,
    first_image_url,
    parse_bound,
    record,
    recorded,
)
from replicate_widgets._widgets.history.history import History
from replicate_widgets._widgets.panel.panel import PredictionPanel
from replicate_widgets._widgets.playground.playground import Playground


@pytest.fixture(scope="module")
def client(local_client: Client) -> Client:
    """The session's local backend (all bundled models), as this module names it."""
    return local_client


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def row_of(history: History, prediction_id: str) -> dict:
    """The row the view draws for ``prediction_id`` (plain JSON)."""
    for row in history.rows:
        if row["id"] == prediction_id:
            return row
    raise AssertionError(f"no row for {prediction_id}")


def thumbnail(history: History, prediction_id: str) -> dict | None:
    return history.thumbs.get(prediction_id)


def press(history: History, action: str, value=None) -> None:
    """What the view's button sends: the action, with its row's id."""
    history._on_composite_message(
        history, {"kind": "action", "name": action, "value": value}, []
    )


def tree(widget):
    """``widget`` and every part inside it, recursively."""
    yield widget
    for part in getattr(widget, "own_parts", list)():
        yield from tree(part)


def detail_shown(history: History) -> bool:
    """Whether the view shows an opened run's pane (under a row of this page)."""
    return bool(history.opened) and any(
        r["id"] == history.opened and r["open"] for r in history.rows
    )


def as_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", markup))


def detail_text(history: History) -> str:
    """What the opened run's heading and inputs show, as text."""
    return as_text(history.detail_head + " " + history.detail_inputs)


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
    wait_for(lambda: row_of(history, p.id)["status"] == "succeeded")
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
    # a date typed in the widget applies on Enter, as the other filters do
    history.date_before = ""
    history.wait(30)
    assert second.id in [e.id for e in history.entries]
    # a date typed wrong in the widget is explained there, nothing is reloaded
    history.date_after = "last tuesday"
    press(history, "refresh")
    wait_for(lambda: "is not a date" in history.message)
    history.close()


def test_thumbnails_are_small_images_sent_as_bytes(client):
    p = client.predictions.create(
        "demo/fractal", {"width": 256, "height": 256, "seed": 4, "steps": 2}
    )
    p = client.predictions.wait(p)
    assert p.status == "succeeded"
    history = History(client=client, keeper=None, thumbnail_size=48)
    history.wait(60)
    thumb = thumbnail(history, p.id)
    assert thumb is not None
    assert thumb["mime"] in ("image/jpeg", "image/png")
    assert isinstance(thumb["data"], bytes)  # a binary buffer, not base64 text
    with Image.open(io.BytesIO(thumb["data"])) as im:
        assert max(im.size) == 48
        assert f"image/{im.format.lower()}" == thumb["mime"]
    history.close()


def test_open_shows_inputs_output_logs_and_metrics_under_its_row(client):
    older = client.predictions.wait(
        client.predictions.create("demo/echo", {"text": "the run before"})
    )
    p = client.predictions.wait(
        client.predictions.create("demo/echo", {"text": "open me", "delay": 0.1})
    )
    history = History(client=client, keeper=None)
    history.wait(30)
    press(history, "open", p.id)
    wait_for(lambda: detail_shown(history), what="the opened run")
    # the view draws it right under the row of history.opened (the browser test
    # checks where); the next row is the run before
    ids = [r["id"] for r in history.rows]
    assert history.opened == p.id
    assert ids.index(older.id) == ids.index(p.id) + 1
    shown = detail_text(history)
    assert f"version {p.version[:12]}" in shown
    assert "open me" in shown  # the inputs...
    assert "delay" in shown
    panel = history.parts["panel"]
    assert isinstance(panel, PredictionPanel)
    assert panel.wait(30).output == "open me"  # ...and the output, logs, metrics
    wait_for(lambda: panel.text == "open me" or panel.value == "open me")
    wait_for(lambda: "echo: waiting" in panel.logs, what="the logs")
    wait_for(lambda: "predict_time" in panel.metrics, what="the metrics")
    # the row's Open became Hide, which folds the run away again
    assert row_of(history, p.id)["open"]
    press(history, "open", p.id)
    wait_for(lambda: not detail_shown(history), what="the run folded away")
    assert history.parts["panel"] is None
    assert history.detail_inputs == ""
    assert panel.comm is None  # closed, not left following
    history.close()


def test_open_masks_secrets_a_backend_sent_unmasked(client):
    """The model's schema says which inputs are secret; the pane masks them."""
    model = client.models.get("demo/text-stats")
    version = model.latest_version
    run = api_prediction(
        1,
        model="demo/text-stats",
        version=version["id"],
        input={"text": "Count these words.", "top": 2, "signing_key": "hunter2"},
        output={"words": 3},
    )
    api = ReplicateAPI(
        [[run]],
        {
            "/v1/models/demo/text-stats": model.raw,
            f"/v1/models/demo/text-stats/versions/{version['id']}": version,
        },
    )
    with Client("r8_test", transport=api.transport) as cloud:
        history = History(client=cloud, keeper=None)
        history.wait(30)
        history.show(run["id"]).wait(30)
        wait_for(lambda: detail_shown(history), what="the opened run")
        shown = detail_text(history)
        assert "Count these words." in shown
        assert SECRET_MASK in shown
        for widget in tree(history):
            assert "hunter2" not in json.dumps(widget.get_state(), default=str)
        history.close()


def test_cancel_a_running_prediction(client):
    p = client.predictions.create("demo/echo", {"text": "slow", "delay": 30})
    history = History(client=client, keeper=None)
    history.wait(30)
    assert row_of(history, p.id)["can_cancel"]
    assert history.entry(p.id).running
    press(history, "cancel", p.id)
    wait_for(lambda: history.entry(p.id).status == "canceled", what="canceled")
    assert client.predictions.wait(p).status == "canceled"
    wait_for(lambda: not row_of(history, p.id)["can_cancel"])
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
    press(history, "tweak", p.id)
    assert seen == [{"text": "Tweak me. Twice.", "top": 2}]
    sent = pg.form.to_input()
    assert sent["text"] == "Tweak me. Twice."
    assert sent["top"] == 2
    # the secret the person typed stays; the mask never replaces it
    assert sent["signing_key"] == "mine"
    assert SECRET_MASK not in json.dumps(pg.form.values)
    wait_for(lambda: "Loaded the inputs" in history.message)
    # the form says the secret was not loaded, and why
    assert "signing_key (secret: stored masked" in pg.form.message
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


def test_tweak_of_another_models_run_opens_its_own_playground(client):
    """Tweak never wipes a form: another model's run gets a Playground of its own."""
    echo = client.predictions.wait(
        client.predictions.create("demo/echo", {"text": "from echo", "delay": 0.1})
    )
    stats = client.predictions.wait(
        client.predictions.create("demo/text-stats", {"text": "Stats run.", "top": 2})
    )
    pg = Playground("demo/text-stats", client=client)
    pg.form.set(text="typed by hand", top=7)
    typed = dict(pg.form.values)
    history = History(playground=pg, keeper=None)
    history.wait(30)
    press(history, "tweak", echo.id)
    assert pg.form.values == typed  # the attached form is left as it was
    [opened] = history.playgrounds
    assert opened.form.schema is not pg.form.schema
    sent = opened.form.to_input()
    assert (sent["text"], sent["delay"]) == ("from echo", 0.1)
    # it is shown below the table, saying why it is there
    wait_for(lambda: history.parts["playgrounds"], what="the opened Playground")
    assert history.parts["playgrounds"] == [opened]
    [why] = history.tweaked
    assert echo.id in why
    wait_for(lambda: "a new Playground for demo/echo" in history.message)
    # another run of that model goes into the same Playground, not a third one
    again = client.predictions.wait(
        client.predictions.create("demo/echo", {"text": "again"})
    )
    history.refresh().result(30)
    history.tweak(again.id)
    assert history.playgrounds == [opened]
    assert opened.form.to_input()["text"] == "again"
    assert opened.form.to_input()["delay"] == 0  # unset in that run: the default
    # a run of the attached Playground's own model still loads into it
    history.tweak(stats.id)
    assert pg.form.to_input()["text"] == "Stats run."
    assert history.playgrounds == [opened]
    # Close removes the opened Playground
    press(history, "close_playground", widget_refs(opened))
    wait_for(lambda: not history.parts["playgrounds"], what="the Playground closed")
    assert history.tweaked == []
    assert history.playgrounds == []
    assert opened.comm is None
    history.close()


def test_tweak_without_a_playground_opens_one(client):
    p = client.predictions.wait(
        client.predictions.create("replicate/hello-world", {"text": "no pg"})
    )
    history = History(client=client, keeper=None)
    history.wait(30)
    assert history.tweak(p.id) == {"text": "no pg"}
    [opened] = history.playgrounds
    assert opened.form.to_input() == {"text": "no pg"}
    history.close()
    assert opened.comm is None  # History closes what it opened


# -- replayed api.replicate.com responses -------------------------------------------


def test_tweak_lists_the_inputs_the_form_cannot_take(client):
    """A run of an older version had inputs this form lacks: named, with values."""
    run = api_prediction(
        2,
        model="demo/echo",
        version="0" * 64,
        input={"text": "old", "delay": 0.5, "volume": 11, "voice": "bass"},
    )
    pg = Playground("demo/echo", client=client)
    with Client("r8_test", transport=ReplicateAPI([[run]]).transport) as cloud:
        history = History(client=cloud, playground=pg, keeper=None)
        history.wait(30)
        history.tweak(run["id"])
        sent = pg.form.to_input()
        assert (sent["text"], sent["delay"]) == ("old", 0.5)
        assert history.playgrounds == []  # same model: the attached Playground
        # listed in the form itself and in the table's message
        listed = 'volume = 11, voice = "bass" (this form has no such inputs)'
        assert listed in pg.form.message
        wait_for(lambda: listed in html.unescape(history.message))
        history.close()


def test_removed_data_is_shown_and_cannot_be_tweaked():
    gone = api_prediction(1, input={}, output=None, logs=None, data_removed=True)
    with Client("r8_test", transport=ReplicateAPI([[gone]]).transport) as c:
        history = History(client=c, keeper=None)
        history.wait(30)
        info = row_of(history, gone["id"])["info_html"]
        assert "data removed" in info
        assert "an hour" in info  # the tooltip says why
        assert not row_of(history, gone["id"])["can_tweak"]
        with pytest.raises(ValueError, match="removed by the backend"):
            history.tweak(gone["id"])
        history.close()


def test_a_backend_that_fails_is_explained_in_the_widget():
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json=fixture("error-401-unauthenticated.json"))

    with Client("r8_bad", transport=httpx.MockTransport(refuse)) as c:
        history = History(client=c, keeper=None)
        history.wait(30)
        assert "Could not list the backend" in history.message
        assert "r8_bad" not in history.message
        history.close()


# -- kept records (replicate_widgets._widgets.keep) ----------------------------


@pytest.fixture(scope="module")
def kept_fractal(client, tmp_path_factory):
    """A fractal prediction run on the local backend and kept by the real Keeper."""
    from replicate_widgets._widgets.keep import Keeper

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
    assert "kept" in row_of(history, p.id)["info_html"]
    assert thumbnail(history, p.id) is not None
    history.close()


def test_removed_data_is_opened_and_tweaked_from_the_kept_record(kept_fractal, client):
    p, keeper = kept_fractal
    # What Replicate answers an hour later: same prediction, data removed.
    gone = dict(p.raw, input={}, output=None, logs=None, data_removed=True)
    with Client("r8_test", transport=ReplicateAPI([[gone]]).transport) as cloud:
        pg = Playground("demo/fractal", client=client)
        history = History(client=cloud, playground=pg, keeper=keeper)
        history.wait(60)
        entry = history.entry(p.id)
        assert entry.origins == {"api", "kept"}
        assert entry.data_removed
        row = row_of(history, p.id)
        assert "data removed · kept locally" in row["info_html"]
        assert thumbnail(history, p.id) is not None
        assert row["can_tweak"]
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


def test_unchanged_rows_are_sent_unchanged(client):
    """A row's JSON changes only with what it shows: the view keeps drawn rows."""
    p = client.predictions.wait(
        client.predictions.create("replicate/hello-world", {"text": "same"})
    )
    history = History(client=client, keeper=None)
    history.wait(30)
    before = row_of(history, p.id)
    thumbs: list[object] = []
    history.observe(lambda c: thumbs.append(c["new"]), names="thumbs")
    history.refresh().result(30)
    assert row_of(history, p.id) == before
    q = client.predictions.create("demo/echo", {"text": "new", "delay": 0.2})
    record(q, client)
    wait_for(lambda: q.id in history._entries, what="the new row")
    assert row_of(history, p.id) == before
    record(client.predictions.wait(q), client)
    wait_for(lambda: history.entry(q.id).status == "succeeded", what="the update")
    wait_for(lambda: row_of(history, q.id)["status"] == "succeeded")
    assert row_of(history, p.id) == before
    assert thumbs == []  # no thumbnail changed: the bytes were not sent again
    history.close()


def test_every_part_is_an_anywidget(client):
    """Nothing in History needs ipywidgets' own front end (marimo has none)."""
    p = client.predictions.wait(
        client.predictions.create("demo/echo", {"text": "parts", "delay": 0.1})
    )
    history = History(client=client, keeper=None)
    history.wait(30)
    history.show(p.id).wait(30)
    history.tweak(p.id)
    wait_for(lambda: history.parts["panel"] is not None, what="the opened run")
    wait_for(lambda: history.parts["playgrounds"], what="the tweaked Playground")
    found = list(tree(history))
    assert len(found) >= 5  # History, its panel, a Playground and its parts
    for widget in found:
        assert isinstance(widget, anywidget.AnyWidget), type(widget).__name__
    history.close()
    assert all(w.comm is None for w in found)


def test_values_the_view_sends_are_checked(client):
    history = History(client=client, include_api=False, keeper=None)
    history.wait(30)
    history.text_filter = "x" * 10_000  # a hostile view: cut, not kept whole
    history.wait(30)
    assert len(history.text_filter) <= 500
    history.status_filter = "done"  # not a status: said, nothing reloaded
    wait_for(lambda: "is not a run status" in history.message)
    press(history, "open", "no-such-run")  # not a row: ignored
    press(history, "tweak", {"id": 1})
    assert not history.opened
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


def test_parts_made_by_an_action_belong_to_the_historys_marimo_cell(monkeypatch):
    """In marimo a widget made when no cell runs cannot be shown: Open and Tweak
    make theirs in the name of the cell that made the History."""
    import contextlib
    import sys
    import types

    import replicate_widgets._widgets.host_context as _host_context

    entered: list[str] = []

    class Context:
        cell_id: str | None = None

        @contextlib.contextmanager
        def with_cell_id(self, cell_id):
            entered.append(cell_id)
            self.cell_id = cell_id
            try:
                yield
            finally:
                self.cell_id = None

    ctx = Context()
    fake = types.ModuleType("marimo._runtime.context")
    fake.get_context = lambda: ctx  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "marimo", types.ModuleType("marimo"))
    monkeypatch.setitem(sys.modules, "marimo._runtime.context", fake)
    assert _host_context.current_cell() is None  # a handler: no cell runs
    with _host_context.as_cell("cell-1"):
        assert _host_context.current_cell() == "cell-1"
    assert entered == ["cell-1"]
    ctx.cell_id = "cell-2"  # while a cell runs, its widgets are its own
    with _host_context.as_cell("cell-1"):
        assert _host_context.current_cell() == "cell-2"
    assert entered == ["cell-1"]
    monkeypatch.delitem(sys.modules, "marimo")  # not marimo: nothing to do
    with _host_context.as_cell("cell-1"):
        assert _host_context.current_cell() is None


def test_close_leaves_no_widget_open(client):
    """History closes its rows, the details panel it showed, the Playgrounds it
    opened and the Layout models ipywidgets made for each."""
    p = client.predictions.wait(
        client.predictions.create("replicate/hello-world", {"text": "closed"})
    )
    before = open_widgets()
    history = History(client=client, keeper=None)
    history.wait(30)
    history.show(p.id)
    history.tweak(p.id)
    assert opened_since(before)
    history.close()
    assert opened_since(before) == {}
