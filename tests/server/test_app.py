"""The local backend over real HTTP on 127.0.0.1, driven with httpx.

One server (hello-world, echo, text-stream and the kitchen test model) is shared
by the module; tests that need other settings start their own.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path

import httpx
import pytest
from _backend import BUNDLED, HELLO_VERSION, TEST_MODELS, Receiver, wait_until
from replicate.webhook import Webhooks, WebhookSigningSecret

from replicate_widgets.server import serve
from replicate_widgets.server._engine.webhooks import verify
from replicate_widgets.server._storage.store import Store

pytestmark = pytest.mark.integration
MODELS = [
    BUNDLED / "hello-world",
    BUNDLED / "echo",
    BUNDLED / "text-stream",
    TEST_MODELS / "kitchen",
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def server(data_dir: Path):
    with serve(port=0, models=MODELS, bundled=False, data_dir=data_dir) as running:
        yield running


@pytest.fixture
def api(server):
    with httpx.Client(base_url=server.url + "/", timeout=90) as client:
        yield client


def _problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["detail"]
    assert "Traceback" not in response.text
    return body


# ------------------------------------------------------------ verbatim requests
def test_verbatim_requests_from_the_issue(api: httpx.Client, server) -> None:
    got = api.get(f"models/replicate/hello-world/versions/{HELLO_VERSION}")
    assert got.status_code == 200
    version = got.json()
    assert set(version) == {"id", "created_at", "cog_version", "openapi_schema"}
    assert version["openapi_schema"]["components"]["schemas"]["Input"]["properties"][
        "text"
    ]

    created = api.post(
        "predictions", json={"version": HELLO_VERSION, "input": {"text": "Alice"}}
    )
    assert created.status_code == 201
    doc = created.json()
    assert created.headers["location"] == doc["urls"]["get"]
    assert doc["status"] in {"starting", "processing", "succeeded"}
    assert len(doc["id"]) == 26
    assert doc["id"].isalnum()
    assert doc["id"].islower()
    assert doc["source"] == "api"
    assert doc["data_removed"] is False
    assert doc["model"] == "replicate/hello-world"
    assert doc["version"] == HELLO_VERSION
    assert doc["urls"]["stream"].startswith(server.url)
    done = wait_until(api, doc["urls"]["get"])
    assert done["status"] == "succeeded"
    assert done["output"] == "hello Alice"
    for key in ("created_at", "started_at", "completed_at"):
        assert done[key].endswith("Z")
    assert set(done["metrics"]) >= {"predict_time", "total_time"}

    body = {
        "owner": "alice",
        "name": "my-model",
        "description": "An example model",
        "visibility": "public",
        "hardware": "cpu",
    }
    model = api.post("models", json=body)
    assert model.status_code == 201
    assert model.json()["owner"] == "alice"
    assert model.json()["latest_version"] is None
    _problem(api.post("models", json=body), 409)
    assert api.get("models/alice/my-model/versions").json()["results"] == []
    detail = _problem(
        api.post("predictions", json={"version": "alice/my-model", "input": {}}), 422
    )["detail"]
    assert "no versions" in detail


@pytest.mark.parametrize(
    "version", [f"replicate/hello-world:{HELLO_VERSION}", "replicate/hello-world"]
)
def test_version_reference_forms(api: httpx.Client, version: str) -> None:
    r = api.post(
        "predictions",
        json={"version": version, "input": {"text": "x"}},
        headers={"Prefer": "wait"},
    )
    assert r.status_code == 201
    assert r.json()["output"] == "hello x"


def test_official_style_model_endpoint(api: httpx.Client) -> None:
    r = api.post(
        "models/replicate/hello-world/predictions",
        json={"input": {"text": "y"}},
        headers={"Prefer": "wait=30"},
    )
    assert r.status_code == 201
    assert r.json()["output"] == "hello y"
    _problem(api.post("models/nobody/nothing/predictions", json={"input": {}}), 404)
    _problem(
        api.post(
            "models/replicate/hello-world/predictions",
            json={"input": {}, "version": HELLO_VERSION},
        ),
        422,
    )


# ------------------------------------------------------------------- errors
def test_errors_are_problem_documents(api: httpx.Client) -> None:
    malformed = api.post(
        "predictions", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    _problem(malformed, 400)
    _problem(api.post("predictions", json=[1, 2]), 400)
    unknown = _problem(
        api.post(
            "predictions", json={"version": HELLO_VERSION, "input": {}, "extra": 1}
        ),
        422,
    )
    assert "extra" in unknown["detail"]
    _problem(api.post("predictions", json={"version": "0" * 64, "input": {}}), 404)
    _problem(api.post("predictions", json={"version": 123, "input": {}}), 422)
    _problem(api.get("predictions/doesnotexist"), 404)
    _problem(api.get("models/nobody/nothing"), 404)
    _problem(api.get(f"models/replicate/hello-world/versions/{'1' * 64}"), 404)
    _problem(api.get("no/such/route"), 404)
    _problem(api.delete("hardware"), 405)
    deployments = _problem(api.post("deployments/a/b/predictions", json={}), 404)
    assert "Deployment a/b does not exist" in deployments["detail"]
    assert api.get("deployments").json()["results"] == []
    _problem(
        api.post(
            "predictions",
            json={"version": HELLO_VERSION, "input": {}},
            headers={"Prefer": "wait=0"},
        ),
        400,
    )
    _problem(
        api.post(
            "predictions",
            json={"version": HELLO_VERSION, "input": {}, "webhook": "ftp://x"},
        ),
        422,
    )
    _problem(
        api.post(
            "predictions",
            json={
                "version": HELLO_VERSION,
                "input": {"text": "a"},
                "webhook_events_filter": ["begin"],
            },
        ),
        422,
    )
    _problem(
        api.post(
            "predictions",
            json={"version": HELLO_VERSION, "input": {}},
            headers={"Cancel-After": "2s"},
        ),
        400,
    )


def test_input_validation_is_422_with_invalid_fields(api: httpx.Client) -> None:
    body = _problem(
        api.post("predictions", json={"version": HELLO_VERSION, "input": {"text": 5}}),
        422,
    )
    assert body["invalid_fields"] == [
        {
            "type": "type",
            "field": "input.text",
            "description": "5 is not of type 'string'",
        }
    ]
    missing = _problem(
        api.post("predictions", json={"version": HELLO_VERSION, "input": {}}), 422
    )
    assert missing["invalid_fields"][0]["description"] == "text is required"
    bounds = _problem(
        api.post("models/demo/echo/predictions", json={"input": {"delay": 61}}), 422
    )
    assert bounds["invalid_fields"][0]["field"] == "input.delay"
    _problem(api.post("predictions", json={"version": HELLO_VERSION}), 422)


# ---------------------------------------------------------- prefer, cancel
def test_prefer_wait_returns_202_when_unfinished(api: httpx.Client) -> None:
    r = api.post(
        "models/demo/echo/predictions",
        json={"input": {"text": "slow", "delay": 3}},
        headers={"Prefer": "wait=1"},
    )
    assert r.status_code == 202
    assert r.json()["status"] in {"starting", "processing"}
    assert wait_until(api, r.json()["urls"]["get"])["output"] == "slow"


def test_cancel_stops_the_running_code(api: httpx.Client) -> None:
    running = api.post(
        "models/demo/echo/predictions", json={"input": {"text": "long", "delay": 60}}
    ).json()
    wait_until(api, running["urls"]["get"], {"processing"})
    queued = api.post(
        "models/demo/echo/predictions", json={"input": {"text": "queued", "delay": 60}}
    ).json()
    # A queued prediction is canceled at once and never starts.
    canceled = api.post(queued["urls"]["cancel"]).json()
    assert canceled["status"] == "canceled"
    assert canceled["started_at"] is None
    stopped = api.post(running["urls"]["cancel"])
    assert stopped.status_code == 200
    assert wait_until(api, running["urls"]["get"])["status"] == "canceled"
    # echo has one slot: the next prediction finishing proves the code stopped.
    nxt = api.post(
        "models/demo/echo/predictions",
        json={"input": {"text": "next"}},
        headers={"Prefer": "wait"},
    ).json()
    assert nxt["status"] == "succeeded"
    assert nxt["output"] == "next"
    again = api.post(running["urls"]["cancel"]).json()
    assert again["status"] == "canceled"


@pytest.mark.parametrize("reported_first", [False, True], ids=["plain", "race"])
def test_cancel_after_aborts_a_run_that_never_started(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch, reported_first: bool
) -> None:
    # echo has one slot. While a run without a deadline holds it, the queued
    # run's deadline comes before it can start, however slow the machine: it is
    # aborted. (Two runs that both have deadlines race instead: once the first
    # is canceled, the second may start before its own deadline.)
    if reported_first:
        # The deadline asks the instances to cancel the queued run, and their
        # own report of it ("canceled") may come before the deadline's
        # "aborted": here always, as the cancel call returns after a pause.
        from replicate_widgets.server._engine.instances import Instances

        cancel = Instances.cancel

        async def slow_cancel(self: Instances, prediction_id: str) -> bool:
            done = await cancel(self, prediction_id)
            await asyncio.sleep(0.5)
            return done

        monkeypatch.setattr(Instances, "cancel", slow_cancel)
    holder = api.post(
        "models/demo/echo/predictions", json={"input": {"text": "hold", "delay": 60}}
    ).json()
    wait_until(api, holder["urls"]["get"], {"processing"})
    queued = api.post(
        "models/demo/echo/predictions",
        json={"input": {"text": "b", "delay": 60}},
        headers={"Cancel-After": "5"},
    ).json()
    assert queued["deadline"].endswith("Z")
    late = wait_until(api, queued["urls"]["get"])
    assert (late["status"], late["started_at"]) == ("aborted", None)
    api.post(holder["urls"]["cancel"])
    assert wait_until(api, holder["urls"]["get"])["status"] == "canceled"


def test_cancel_after_cancels_a_started_run_and_aborts_an_unstarted_one(
    api: httpx.Client,
) -> None:
    # With the slot free the run starts at once and its deadline cancels it. On
    # a loaded machine the deadline may come before the model has started it:
    # then, as on Replicate, it is aborted. Which one is not a matter of this
    # test's timing, but the two must agree with whether the run had started,
    # and a 60 s run with a 5 s deadline never succeeds.
    first = api.post(
        "models/demo/echo/predictions",
        json={"input": {"text": "a", "delay": 60}},
        headers={"Cancel-After": "5s"},
    ).json()
    assert first["deadline"].endswith("Z")
    ended = wait_until(api, first["urls"]["get"])
    assert ended["status"] in {"canceled", "aborted"}
    assert (ended["status"] == "canceled") == (ended["started_at"] is not None)


def test_failure_error_has_no_doubled_prefix(api: httpx.Client) -> None:
    r = api.post(
        "models/demo/echo/predictions",
        json={"input": {"fail": True}},
        headers={"Prefer": "wait"},
    ).json()
    assert r["status"] == "failed"
    assert r["error"] == "ValueError: failed on purpose (fail=true)"
    assert "failing on purpose" in r["logs"]
    lines = api.get(r["urls"]["stream"]).text.split("\n")
    assert 'data: {"detail": "ValueError: failed on purpose (fail=true)"}' in lines
    assert 'data: {"reason": "error"}' in lines


# ----------------------------------------------------------------- listing
def test_list_is_newest_first_with_cursor_and_filters(api: httpx.Client) -> None:
    marker = api.post(
        "predictions", json={"version": HELLO_VERSION, "input": {"text": "m"}}
    ).json()
    made = [
        api.post(
            "predictions", json={"version": HELLO_VERSION, "input": {"text": str(i)}}
        ).json()["id"]
        for i in range(101)
    ]
    page = api.get("predictions", params={"created_after": marker["created_at"]}).json()
    assert [p["id"] for p in page["results"]] == made[::-1][:100]
    assert page["previous"] is None
    assert page["next"].startswith("http://127.0.0.1")
    rest = api.get(page["next"]).json()
    assert [p["id"] for p in rest["results"]] == [made[0]]
    assert rest["next"] is None
    before = api.get("predictions", params={"created_before": marker["created_at"]})
    assert marker["id"] not in [p["id"] for p in before.json()["results"]]
    _problem(api.get("predictions", params={"created_after": "yesterday"}), 400)
    _problem(api.get("predictions", params={"cursor": "%%%"}), 400)


# --------------------------------------------------------------------- sse
def _events(text: str) -> list[tuple[str, str, str]]:
    out = []
    for block in text.split("\n\n"):
        fields = dict.fromkeys(("id", "event"), "")
        data = []
        for line in block.split("\n"):
            key, _, value = line.partition(": ")
            if key == "data":
                data.append(value)
            elif key in fields:
                fields[key] = value
        if fields["event"]:
            out.append((fields["id"], fields["event"], "\n".join(data)))
    return out


def test_stream_in_replicate_format_and_resume(api: httpx.Client) -> None:
    created = api.post(
        "models/demo/text-stream/predictions",
        json={
            "input": {"prompt": "Alice was", "max_tokens": 12, "seed": 3, "delay": 0.05}
        },
    ).json()
    with api.stream(
        "GET", created["urls"]["stream"], headers={"Accept": "text/event-stream"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = response.read().decode()
    assert text.startswith(": hi\n\n")
    events = _events(text)
    outputs = [data for _, name, data in events if name == "output"]
    assert events[-1][1:] == ("done", "{}")
    assert any(name == "logs" for _, name, _ in events)
    final = wait_until(api, created["urls"]["get"])
    assert "".join(outputs) == "".join(final["output"])
    assert len(outputs) == 12
    resume_from = events[3][0]
    again = api.get(created["urls"]["stream"], headers={"Last-Event-ID": resume_from})
    assert _events(again.text) == events[4:]


# ---------------------------------------------------------------- webhooks
def test_webhooks_filter_signature_and_throttle(api: httpx.Client) -> None:
    secret = api.get("webhooks/default/secret").json()["key"]
    assert secret.startswith("whsec_")
    receiver = Receiver()
    try:
        body = {
            "input": {"prompt": "Alice", "max_tokens": 40, "delay": 0.03, "seed": 1},
            "webhook": receiver.url,
        }
        only = api.post(
            "models/demo/text-stream/predictions",
            json={**body, "webhook_events_filter": ["start", "completed"]},
        )
        wait_until(api, only.json()["urls"]["get"])
        everything = api.post("models/demo/text-stream/predictions", json=body).json()
        wait_until(api, everything["urls"]["get"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = [b for b in receiver.bodies() if b["status"] == "succeeded"]
            if len(done) == 2:
                break
            time.sleep(0.05)
        filtered = [b for b in receiver.bodies() if b["id"] == only.json()["id"]]
        assert [b["status"] for b in filtered] == ["processing", "succeeded"]
        full = [b for b in receiver.bodies() if b["id"] == everything["id"]]
        # 40 tokens and log lines, throttled to one webhook per 500 ms.
        assert 3 <= len(full) < 15
        assert full[-1]["status"] == "succeeded"
        assert len(full[-1]["output"]) == 40
        assert full[-1]["input"]["prompt"] == "Alice"
        official = WebhookSigningSecret(key=secret)
        for headers, raw in receiver.calls:
            assert verify(secret, headers, raw)
            # The official client's validator accepts them too (raises if not).
            Webhooks.validate(
                headers=headers, body=raw.decode(), secret=official, tolerance=300
            )
            assert headers["webhook-id"].startswith("msg_")
    finally:
        receiver.close()


def test_terminal_webhook_is_retried(api: httpx.Client) -> None:
    receiver = Receiver(fail_first=2)
    try:
        r = api.post(
            "predictions",
            json={
                "version": HELLO_VERSION,
                "input": {"text": "w"},
                "webhook": receiver.url,
                "webhook_events_filter": ["completed"],
            },
        )
        wait_until(api, r.json()["urls"]["get"])
        deadline = time.monotonic() + 30
        while len(receiver.calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(receiver.calls) == 3
        ids = {headers["webhook-id"] for headers, _ in receiver.calls}
        assert len(ids) == 1
    finally:
        receiver.close()


# ------------------------------------------------- files, secrets, outputs
def test_files_api_and_file_inputs(api: httpx.Client, server) -> None:
    up = api.post(
        "files",
        files={"content": ("doc.txt", b"FROM-FILE", "text/plain")},
        data={"metadata": json.dumps({"k": "v"})},
    )
    assert up.status_code == 201
    doc = up.json()
    assert doc["size"] == 9
    assert doc["content_type"] == "text/plain"
    assert doc["metadata"] == {"k": "v"}
    assert doc["checksums"]["sha256"]
    assert api.get(f"files/{doc['id']}").json()["id"] == doc["id"]
    assert doc["id"] in [f["id"] for f in api.get("files").json()["results"]]
    assert api.get(f"files/{doc['id']}/download").content == b"FROM-FILE"

    r = api.post(
        "models/test/kitchen/predictions",
        headers={"Prefer": "wait"},
        json={
            "input": {
                "text": "t",
                "api_key": "sk-secret",
                "document": doc["urls"]["get"],
                "count": 3,
            }
        },
    ).json()
    assert r["status"] == "succeeded", r
    assert r["input"]["api_key"] == "**********"
    assert "sk-secret" not in json.dumps(r)
    assert "secret length 9" in r["logs"]
    assert [api.get(u).text for u in r["output"]] == [
        f"{i}:t:FROM-FILE" for i in range(3)
    ]
    assert all(
        u.startswith(server.url.removesuffix("/v1") + "/outputs/") for u in r["output"]
    )
    stored = api.get(r["urls"]["get"]).json()
    assert stored["input"]["api_key"] == "**********"
    # The same file named through localhost works too.
    via_localhost = doc["urls"]["get"].replace("127.0.0.1", "localhost")
    r2 = api.post(
        "models/test/kitchen/predictions",
        headers={"Prefer": "wait"},
        json={"input": {"document": via_localhost, "count": 1}},
    ).json()
    assert api.get(r2["output"][0]).text == "0:hi:FROM-FILE"

    nulls = api.post(
        "models/test/kitchen/predictions",
        headers={"Prefer": "wait"},
        json={"input": {"document": None, "api_key": None}},
    ).json()
    assert nulls["status"] == "succeeded"
    assert nulls["input"]["document"] is None

    assert api.delete(f"files/{doc['id']}").status_code == 204
    _problem(api.get(f"files/{doc['id']}"), 404)
    gone = api.post(
        "models/test/kitchen/predictions",
        json={"input": {"document": doc["urls"]["get"]}},
    )
    _problem(gone, 422)


def test_upload_limit_is_413(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import replicate_widgets.server._storage.files_store as files_store

    monkeypatch.setattr(files_store, "MAX_FILE_SIZE", 1000)
    body = _problem(api.post("files", files={"content": ("big.bin", b"x" * 1001)}), 413)
    assert "100MB" in body["detail"]
    _problem(api.post("files", json={"content": "x"}), 415)
    _problem(api.post("files", files={"other": ("a", b"a")}), 422)


def test_declared_oversize_upload_is_refused_before_reading(server) -> None:
    import socket
    import urllib.parse

    url = urllib.parse.urlsplit(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/files HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 200000000\r\n\r\n--b\r\n"
        )
        head = sock.recv(65536).decode("latin-1")
    assert head.startswith("HTTP/1.1 413")
    assert "application/problem+json" in head


def test_data_uri_inputs_are_accepted(api: httpx.Client) -> None:
    data = "data:text/plain;base64," + base64.b64encode(b"INLINE").decode()
    r = api.post(
        "models/test/kitchen/predictions",
        headers={"Prefer": "wait"},
        json={"input": {"document": data, "count": 1}},
    ).json()
    assert api.get(r["output"][0]).text == "0:hi:INLINE"


# ------------------------------------------------------- the rest of the API
def test_models_versions_collections_and_more(api: httpx.Client) -> None:
    # One run of its own, so run_count is checked whatever ran before.
    api.post(
        "predictions",
        json={"version": HELLO_VERSION, "input": {"text": "count"}},
        headers={"Prefer": "wait"},
    )
    models = api.get("models").json()
    names = {f"{m['owner']}/{m['name']}" for m in models["results"]}
    assert {"replicate/hello-world", "demo/echo", "test/kitchen"} <= names
    hello = api.get("models/replicate/hello-world").json()
    assert hello["latest_version"]["id"] == HELLO_VERSION
    assert hello["default_example"]["input"] == {"text": "world"}
    assert hello["run_count"] >= 1
    found = api.request(
        "QUERY", "models", content="hello", headers={"Content-Type": "text/plain"}
    ).json()
    assert [m["name"] for m in found["results"]] == ["hello-world"]
    versions = api.get("models/replicate/hello-world/versions").json()
    assert [v["id"] for v in versions["results"]] == [HELLO_VERSION]
    assert api.get("hardware").json() == [{"name": "CPU", "sku": "cpu"}]
    assert api.get("account").json()["username"] == "local"
    collections = api.get("collections").json()
    assert collections["results"][0]["slug"] == "local-models"
    local = api.get("collections/local-models").json()
    assert {m["name"] for m in local["models"]} >= {"hello-world", "echo"}
    _problem(api.get("collections/nope"), 404)
    # The official Python client asks for /v1/v1/... when given the /v1 URL.
    assert api.get("v1/hardware").status_code == 200


def test_models_sort_and_name_rules_like_the_cloud(api: httpx.Client) -> None:
    for name in ("sort-first", "sort-second"):
        body = {"owner": "sorter", "name": name, "visibility": "private"}
        assert api.post("models", json={**body, "hardware": "cpu"}).status_code == 201

    def order(**params: str) -> list[str]:
        results = api.get("models", params=params).json()["results"]
        return [m["name"] for m in results if m["owner"] == "sorter"]

    assert order(sort_by="model_created_at", sort_direction="asc") == [
        "sort-first",
        "sort-second",
    ]
    assert order(sort_by="model_created_at") == ["sort-second", "sort-first"]
    # Models with a version sort by it; these have none, so their creation counts.
    assert order() == ["sort-second", "sort-first"]
    detail = _problem(api.get("models", params={"sort_by": "name"}), 400)["detail"]
    assert "model_created_at" in detail
    _problem(api.get("models", params={"sort_direction": "up"}), 400)
    for bad in ("trailing-", "_leading", "Upper", "has space"):
        body = {
            "owner": "sorter",
            "name": bad,
            "visibility": "public",
            "hardware": "cpu",
        }
        assert (
            "letter or digit" in _problem(api.post("models", json=body), 422)["detail"]
        )
    for name in ("sort-first", "sort-second"):
        assert api.delete(f"models/sorter/{name}").status_code == 204


def test_trainings_make_a_runnable_version(api: httpx.Client) -> None:
    api.post(
        "models",
        json={
            "owner": "alice",
            "name": "trained",
            "visibility": "private",
            "hardware": "cpu",
        },
    )
    stream_version = api.get("models/demo/text-stream").json()["latest_version"]["id"]
    url = f"models/demo/text-stream/versions/{stream_version}/trainings"
    text = "the cat sat on the mat and the cat ran " * 20
    created = api.post(
        url,
        json={
            "destination": "alice/trained",
            "input": {"training_text": text, "order": 1},
        },
    )
    assert created.status_code == 201, created.text
    training = created.json()
    assert training["urls"]["get"].endswith(f"/v1/trainings/{training['id']}")
    done = wait_until(api, training["urls"]["get"])
    assert done["status"] == "succeeded", done
    destination, _, new_version = done["output"]["version"].partition(":")
    assert destination == "alice/trained"
    assert done["destination"] == "alice/trained"
    model = api.get("models/alice/trained").json()
    assert model["latest_version"]["id"] == new_version
    assert (
        next(t["id"] for t in api.get("trainings").json()["results"]) == training["id"]
    )
    # Trainings and predictions are separate collections.
    _problem(api.get(f"predictions/{training['id']}"), 404)
    assert api.post(training["urls"]["cancel"]).json()["status"] == "succeeded"
    r = api.post(
        "predictions",
        headers={"Prefer": "wait"},
        json={
            "version": f"alice/trained:{new_version}",
            "input": {"prompt": "the", "max_tokens": 5, "delay": 0, "seed": 1},
        },
    ).json()
    assert r["status"] == "succeeded", r
    assert set("".join(r["output"]).split()) <= {
        "the",
        "cat",
        "sat",
        "on",
        "mat",
        "and",
        "ran",
    }

    _problem(api.post(url, json={"destination": "nobody/none", "input": {}}), 404)
    assert (
        api.post(url, json={"destination": "nobody/none", "input": {}}).json()["detail"]
        == "The specified training destination does not exist"
    )
    _problem(
        api.post(
            f"models/replicate/hello-world/versions/{HELLO_VERSION}/trainings",
            json={"destination": "alice/trained", "input": {}},
        ),
        422,
    )
    _problem(
        api.post(url, json={"destination": "alice/trained", "input": {"order": 9}}), 422
    )


def test_delete_version(api: httpx.Client) -> None:
    api.post(
        "models",
        json={
            "owner": "alice",
            "name": "scratch",
            "visibility": "public",
            "hardware": "cpu",
        },
    )
    assert api.delete("models/alice/scratch").status_code == 204
    _problem(api.get("models/alice/scratch"), 404)
    _problem(api.delete("models/demo/echo"), 409)


# ------------------------------------------------------ separate servers
def test_token_rate_limit_and_capability_urls(tmp_path: Path) -> None:
    with (
        serve(
            models=[BUNDLED / "hello-world"],
            bundled=False,
            data_dir=tmp_path,
            token="sekret",
            rate_limit=2,
        ) as server,
        httpx.Client(timeout=60) as http,
    ):
        base = server.url
        body = _problem(http.get(f"{base}/models"), 401)
        assert body["title"] == "Unauthenticated"
        assert "sekret" not in json.dumps(body)
        _problem(
            http.get(f"{base}/models", headers={"Authorization": "Bearer nope"}), 401
        )
        auth = {"Authorization": "Bearer sekret"}
        assert http.get(f"{base}/models", headers=auth).status_code == 200
        statuses = []
        for _ in range(10):
            r = http.post(
                f"{base}/predictions",
                headers=auth,
                json={"version": HELLO_VERSION, "input": {"text": "r"}},
            )
            statuses.append(r.status_code)
            if r.status_code == 429:
                limited = _problem(r, 429)
                assert int(r.headers["retry-after"]) >= 1
                assert limited["retry_after"] >= 1
            else:
                created = r.json()
        assert 201 in statuses
        assert 429 in statuses
        # The stream URL is a capability: no token needed.
        stream = http.get(created["urls"]["stream"])
        assert stream.status_code == 200
        assert "event: done" in stream.text
        up = http.post(
            f"{base}/files", headers=auth, files={"content": ("a.txt", b"A")}
        )
        file_url = up.json()["urls"]["get"]
        _problem(http.get(f"{file_url}/download"), 401)
        _problem(http.get(f"{file_url}/download?expiry=9999999999&signature=x"), 401)


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="without a token"):
        serve(host="0.0.0.0", bundled=False)
    with pytest.raises(ValueError, match="rate_limit"):
        serve(rate_limit=0, bundled=False)
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(ValueError, match="cannot keep data"):
        serve(bundled=False, data_dir=not_a_folder)


def test_restart_keeps_history_and_fails_interrupted(tmp_path: Path) -> None:
    models = [BUNDLED / "hello-world"]
    with (
        serve(models=models, bundled=False, data_dir=tmp_path) as first,
        httpx.Client(timeout=60) as http,
    ):
        done = http.post(
            f"{first.url}/predictions",
            headers={"Prefer": "wait"},
            json={"version": HELLO_VERSION, "input": {"text": "k"}},
        ).json()
    # Simulate a prediction that was running when a process died.
    store = Store(tmp_path / "replicate-widgets.sqlite3")
    stale = dict(
        done,
        id="stalestalestalestalestale1",
        status="processing",
        output=None,
        completed_at=None,
    )
    stale.pop("urls")
    store.put_prediction(stale)
    store.close()
    with (
        serve(models=models, bundled=False, data_dir=tmp_path) as second,
        httpx.Client(timeout=60) as http,
    ):
        kept = http.get(f"{second.url}/predictions/{done['id']}").json()
        assert kept["output"] == "hello k"
        assert kept["urls"]["get"].startswith(second.url)
        failed = http.get(f"{second.url}/predictions/{stale['id']}").json()
        assert failed["status"] == "failed"
        assert "stopped" in failed["error"]
        stream = http.get(failed["urls"]["stream"]).text
        assert "event: error" in stream
        assert '{"reason": "error"}' in stream


def test_serve_from_inside_a_running_event_loop(tmp_path: Path) -> None:
    # A notebook kernel calls serve() while its own asyncio loop is running.
    import asyncio

    async def kernel_cell() -> str:
        with serve(
            models=[BUNDLED / "hello-world"], bundled=False, data_dir=tmp_path
        ) as server:
            async with httpx.AsyncClient(timeout=60) as http:
                r = await http.post(
                    f"{server.url}/predictions",
                    headers={"Prefer": "wait"},
                    json={"version": HELLO_VERSION, "input": {"text": "kernel"}},
                )
                return str(r.json()["output"])

    assert asyncio.run(kernel_cell()) == "hello kernel"


# ------------------------------------------------------------ one body check
def test_every_endpoint_rejects_unknown_body_keys_alike(api: httpx.Client) -> None:
    """One check (``_problem.check_body``) answers for every body the server reads."""
    version = f"replicate/hello-world:{HELLO_VERSION}"
    requests = [
        ("post", "predictions", {"version": version, "input": {}}),
        ("post", "models/replicate/hello-world/predictions", {"input": {}}),
        ("post", "models", {"owner": "local", "name": "x", "visibility": "public"}),
        ("patch", "models/replicate/hello-world", {"description": "d"}),
        ("post", "deployments", {"name": "d", "model": "replicate/hello-world"}),
    ]
    for method, path, body in requests:
        detail = _problem(api.request(method, path, json={**body, "zz": 1}), 422)
        assert detail["detail"].startswith("Unknown field(s) zz; allowed: "), path
        allowed = detail["detail"].removeprefix("Unknown field(s) zz; allowed: ")
        names = allowed.rstrip(".").split(", ")
        assert names == sorted(names), path
        assert set(body) <= set(names), path
        detail = _problem(api.request(method, path, json=[body]), 400)
        assert detail["detail"].startswith("The request body must be a JSON object")
