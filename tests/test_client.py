from __future__ import annotations

import json
import logging
import traceback

import httpx
import pytest
from _client_support import (
    API,
    FAST,
    TOKEN,
    Recorder,
    json_body,
    load,
    make,
)

import replicate_widgets._client.auth as _auth
from replicate_widgets._client.client import Client
from replicate_widgets._client.errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    InvalidInputError,
    MissingTokenError,
    ModelError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from replicate_widgets._client.retry import RetryPolicy
from replicate_widgets._client.types import Page, Prediction

pytestmark = pytest.mark.usefixtures("clean_client_env")

VERSION = "39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b"


# -- configuration and the token ------------------------------------------------------


def test_bearer_token_and_default_base_url():
    client, rec = make({"GET /account": [(200, {"type": "user", "username": "alice"})]})
    account = client.account.get()
    assert account.username == "alice"
    assert account.type == "user"
    assert rec.last.url == f"{API}/account"
    assert rec.last.headers["authorization"] == f"Bearer {TOKEN}"


def test_token_and_base_url_from_environment(monkeypatch):
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_fromenv")
    monkeypatch.setenv("REPLICATE_BASE_URL", "https://example.test/v1/")
    rec = Recorder({})
    client = Client(transport=httpx.MockTransport(rec), retry=FAST)
    assert client.base_url == "https://example.test/v1"
    with pytest.raises(NotFoundError):
        client.hardware.list()
    assert str(rec.last.url) == "https://example.test/v1/hardware"
    assert rec.last.headers["authorization"] == "Bearer r8_fromenv"


def test_token_from_login_is_used_and_read_at_request_time():
    client, rec = make({"GET /hardware": [(200, [])]}, api_token=None)
    _auth.set_token("r8_loggedin")
    client.hardware.list()
    assert rec.last.headers["authorization"] == "Bearer r8_loggedin"


def test_missing_token_fails_before_any_request():
    client, rec = make({"GET /account": [(200, {})]}, api_token=None)
    with pytest.raises(MissingTokenError) as info:
        client.account.get()
    assert isinstance(info.value, AuthenticationError)
    assert "REPLICATE_API_TOKEN" in str(info.value)
    assert "replicate_widgets.login()" in str(info.value)
    assert rec.requests == []


@pytest.mark.parametrize(
    "base",
    ["http://127.0.0.1:5000/v1", "http://localhost:5000/v1", "http://[::1]:5/v1"],
)
def test_local_backend_needs_no_token(base):
    rec = Recorder({f"{base}/hardware": lambda r: httpx.Response(200, json=[])})
    rec.routes = {f"GET {base}/hardware": [(200, [{"name": "CPU", "sku": "cpu"}])]}
    client = Client(base_url=base, transport=httpx.MockTransport(rec))
    assert client.is_local
    assert [h.sku for h in client.hardware.list()] == ["cpu"]
    assert "authorization" not in rec.last.headers


def test_bad_base_url_and_token_are_explained():
    with pytest.raises(ValueError, match="not an http"):
        Client(base_url="api.replicate.com/v1")
    with pytest.raises(ValueError, match="spaces or line breaks"):
        Client(api_token="r8_abc\n")
    with pytest.raises(TypeError, match="api_token must be a string"):
        Client(api_token=123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="timeout"):
        Client(timeout="10")  # type: ignore[arg-type]


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError):
        Client(token=TOKEN)  # type: ignore[call-arg]
    client, rec = make({})
    with pytest.raises(TypeError):
        client.predictions.create("a/b", {}, wiat=True)  # type: ignore[call-arg]
    assert rec.requests == []


def test_token_never_in_repr_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    client, _ = make(
        {
            "GET /account": [(401, load("error-401-unauthenticated"))],
            "GET /hardware": [httpx.ConnectError("refused")],
        }
    )
    texts = [repr(client), repr(client._config), str(vars(client._config))]
    for call in (client.account.get, client.hardware.list):
        with pytest.raises((AuthenticationError, APIConnectionError)) as info:
            call()
        texts.append(str(info.value))
        texts.append("".join(traceback.format_exception(info.value)))
    texts.append(caplog.text)
    for text in texts:
        assert TOKEN not in text


# -- endpoints ------------------------------------------------------------------------


def test_collections_list_and_get():
    page_body = load("paginated-collections-list")
    detail = dict(page_body["results"][0], models=[load("model")])
    slug = detail["slug"]
    client, _rec = make(
        {
            "GET /collections": [(200, page_body)],
            f"GET /collections/{slug}": [(200, detail)],
        }
    )
    page = client.collections.list()
    assert isinstance(page, Page)
    assert page.next is None
    assert len(page.results) == len(page_body["results"])
    coll = client.collections.get(slug)
    assert coll.model_list[0].ref == "stability-ai/sdxl"


def test_models_endpoints_shapes():
    model = load("model")
    version = load("version")
    vid = version["id"]
    client, rec = make(
        {
            "GET /models": [
                (200, {"next": None, "previous": None, "results": [model]})
            ],
            "QUERY /models": [
                (200, {"next": None, "previous": None, "results": [model]})
            ],
            "POST /models": [(201, model)],
            "GET /models/stability-ai/sdxl": [(200, model)],
            "DELETE /models/stability-ai/sdxl": [httpx.Response(204)],
            "GET /models/stability-ai/sdxl/readme": [
                httpx.Response(
                    200, text="# SDXL\n", headers={"content-type": "text/plain"}
                )
            ],
            "GET /models/stability-ai/sdxl/examples": [
                (
                    200,
                    {
                        "next": None,
                        "previous": None,
                        "results": [load("prediction-succeeded")],
                    },
                )
            ],
            "GET /models/stability-ai/sdxl/versions": [
                (200, {"next": None, "previous": None, "results": [version]})
            ],
            f"GET /models/stability-ai/sdxl/versions/{vid}": [(200, version)],
            f"DELETE /models/stability-ai/sdxl/versions/{vid}": [httpx.Response(202)],
        }
    )
    page = client.models.list(
        sort_by="latest_version_created_at", sort_direction="desc"
    )
    assert page.results[0].ref == "stability-ai/sdxl"
    assert rec.last.url.params["sort_by"] == "latest_version_created_at"
    assert rec.last.url.params["sort_direction"] == "desc"
    client.models.search("upscaler")
    assert rec.last.method == "QUERY"
    assert rec.last.content == b"upscaler"
    assert rec.last.headers["content-type"] == "text/plain"
    client.models.create(
        "alice", "hotdog", visibility="private", hardware="cpu", description="Hot dogs"
    )
    assert json_body(rec.last) == {
        "owner": "alice",
        "name": "hotdog",
        "visibility": "private",
        "hardware": "cpu",
        "description": "Hot dogs",
    }
    assert client.models.get("stability-ai/sdxl").latest is not None
    assert client.models.delete("stability-ai/sdxl") is None
    assert client.models.readme("stability-ai/sdxl") == "# SDXL\n"
    assert client.models.examples("stability-ai/sdxl").results[0].status == "succeeded"
    assert client.versions.list("stability-ai/sdxl").results[0].id == vid
    assert client.versions.get("stability-ai/sdxl", vid).openapi_schema
    assert client.versions.delete("stability-ai/sdxl", vid) is None
    assert rec.last.method == "DELETE"


def test_account_hardware_webhook_secret():
    client, _rec = make(
        {
            "GET /hardware": [(200, [{"name": "Nvidia T4 GPU", "sku": "gpu-t4"}])],
            "GET /webhooks/default/secret": [(200, {"key": "whsec_abc"})],
        }
    )
    assert client.hardware.list()[0].sku == "gpu-t4"
    assert client.webhooks.default_secret().key == "whsec_abc"


@pytest.mark.parametrize(
    ("bad", "exc", "match"),
    [
        ("sdxl", ValueError, "owner/name"),
        ("stability-ai/sdxl:", ValueError, "not a valid model reference"),
        ("a/b/c", ValueError, "not a valid model reference"),
        ("", ValueError, "not a valid model reference"),
        (42, TypeError, "must be a string"),
    ],
)
def test_malformed_refs_fail_before_any_request(bad, exc, match):
    client, rec = make({})
    with pytest.raises(exc, match=match):
        client.predictions.create(bad, {"prompt": "x"})
    assert rec.requests == []


def test_model_get_rejects_versioned_ref():
    client, rec = make({})
    with pytest.raises(ValueError, match="Drop the ':version' part"):
        client.models.get(f"stability-ai/sdxl:{VERSION}")
    assert rec.requests == []


@pytest.mark.parametrize(
    ("ref", "path", "version"),
    [
        (f"stability-ai/sdxl:{VERSION}", "/predictions", VERSION),
        (VERSION, "/predictions", VERSION),
        (
            "meta/meta-llama-3-8b-instruct",
            "/models/meta/meta-llama-3-8b-instruct/predictions",
            None,
        ),
    ],
)
def test_prediction_create_routes_by_reference(ref, path, version):
    client, rec = make(
        {
            "POST /predictions": [(201, load("prediction-starting"))],
            f"POST {path}": [(201, load("prediction-starting"))],
        }
    )
    p = client.predictions.create(ref, {"prompt": "a corgi"})
    assert p.status == "starting"
    assert rec.last.url.path == "/v1" + path
    body = json_body(rec.last)
    assert body.get("version") == version
    assert body["input"] == {"prompt": "a corgi"}
    assert "prefer" not in rec.last.headers


def test_deployment_prediction():
    client, rec = make(
        {
            "POST /deployments/acme/prod/predictions": [
                (201, load("prediction-starting"))
            ]
        }
    )
    client.deployments.predictions.create("acme/prod", {"x": 1})
    assert json_body(rec.last) == {"input": {"x": 1}}
    client.predictions.create(deployment="acme/prod", input={"x": 2})
    assert json_body(rec.last) == {"input": {"x": 2}}
    with pytest.raises(TypeError, match="not both"):
        client.predictions.create("a/b", {}, deployment="acme/prod")


def test_prefer_wait_cancel_after_webhook_headers_and_read_timeout():
    client, rec = make(
        {
            "POST /models/meta/meta-llama-3-8b-instruct/predictions": [
                (201, load("prediction-processing-streamed-tokens"))
            ]
        }
    )
    client.predictions.create(
        "meta/meta-llama-3-8b-instruct",
        {"prompt": "haiku"},
        wait=5,
        cancel_after="1h30m",
        webhook="https://example.com/hook",
        webhook_events_filter=["start", "completed"],
    )
    req = rec.last
    assert req.headers["prefer"] == "wait=5"
    assert req.headers["cancel-after"] == "1h30m"
    assert json_body(req) == {
        "input": {"prompt": "haiku"},
        "webhook": "https://example.com/hook",
        "webhook_events_filter": ["start", "completed"],
    }
    assert req.extensions["timeout"]["read"] > 5
    client.predictions.create(
        "meta/meta-llama-3-8b-instruct", {}, wait=True, cancel_after=90
    )
    assert rec.last.headers["prefer"] == "wait"
    assert rec.last.headers["cancel-after"] == "90s"
    assert rec.last.extensions["timeout"]["read"] > 60


@pytest.mark.parametrize(
    "kwargs",
    [
        {"wait": 61},
        {"wait": 0},
        {"wait": "5"},
        {"cancel_after": 2},
        {"cancel_after": "5 minutes"},
        {"webhook_events_filter": ["completed"]},
        {"webhook": "https://x.test", "webhook_events_filter": ["finished"]},
        {"webhook": "ftp://x.test"},
    ],
)
def test_bad_create_options_fail_before_any_request(kwargs):
    client, rec = make({})
    with pytest.raises((ValueError, TypeError)):
        client.predictions.create("a/b", {"x": 1}, **kwargs)
    assert rec.requests == []


def test_non_json_input_is_a_clear_type_error():
    client, rec = make({})
    with pytest.raises(TypeError, match=r"input\['tags'\] cannot be sent as JSON"):
        client.predictions.create("a/b", {"tags": {"x", "y"}})
    with pytest.raises(TypeError, match="input must be a dict"):
        client.predictions.create("a/b", ["x"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cannot be sent as JSON"):
        client.predictions.create("a/b", {"n": float("nan")})
    assert rec.requests == []


def test_predictions_get_cancel_list_filters():
    pid = "hdwst0bb05rgp0cf0p29mzk2am"
    client, rec = make(
        {
            f"GET /predictions/{pid}": [(200, load("prediction-processing"))],
            f"POST /predictions/{pid}/cancel": [(200, load("prediction-canceled"))],
            "GET /predictions": [
                (200, {"next": None, "previous": None, "results": []})
            ],
        }
    )
    assert client.predictions.get(pid).status == "processing"
    canceled = client.predictions.cancel(pid)
    assert canceled.status == "canceled"
    assert canceled.output is None
    client.predictions.list(
        created_after="2025-01-01T00:00:00Z", created_before="2025-02-01", source="web"
    )
    assert dict(rec.last.url.params) == {
        "created_after": "2025-01-01T00:00:00Z",
        "created_before": "2025-02-01",
        "source": "web",
    }
    with pytest.raises(ValueError, match="source"):
        client.predictions.list(source="cli")
    with pytest.raises(ValueError, match="prediction id"):
        client.predictions.get("../account")


def test_pagination_follows_next_cursor_lazily():
    first = load("prediction-succeeded")
    second = dict(first, id="second")
    third = dict(first, id="third")
    page2 = f"{API}/predictions?cursor=abc"
    page3 = f"{API}/predictions?cursor=def"

    def listing(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        if cursor is None:
            return httpx.Response(
                200, json={"next": page2, "previous": None, "results": [first]}
            )
        if cursor == "abc":
            return httpx.Response(
                200, json={"next": page3, "previous": None, "results": [second]}
            )
        return httpx.Response(
            200, json={"next": None, "previous": page2, "results": [third]}
        )

    client, rec = make({"GET /predictions": listing})
    page = client.predictions.list()
    assert len(rec.requests) == 1
    assert page.has_next()
    it = iter(page)
    assert next(it).id == first["id"]
    assert len(rec.requests) == 1
    assert [p.id for p in it] == ["second", "third"]
    assert [str(r.url) for r in rec.requests[1:]] == [page2, page3]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in rec.requests)
    nxt = page.next_page()
    assert nxt is not None
    assert nxt.results[0].id == "second"


def test_trainings_endpoints():
    training = dict(load("prediction-starting"), id="t1", destination="alice/mine")
    client, rec = make(
        {
            f"POST /models/stability-ai/sdxl/versions/{VERSION}/trainings": [
                (201, training)
            ],
            "GET /trainings/t1": [(200, dict(training, status="succeeded"))],
            "POST /trainings/t1/cancel": [(200, dict(training, status="canceled"))],
            "GET /trainings": [
                (200, {"next": None, "previous": None, "results": [training]})
            ],
        }
    )
    t = client.trainings.create(
        f"stability-ai/sdxl:{VERSION}", destination="alice/mine", input={"steps": 10}
    )
    assert t.destination == "alice/mine"
    assert json_body(rec.last) == {"destination": "alice/mine", "input": {"steps": 10}}
    assert client.trainings.get("t1").status == "succeeded"
    assert client.trainings.cancel(t).status == "canceled"
    assert client.trainings.list().results[0].id == "t1"
    with pytest.raises(ValueError, match="owner/name:version_id"):
        client.trainings.create("stability-ai/sdxl", destination="a/b", input={})


def test_real_404_training_destination_error():
    client, _ = make(
        {
            f"POST /models/stability-ai/sdxl/versions/{VERSION}/trainings": [
                (404, load("error-404-invalid-training-destination"))
            ]
        }
    )
    with pytest.raises(NotFoundError, match="training destination does not exist"):
        client.trainings.create(
            f"stability-ai/sdxl:{VERSION}", destination="nobody/nothing", input={}
        )


# -- retries ---------------------------------------------------------------------------


def test_429_on_create_is_retried_honouring_retry_after():
    throttled = httpx.Response(
        429,
        json={"detail": "Request was throttled.", "status": 429, "retry_after": 0},
        headers={"Retry-After": "0"},
    )
    client, rec = make(
        {
            "POST /predictions": [
                throttled,
                throttled,
                (201, load("prediction-starting")),
            ]
        }
    )
    p = client.predictions.create(VERSION, {"prompt": "x"})
    assert p.id == "vgcm4plb7tgzlyznry5d5jkgvu"
    assert len(rec.requests) == 3


def test_429_gives_up_after_max_retries_with_retry_after():
    throttled = httpx.Response(429, json={"detail": "slow down", "retry_after": 0})
    client, rec = make(
        {"POST /predictions": [throttled]},
        retry=RetryPolicy(max_retries=2, backoff_max=0),
    )
    with pytest.raises(RateLimitError) as info:
        client.predictions.create(VERSION, {})
    assert info.value.retry_after == 0
    assert len(rec.requests) == 3


def test_503_retried_on_get_but_not_on_post():
    unavailable = (503, {"detail": "Service Unavailable"})
    client, rec = make(
        {
            "GET /predictions/abc": [unavailable, (200, load("prediction-succeeded"))],
            "POST /predictions": [unavailable, (201, load("prediction-starting"))],
        }
    )
    assert client.predictions.get("abc").status == "succeeded"
    assert len(rec.requests) == 2
    with pytest.raises(ServerError):
        client.predictions.create(VERSION, {})
    assert len(rec.requests) == 3


def test_connection_errors_retried_on_get_then_reported():
    client, rec = make({"GET /account": [httpx.ReadError("reset by peer")]})
    with pytest.raises(APIConnectionError, match=r"reach api\.replicate\.com"):
        client.account.get()
    assert len(rec.requests) == 4


def test_timeout_on_post_is_not_retried():
    client, rec = make({"POST /predictions": [httpx.ReadTimeout("slow")]})
    with pytest.raises(APITimeoutError, match="did not answer in time"):
        client.predictions.create(VERSION, {})
    assert len(rec.requests) == 1


def test_real_401_on_create():
    client, _ = make({"POST /predictions": [(401, load("error-401-unauthenticated"))]})
    with pytest.raises(AuthenticationError, match="valid authentication token"):
        client.predictions.create(VERSION, {})


def test_422_problem_json_from_create():
    problem = httpx.Response(
        422,
        content=json.dumps(
            {
                "title": "Input validation failed",
                "status": 422,
                "detail": "prompt is required",
            }
        ).encode(),
        headers={"content-type": "application/problem+json"},
    )
    client, _ = make({"POST /predictions": [problem]})
    with pytest.raises(InvalidInputError, match="prompt is required"):
        client.predictions.create(VERSION, {})


def test_non_json_success_body_is_explained():
    client, _ = make({"GET /account": [httpx.Response(200, text="<html>proxy</html>")]})
    with pytest.raises(
        Exception, match="base_url points at a Replicate-compatible API"
    ):
        client.account.get()


# -- waiting and run ----------------------------------------------------------------


def _sequence(pid: str, *statuses: str, **last: object) -> list[tuple[int, dict]]:
    out = []
    for status in statuses:
        body = load("prediction-processing")
        body["status"] = status
        body["id"] = pid
        out.append((200, body))
    out[-1][1].update(last)
    return out


def test_wait_stops_on_aborted():
    pid = load("prediction-processing")["id"]
    client, rec = make(
        {f"GET /predictions/{pid}": _sequence(pid, "starting", "processing", "aborted")}
    )
    p = client.predictions.wait(pid)
    assert p.status == "aborted"
    assert len(rec.requests) == 3


def test_run_polls_until_terminal_after_incomplete_sync_response():
    start = load("prediction-starting")
    pid = start["id"]
    client, rec = make(
        {
            "POST /predictions": [(201, dict(start, status="processing"))],
            f"GET /predictions/{pid}": _sequence(
                pid,
                "processing",
                "succeeded",
                output=["https://replicate.delivery/x.png"],
            ),
        }
    )
    out = client.run(f"stability-ai/sdxl:{VERSION}", {"prompt": "corgi"})
    assert out == ["https://replicate.delivery/x.png"]
    assert rec.requests[0].headers["prefer"] == "wait"


def test_run_returns_at_once_when_sync_mode_finished():
    client, rec = make({"POST /predictions": [(201, load("prediction-succeeded"))]})
    out = client.run(VERSION, {"prompt": "x"}, wait=10)
    assert out == load("prediction-succeeded")["output"]
    assert len(rec.requests) == 1


@pytest.mark.parametrize("status", ["failed", "canceled", "aborted"])
def test_run_raises_model_error_with_logs(status):
    start = load("prediction-starting")
    client, _ = make(
        {
            "POST /predictions": [(201, start)],
            f"GET /predictions/{start['id']}": _sequence(
                start["id"], status, error="boom", logs="loading\nboom\n"
            ),
        }
    )
    with pytest.raises(
        ModelError, match=status if status != "failed" else "failed: boom"
    ) as info:
        client.run(VERSION, {})
    assert info.value.prediction.status == status
    assert info.value.logs == "loading\nboom\n"


def test_context_manager_closes():
    client, _ = make({})
    with client as c:
        assert c is client
    assert client._http.is_closed


def test_prediction_objects_can_be_passed_back():
    body = load("prediction-processing")
    client, _rec = make({f"GET /predictions/{body['id']}": [(200, body)]})
    p = Prediction.from_json(body)
    assert client.predictions.get(p).id == p.id


def test_base_url_without_v1_gets_a_hint_on_404():
    rec = Recorder({})
    transport = httpx.MockTransport(rec)
    client = Client(base_url="http://127.0.0.1:8000", transport=transport)
    with pytest.raises(NotFoundError, match="does not end in /v1"):
        client.hardware.list()


@pytest.mark.parametrize(
    "kwargs",
    [{"poll_interval": 0}, {"poll_interval": "1"}, {"max_retries": 2.5}],
)
def test_bad_client_options(kwargs):
    with pytest.raises((TypeError, ValueError)):
        Client(api_token=TOKEN, **kwargs)


def test_sync_page_refuses_async_iteration_and_vice_versa():
    import asyncio

    from replicate_widgets._client.async_client import AsyncClient

    body = {"next": f"{API}/predictions?cursor=2", "previous": None, "results": []}
    rec = Recorder({"GET /predictions": [(200, body)]})
    sync_client = Client(api_token=TOKEN, transport=httpx.MockTransport(rec))
    page = sync_client.predictions.list()

    async def consume_sync_page() -> None:
        async for _ in page:
            pass

    with pytest.raises(TypeError, match="sync Client"):
        asyncio.run(consume_sync_page())

    async def get_async_page() -> Page[Prediction]:
        async with AsyncClient(
            api_token=TOKEN, transport=httpx.MockTransport(rec)
        ) as client:
            return await client.predictions.list()

    async_page = asyncio.run(get_async_page())
    with pytest.raises(TypeError, match="async for"):
        list(async_page)
