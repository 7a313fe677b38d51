from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from _client_support import (
    API,
    FAST,
    TOKEN,
    Recorder,
    json_body,
    load,
)

from replicate_widgets._client.async_client import AsyncClient
from replicate_widgets._client.errors import (
    APIConnectionError,
    MissingTokenError,
    ModelError,
    RateLimitError,
    ServerError,
)

pytestmark = pytest.mark.usefixtures("clean_client_env")

VERSION = "39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b"


def run(
    routes: dict[str, Any],
    body: Callable[[AsyncClient, Recorder], Awaitable[Any]],
    **kwargs: Any,
) -> Any:
    rec = Recorder(routes)
    kwargs.setdefault("api_token", TOKEN)

    async def main() -> Any:
        async with AsyncClient(
            transport=httpx.MockTransport(rec),
            retry=FAST,
            poll_interval=0.001,
            **kwargs,
        ) as client:
            return await body(client, rec)

    return asyncio.run(main())


def test_same_surface_as_sync_client():
    from replicate_widgets._client.client import Client

    def public(obj: object) -> set[str]:
        return {n for n in dir(obj) if not n.startswith("_")}

    sync = Client(api_token=TOKEN)
    asyn = AsyncClient(api_token=TOKEN)
    assert public(sync) - {"close"} == public(asyn) - {"close"}
    for name in (
        "account",
        "collections",
        "deployments",
        "files",
        "hardware",
        "models",
        "predictions",
        "trainings",
        "versions",
        "webhooks",
    ):
        assert public(getattr(sync, name)) == public(getattr(asyn, name)), name
    sync.close()
    asyncio.run(asyn.close())


def test_create_get_and_headers():
    async def body(client: AsyncClient, rec: Recorder) -> None:
        p = await client.predictions.create(
            f"stability-ai/sdxl:{VERSION}", {"prompt": "x"}, wait=3, cancel_after="5m"
        )
        assert p.status == "starting"
        req = rec.last
        assert req.headers["authorization"] == f"Bearer {TOKEN}"
        assert req.headers["prefer"] == "wait=3"
        assert req.headers["cancel-after"] == "5m"
        assert json_body(req) == {"version": VERSION, "input": {"prompt": "x"}}
        model = await client.models.get("stability-ai/sdxl")
        assert model.latest is not None

    run(
        {
            "POST /predictions": [(201, load("prediction-starting"))],
            "GET /models/stability-ai/sdxl": [(200, load("model"))],
        },
        body,
    )


def test_async_pagination():
    first = load("prediction-succeeded")
    page2 = f"{API}/predictions?cursor=2"

    def listing(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "2":
            return httpx.Response(
                200,
                json={"next": None, "previous": None, "results": [dict(first, id="b")]},
            )
        return httpx.Response(
            200, json={"next": page2, "previous": None, "results": [first]}
        )

    async def body(client: AsyncClient, rec: Recorder) -> list[str]:
        page = await client.predictions.list()
        ids = [p.id async for p in page]
        nxt = await page.anext_page()
        assert nxt is not None
        assert nxt.next is None
        return ids

    assert run({"GET /predictions": listing}, body) == [first["id"], "b"]


def test_async_retries_429_on_post_and_503_on_get_only():
    throttled = httpx.Response(429, json={"detail": "slow", "retry_after": 0})

    async def body(client: AsyncClient, rec: Recorder) -> None:
        await client.predictions.create(VERSION, {})
        assert len(rec.requests) == 2
        assert (await client.predictions.get("abc")).status == "succeeded"
        assert len(rec.requests) == 4
        with pytest.raises(ServerError):
            await client.predictions.cancel("abc")
        assert len(rec.requests) == 5

    run(
        {
            "POST /predictions": [throttled, (201, load("prediction-starting"))],
            "GET /predictions/abc": [(503, {}), (200, load("prediction-succeeded"))],
            "POST /predictions/abc/cancel": [(503, {})],
        },
        body,
    )


def test_async_rate_limit_exhausted_and_connection_error():
    async def body(client: AsyncClient, rec: Recorder) -> None:
        with pytest.raises(RateLimitError):
            await client.predictions.create(VERSION, {})
        with pytest.raises(APIConnectionError):
            await client.account.get()

    run(
        {
            "POST /predictions": [httpx.Response(429, json={"retry_after": 0})],
            "GET /account": [httpx.ConnectError("refused")],
        },
        body,
    )


def test_async_missing_token_before_request():
    async def body(client: AsyncClient, rec: Recorder) -> None:
        with pytest.raises(MissingTokenError):
            await client.account.get()
        assert rec.requests == []

    run({}, body, api_token=None)


def test_async_wait_and_run_stop_on_aborted():
    start = load("prediction-starting")
    pid = start["id"]

    async def body(client: AsyncClient, rec: Recorder) -> None:
        waited = await client.predictions.wait(pid)
        assert waited.status == "aborted"
        with pytest.raises(ModelError, match="aborted"):
            await client.run(VERSION, {})

    run(
        {
            "POST /predictions": [(201, start)],
            f"GET /predictions/{pid}": [
                (200, dict(start, status="starting")),
                (200, dict(start, status="aborted")),
            ],
        },
        body,
    )


def test_async_stream_creates_and_polls_without_stream_url():
    start = load("prediction-starting")
    pid = start["id"]

    async def body(client: AsyncClient, rec: Recorder) -> list[tuple[str, str]]:
        return [(e.event, e.data) async for e in client.stream(VERSION, {"p": 1})]

    events = run(
        {
            "POST /predictions": [(201, start)],
            f"GET /predictions/{pid}": [
                (200, dict(start, status="succeeded", output="done!", logs="hi\n"))
            ],
        },
        body,
    )
    assert events == [("logs", "hi"), ("output", "done!"), ("done", "{}")]
