"""PredictionPanel against the real local backend on 127.0.0.1, with a recording comm.

The comm records every message the widget sends, so the tests check what would reach
the browser: the final state, how many update messages it took, and binary buffers.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import comm
import httpx
import pytest

from replicate_widgets._client.client import Client
from replicate_widgets._widgets.coalesce import Coalescer
from replicate_widgets._widgets.loop import submit
from replicate_widgets._widgets.panel.panel import PredictionPanel
from replicate_widgets._widgets.panel.state import PanelState
from replicate_widgets.server import serve

BUNDLED = Path(__file__).parents[1] / "replicate_widgets" / "server" / "models"
MODELS = [
    BUNDLED / name
    for name in (
        "hello-world",
        "text-stream",
        "fractal",
        "echo",
        "chiptune",
        "text-stats",
    )
]
TOKEN = "r8_" + "s3cr3t" * 6


class RecordingComm:
    """Stands in for the kernel's comm: keeps what the widget sends."""

    kernel = "recording"

    def __init__(self, **kwargs):
        self.comm_id = uuid.uuid4().hex
        self.messages: list[tuple[dict, list]] = []
        self.lock = threading.Lock()
        # What the comm_open carried: a model's first state and its binary buffers.
        self.opened_with = (kwargs.get("data") or {}, list(kwargs.get("buffers") or []))

    def send(self, data=None, metadata=None, buffers=None):
        with self.lock:
            self.messages.append((data, list(buffers or [])))

    def on_msg(self, callback):
        pass

    def close(self, *args, **kwargs):
        pass

    def updates(self) -> list[dict]:
        with self.lock:
            return [d["state"] for d, _ in self.messages if d.get("method") == "update"]

    def text_messages(self, key: str = "text") -> list[tuple[str, int, str]]:
        """``("set", 0, value)`` for a synced ``key``, ``("append", at, chunk)``."""
        found = []
        with self.lock:
            for data, _ in self.messages:
                if data.get("method") != "update":
                    continue
                state = data["state"]
                if key in state:
                    found.append(("set", 0, state[key]))
                append = state.get("_appends", {}).get(key)
                if append:
                    found.append(("append", append["at"], append["chunk"]))
        return found

    def browser_text(self, key: str = "text") -> str:
        """What a browser holds of ``key`` after every message, applied in order."""
        text = self.opened_with[0].get("state", {}).get(key, "")
        for kind, at, value in self.text_messages(key):
            if kind == "set":
                text = value
            else:
                assert at == len(text), "an append that does not fit the text before it"
                text += value
        return text


@pytest.fixture
def recording(monkeypatch):
    made: list[RecordingComm] = []

    def create_comm(**kwargs):
        made.append(RecordingComm(**kwargs))
        return made[-1]

    monkeypatch.setattr(comm, "create_comm", create_comm)
    return made


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("panel-data")
    with serve(port=0, models=MODELS, bundled=False, data_dir=data) as running:
        yield running


@pytest.fixture
def client(server):
    with Client(api_token=TOKEN, base_url=server.url) as c:
        yield c


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


# -- coalescing through a real widget -----------------------------------------------


def test_1000_tokens_make_a_bounded_number_of_messages_and_the_last_is_complete(
    recording,
):
    """The coalescer + panel flush with a deterministic clock: 1,000 tokens in 1 s."""
    panel = PredictionPanel()
    channel = recording[-1]
    before = len(channel.messages)
    now = [0.0]
    timers: list[list] = []

    class Handle:
        def __init__(self, timer):
            self.timer = timer

        def cancel(self):
            if self.timer in timers:
                timers.remove(self.timer)

    def call_later(delay, callback):
        timers.append([now[0] + delay, callback])
        return Handle(timers[-1])

    state = PanelState("text-stream")
    panel._state, panel._generation = state, 1
    panel._follower = type("F", (), {"media": {}, "media_errors": {}})()
    coalescer = Coalescer(
        lambda: panel._flush(1),
        max_rate=20,
        clock=lambda: now[0],
        call_later=call_later,
    )

    async def feed():
        for i in range(1000):
            state.apply_event("output", f"t{i} ", now[0])
            coalescer.touch()
            now[0] += 0.001
            for t in [t for t in timers if t[0] <= now[0]]:
                timers.remove(t)
                t[1]()
        coalescer.close()

    # Traits are written from the io loop, as in real use.
    submit(feed()).result(30)
    # Text appends ride in the flush's one update message.
    messages = channel.messages[before:]
    assert all(d.get("method") == "update" for d, _ in messages)
    assert 1 < len(messages) <= 22
    expected = "".join(f"t{i} " for i in range(1000))
    assert channel.browser_text() == expected
    assert panel.text == expected
    # Each flush sent what was new, not the whole text again.
    sent = sum(len(value) for _, _, value in channel.text_messages())
    assert sent == len(expected)
    # A view that missed an append asks for the whole text, and gets it.
    panel._on_message(panel, {"kind": "resync", "key": "text"}, [])
    wait_for(lambda: channel.text_messages()[-1] == ("set", 0, expected))


# -- against the local backend ------------------------------------------------


@pytest.mark.integration
def test_streamed_text_equals_the_output_with_bounded_messages(recording, client):
    panel = PredictionPanel(client=client, output="text-stream")
    channel = recording[-1]
    prediction = client.predictions.create(
        "demo/text-stream", {"prompt": "Alice was", "max_tokens": 500, "delay": 0}
    )
    started = time.monotonic()
    panel.follow(prediction)
    final = panel.wait(120)
    elapsed = time.monotonic() - started
    assert final.status == "succeeded"
    assert panel.text == "".join(final.output)
    updates = channel.updates()
    # At most 20 a second while streaming, plus the first and the final one.
    assert len(channel.messages) <= 20 * elapsed + 5
    # What the browser last heard is the final state.
    assert [u["status"] for u in updates if "status" in u][-1] == "succeeded"
    assert channel.browser_text() == "".join(final.output)
    # Appends while streaming, then the whole text once at the end: about twice
    # the text, however long it grows (not once per flush).
    sent = sum(len(value) for _, _, value in channel.text_messages())
    assert sent <= 2 * len(panel.text)
    assert channel.text_messages()[-1] == ("set", 0, panel.text)
    assert [p["status"] for p in panel.timeline] == [
        "starting",
        "processing",
        "succeeded",
    ]
    assert set(panel.metrics) >= {"predict_time", "total_time"}
    assert panel.problem == ""


@pytest.mark.integration
def test_iterator_images_appear_as_they_are_produced(recording, client):
    panel = PredictionPanel(client=client, max_image_edge=128)
    channel = recording[-1]
    prediction = client.predictions.create(
        "demo/fractal", {"steps": 8, "seed": 7, "width": 256, "height": 256}
    )
    panel.follow(prediction)
    final = panel.wait(120)
    assert final.status == "succeeded"
    assert panel.output_kind == "file-stream"
    images = [m for m in panel.media if m["kind"] == "image"]
    assert len(images) == len(final.output) == 4
    assert all(m["width"] == 128 and m["original_width"] == 256 for m in images)
    # Intermediate states reached the browser: some update carried fewer images.
    counts = [
        sum(1 for m in u["media"] if m["kind"] == "image")
        for u in channel.updates()
        if "media" in u
    ]
    assert any(0 < n < 4 for n in counts), counts
    # While running, the updates name the bytes by id and carry none of them (no
    # base64, no buffers): n images never cost n²/2 transfers. The finished run's
    # list carries each image once, as a binary buffer (a saved notebook shows it).
    with_buffers = [buffers for _, buffers in channel.messages if buffers]
    assert len(with_buffers) == 1
    assert len(with_buffers[0]) == 4
    assert all(bytes(b).startswith(b"\xff\xd8") for b in with_buffers[0])
    # A view asking for the ids gets each image's bytes exactly once, and
    # "missing" for an id the panel does not hold.
    ids = [m["id"] for m in panel.media]
    assert all(isinstance(i, str) for i in ids)
    before = len(channel.messages)
    panel._on_message(panel, {"kind": "media", "ids": [*ids, "nope", 7]}, [])
    replies = channel.messages[before:]
    assert [d["content"] for d, _ in replies] == [
        *({"kind": "media", "id": i} for i in ids),
        {"kind": "media", "id": "nope", "missing": True},
    ]
    jpegs = [bytes(b[0]) for _, b in replies if b]
    assert len(jpegs) == len(set(jpegs)) == 4
    assert all(j.startswith(b"\xff\xd8") for j in jpegs)
    assert not any(c.opened_with[1] for c in recording)  # no model holds the files
    assert panel.progress == {"fraction": 1.0, "current": 8, "total": 8}
    # Originals are kept in the kernel, at full size.
    assert [len(f.data) for f in panel.files] == [
        len(client.read(u).data) for u in final.output
    ]


@pytest.mark.integration
def test_watch_a_prediction_started_elsewhere_by_id(recording, client):
    prediction = client.predictions.create("replicate/hello-world", {"text": "panel"})
    client.predictions.wait(prediction)
    panel = PredictionPanel.watch(prediction.id, client=client)
    final = panel.wait(60)
    assert final.id == prediction.id
    assert panel.status == "succeeded"
    assert panel.output_kind == "text"
    assert panel.text == "hello panel"


@pytest.mark.integration
def test_cancel_stops_the_prediction_on_the_backend(recording, client):
    panel = PredictionPanel(client=client)
    prediction = client.predictions.create(
        "demo/text-stream", {"prompt": "Alice was", "max_tokens": 500, "delay": 0.2}
    )
    panel.follow(prediction)
    wait_for(lambda: panel.text != "")
    # As the browser's Cancel button does: a custom message to the kernel.
    panel._on_message(panel, {"kind": "cancel"}, [])
    final = panel.wait(60)
    assert final.status == "canceled"
    assert client.predictions.get(prediction.id).status == "canceled"
    wait_for(lambda: panel.cancel_state == "sent")
    assert panel.status == "canceled"
    assert panel.timeline[-1]["status"] == "canceled"


@pytest.mark.integration
def test_download_and_full_logs_answer_with_binary_buffers(recording, client):
    panel = PredictionPanel(client=client, log_limit=40)
    channel = recording[-1]
    prediction = client.predictions.create("demo/fractal", {"steps": 4, "seed": 1})
    panel.follow(prediction)
    final = panel.wait(120)
    assert panel.logs_dropped > 0
    assert len(panel.logs) <= 40
    assert panel.full_logs == final.logs
    panel._on_message(panel, {"kind": "full_logs"}, [])
    panel._on_message(panel, {"kind": "download", "key": panel.files[0].key}, [])

    def replies():
        return {
            d["content"].get("kind"): b
            for d, b in channel.messages
            if d.get("method") == "custom"
        }

    wait_for(lambda: {"file", "full_logs"} <= set(replies()))
    got = replies()
    assert bytes(got["full_logs"][0]).decode() == final.logs
    assert bytes(got["file"][0]) == panel.files[0].data


@pytest.mark.integration
def test_follow_replaces_and_reset_clears(recording, client):
    panel = PredictionPanel(client=client)
    first = client.predictions.create("replicate/hello-world", {"text": "one"})
    panel.follow(first).result(60)
    assert panel.text == "hello one"
    second = client.predictions.create("replicate/hello-world", {"text": "two"})
    panel.follow(second).result(60)
    assert panel.text == "hello two"
    assert panel.prediction_id == second.id
    streamed = client.predictions.create(
        "demo/text-stream", {"prompt": "a", "max_tokens": 20, "delay": 0.01}
    )
    panel.follow(streamed).result(60)
    assert panel._appends  # the text grew by appends
    panel.reset()
    wait_for(lambda: panel.status == "")
    assert (panel.text, panel.timeline, panel.prediction_id) == ("", [], "")
    # A view made now finds no append that its empty text would not fit.
    assert panel._appends == {}


@pytest.mark.integration
def test_unknown_prediction_is_shown_with_advice_and_no_token(recording, client):
    panel = PredictionPanel(client=client)
    job = panel.follow("doesnotexist0000000000000")
    with pytest.raises(Exception, match=r"(?i)not found|404"):
        job.result(60)
    wait_for(lambda: panel.problem != "")
    assert "Could not follow the prediction" in panel.problem
    sent = repr([d for d, _ in recording[-1].messages])
    assert TOKEN not in sent
    assert TOKEN not in panel.problem
    assert TOKEN not in repr(panel)


def test_unreachable_backend_is_reported_in_the_widget(recording):
    with Client(base_url="http://127.0.0.1:9/v1", max_retries=0) as dead:
        panel = PredictionPanel(client=dead)
        job = panel.follow("abc")
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the client raises
            job.result(60)
        wait_for(lambda: panel.problem != "")
        assert "Could not follow the prediction" in panel.problem


def test_person_errors_get_clear_messages():
    with pytest.raises(ValueError, match="max_image_edge must be a positive"):
        PredictionPanel(max_image_edge=0)
    with pytest.raises(ValueError, match="Unknown output kind"):
        PredictionPanel(output="pictures")
    panel = PredictionPanel()
    with pytest.raises(TypeError, match="needs a prediction id"):
        panel.follow(42)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="call follow"):
        panel.wait(1)


def test_hostile_browser_messages_are_ignored(recording):
    panel = PredictionPanel()
    for content in (None, [], "cancel", {"kind": 3}, {"kind": "download", "key": None}):
        panel._on_message(panel, content, [])
    assert panel.problem == ""


@pytest.mark.integration
def test_an_async_client_is_awaited_on_the_background_loop(recording, server):
    from replicate_widgets._client.async_client import AsyncClient

    aclient = AsyncClient(base_url=server.url)
    try:
        with Client(base_url=server.url) as sync:
            prediction = sync.predictions.create(
                "demo/text-stream",
                {"prompt": "Alice was", "max_tokens": 40, "delay": 0},
            )
        panel = PredictionPanel.watch(prediction, client=aclient)
        final = panel.wait(60)
        assert final.status == "succeeded"
        assert panel.text == "".join(final.output)
    finally:
        submit(aclient.close()).result(10)


def _finished(output):
    import json as _json

    raw = _json.loads(
        (
            Path(__file__).parent / "fixtures/responses/prediction-succeeded.json"
        ).read_text()
    )
    from replicate_widgets._client.types import Prediction

    return Prediction.from_json({**raw, "output": output})


def _png(size=(300, 200)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 90)).save(out, format="PNG")
    return out.getvalue()


def test_data_uri_outputs_are_sniffed_and_shown(recording):
    """A finished prediction whose output is a data: URI labelled octet-stream."""
    import base64

    png = _png()
    uri = "data:application/octet-stream;base64," + base64.b64encode(png).decode()
    with Client(base_url="http://127.0.0.1:9/v1") as offline:  # data: needs no network
        panel = PredictionPanel(client=offline, max_image_edge=100)
        panel.follow(_finished(uri)).result(30)
    (entry,) = panel.media
    assert entry["kind"] == "image"
    assert entry["original_mime"] == "image/png"
    assert (entry["width"], entry["height"]) == (100, 67)
    assert panel.files[0].data == png
    assert panel.output_kind == "file"


def test_object_output_with_a_file_inside_becomes_a_tree(recording):
    import base64

    uri = "data:image/png;base64," + base64.b64encode(_png((8, 8))).decode()
    output = {"caption": "a green square", "mask": uri, "scores": [0.9, 0.1]}
    with Client(base_url="http://127.0.0.1:9/v1") as offline:
        panel = PredictionPanel(client=offline)
        panel.follow(_finished(output)).result(30)
    key = panel.media[0]["key"]
    assert panel.media[0]["inline"] is True
    assert panel.value == {
        "caption": "a green square",
        "mask": {"__media__": key},
        "scores": [0.9, 0.1],
    }
    assert panel.output_kind == "object"


def test_embedding_output_is_summarised(recording):
    with Client(base_url="http://127.0.0.1:9/v1") as offline:
        panel = PredictionPanel(client=offline)
        panel.follow(_finished([0.6, 0.8, 0.0])).result(30)
    assert panel.output_kind == "embedding"
    assert panel.embedding["shape"] == [3]
    assert panel.embedding["norm"] == pytest.approx(1.0)
    assert panel.value is None


@pytest.mark.integration
def test_a_failed_prediction_shows_the_error_and_the_logs(recording, client):
    panel = PredictionPanel(client=client)
    prediction = client.predictions.create("demo/echo", {"fail": True})
    final = panel.follow(prediction).result(60)
    assert final.status == "failed"
    assert panel.status == "failed"
    assert "failed on purpose" in panel.error
    assert "echo: failing on purpose" in panel.logs
    assert panel.timeline[-1]["status"] == "failed"
    assert panel.problem == ""  # the model failed; following it did not


@pytest.mark.integration
def test_audio_output_is_sent_for_the_player(recording, client):
    panel = PredictionPanel(client=client)
    prediction = client.predictions.create(
        "demo/chiptune", {"notes": ["C4", "E4", "G4"]}
    )
    final = panel.follow(prediction).result(60)
    assert final.status == "succeeded"
    (entry,) = panel.media
    assert entry["kind"] == "audio"
    assert entry["mime"] == "audio/wav"
    assert entry["data"] == panel._media.get(entry["id"]) == panel.files[0].data
    assert panel.files[0].data[:4] == b"RIFF"


@pytest.mark.integration
def test_object_output_from_a_model(recording, client):
    panel = PredictionPanel(client=client)
    prediction = client.predictions.create(
        "demo/text-stats", {"text": "Cats sit. Cats nap. Dogs run."}
    )
    final = panel.follow(prediction).result(60)
    assert final.status == "succeeded"
    assert panel.output_kind == "object"
    assert panel.value == final.output
    assert panel.value["words"] == 6
    assert panel.text == ""


def test_a_missing_token_says_how_to_set_one(recording, monkeypatch):
    import replicate_widgets._client.auth as _auth

    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    monkeypatch.delenv("REPLICATE_BASE_URL", raising=False)
    monkeypatch.setattr(_auth, "get_token", lambda: None)
    panel = PredictionPanel()  # default client: api.replicate.com, no token anywhere
    with pytest.raises(Exception, match="needs a Replicate API token and none is set"):
        panel.follow("abc").result(30)
    wait_for(lambda: panel.problem != "")
    assert "REPLICATE_API_TOKEN" in panel.problem
    assert "login()" in panel.problem


def test_a_file_that_cannot_be_fetched_is_shown_as_missing(recording):
    with Client(base_url="http://127.0.0.1:9/v1", max_retries=0) as offline:
        panel = PredictionPanel(client=offline)
        panel.follow(_finished("http://127.0.0.1:9/out-0.png")).result(60)
    (entry,) = panel.media
    assert entry["kind"] == "missing"
    assert entry["name"] == "http://127.0.0.1:9/out-0.png"
    assert entry["reason"]
    assert panel.problem == ""  # the prediction itself was followed fine


class DroppingTransport(httpx.HTTPTransport):
    """The real HTTP transport; the first SSE connection breaks mid-stream."""

    def __init__(self, after_chunks: int) -> None:
        super().__init__()
        self.after = after_chunks
        self.dropped = 0
        self.stream_requests: list[dict[str, str]] = []

    def handle_request(self, request):
        response = super().handle_request(request)
        if "/streams/" not in request.url.path:
            return response
        self.stream_requests.append(dict(request.headers))
        if self.dropped:
            return response
        self.dropped += 1
        inner, after = response.stream, self.after

        class Breaking(httpx.SyncByteStream):
            def __iter__(self):
                for i, chunk in enumerate(inner):
                    if i == after:
                        raise httpx.ReadError("connection dropped (test)")
                    yield chunk

            def close(self):
                inner.close()

        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=Breaking(),
            extensions=response.extensions,
        )


@pytest.mark.integration
def test_a_dropped_stream_reconnects_without_losing_or_repeating_text(
    recording, server
):
    transport = DroppingTransport(after_chunks=8)
    with Client(base_url=server.url, transport=transport) as client:
        panel = PredictionPanel(client=client)
        channel = recording[-1]
        prediction = client.predictions.create(
            "demo/text-stream", {"prompt": "Alice was", "max_tokens": 80, "delay": 0.01}
        )
        final = panel.follow(prediction).result(60)
    assert transport.dropped == 1
    assert len(transport.stream_requests) >= 2
    assert "last-event-id" in transport.stream_requests[1]
    expected = "".join(final.output)
    assert panel.text == expected
    # Every text the browser was sent is a prefix of the final one: nothing repeated.
    texts = [u["text"] for u in channel.updates() if "text" in u]
    assert all(expected.startswith(t) for t in texts)
    assert channel.browser_text() == expected  # every append fitted


@pytest.mark.integration
def test_file_bytes_are_let_go_when_the_panel_moves_on(recording, client):
    panel = PredictionPanel(client=client)
    prediction = client.predictions.create("demo/fractal", {"steps": 2, "seed": 3})
    panel.follow(prediction).result(60)
    ids = [m["id"] for m in panel.media]
    assert ids
    assert all(panel._media.get(i) for i in ids)
    panel.reset()
    wait_for(lambda: panel.media == [])
    wait_for(lambda: all(panel._media.get(i) is None for i in ids))


@pytest.mark.integration
def test_watching_mid_run_repeats_nothing(recording, client):
    prediction = client.predictions.create(
        "demo/text-stream", {"prompt": "Alice was", "max_tokens": 60, "delay": 0.05}
    )
    wait_for(lambda: client.predictions.get(prediction.id).output)
    panel = PredictionPanel.watch(prediction.id, client=client)
    channel = recording[-1]
    final = panel.wait(60)
    text, logs = "".join(final.output), final.logs
    assert panel.text == text
    assert panel.logs == logs
    sent = channel.updates()
    assert all(text.startswith(u["text"]) for u in sent if "text" in u)
    assert all(logs.startswith(u["logs"]) for u in sent if "logs" in u)
    # Appends included, the browser ends with exactly the text and the logs.
    assert channel.browser_text("text") == text
    assert channel.browser_text("logs") == logs
