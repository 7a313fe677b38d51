"""The client against the real local backend on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import os
import warnings
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from replicate_widgets._client.async_client import AsyncClient
from replicate_widgets._client.client import Client
from replicate_widgets._client.errors import (
    InvalidInputError,
    ModelError,
    NotFoundError,
    ReplicateError,
)

server_mod = pytest.importorskip("replicate_widgets.server")

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("backend")
    with server_mod.serve(port=0, data_dir=data_dir) as server:
        yield server.url


@pytest.fixture
def client(base_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    # The loopback backend needs no token: prove it by having none anywhere.
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    with Client(base_url=base_url, poll_interval=0.05) as c:
        yield c


def noisy_png(side: int) -> bytes:
    """A PNG too large for a data URL (random pixels do not compress)."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def test_models_and_versions(client: Client):
    refs = {m.ref for m in client.models.list()}
    assert "demo/echo" in refs
    model = client.models.get("demo/echo")
    assert model.latest is not None
    versions = list(client.versions.list("demo/echo"))
    assert model.latest.id in {v.id for v in versions}
    version = client.versions.get("demo/echo", model.latest.id)
    assert version.openapi_schema is not None
    with pytest.raises(NotFoundError):
        client.models.get("nobody/nothing")


def test_run_by_name_and_by_version(client: Client):
    assert client.run("demo/echo", {"text": "hi"}) == "hi"
    version = client.models.get("demo/echo").latest
    assert version is not None
    assert client.run(f"demo/echo:{version.id}", {"text": "v"}) == "v"


def test_failed_prediction_raises_model_error_with_logs(client: Client):
    with pytest.raises(ModelError) as info:
        client.run("demo/echo", {"fail": True})
    assert info.value.prediction.status == "failed"
    assert "failing on purpose" in info.value.logs


def test_invalid_input_is_rejected_by_the_server(client: Client):
    with pytest.raises(InvalidInputError):
        client.predictions.create("demo/echo", {"delay": 1000})


def test_create_then_wait_and_cancel(client: Client):
    p = client.predictions.create("demo/echo", {"text": "slow", "delay": 5})
    assert not p.is_terminal
    canceled = client.predictions.wait(client.predictions.cancel(p))
    assert canceled.status == "canceled"
    assert p.id in {q.id for q in client.predictions.list().results}


def test_stream_matches_final_output(client: Client):
    events = list(client.stream("demo/text-stream", {"max_tokens": 20, "delay": 0.01}))
    assert events[-1].event == "done"
    streamed = "".join(e.data for e in events if e.event == "output")
    final = client.predictions.list().results[0]
    assert final.status == "succeeded"
    assert streamed == "".join(final.output)


def test_large_file_input_is_uploaded_and_output_read_back(client: Client):
    data = noisy_png(400)
    assert len(data) > 256 * 1024
    out = client.run("demo/image-filter", {"image": data, "filter": "invert"})
    content = client.read(out)
    assert content.content_type == "image/png"
    with Image.open(io.BytesIO(content.data)) as image:
        assert image.size == (400, 400)
    assert any(f.size == len(data) for f in client.files.list())


def test_async_client_against_backend(base_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)

    async def main() -> tuple[str, list[str]]:
        async with AsyncClient(base_url=base_url, poll_interval=0.05) as client:
            out = await client.run("demo/echo", {"text": "async"})
            events = [
                e.event
                async for e in client.stream(
                    "demo/text-stream", {"max_tokens": 5, "delay": 0.01}
                )
            ]
            return out, events

    out, events = asyncio.run(main())
    assert out == "async"
    assert events[-1] == "done"
    assert "output" in events


# -- closing while a request is in flight ----------------------------------------
#
# A widget's worker thread may still be inside a request when the client is
# closed (History's thumbnails at the end of a test module, say): the connection
# it opens after the pool closed must be closed too, or its socket lasts until
# the garbage collector finds it (a ResourceWarning, once in some later test).


def _socket_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def test_a_request_in_flight_at_close_leaves_no_socket_open(base_url: str) -> None:
    def closed_midway() -> None:
        client = Client(base_url=base_url)
        # httpx runs request hooks after its own "closed?" check and before the
        # transport: where another thread's close() lands on a request in flight.
        client._http.event_hooks["request"].append(lambda _request: client.close())
        with contextlib.suppress(ReplicateError, httpx.HTTPError):
            client.hardware.list()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        closed_midway()
        gc.collect()
    assert _socket_warnings(caught) == []


def test_an_async_request_in_flight_at_close_leaves_no_socket_open(
    base_url: str,
) -> None:
    async def closed_midway() -> None:
        client = AsyncClient(base_url=base_url)

        async def close(_request: httpx.Request) -> None:
            await client.close()

        client._http.event_hooks["request"].append(close)
        with contextlib.suppress(ReplicateError, httpx.HTTPError):
            await client.hardware.list()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(closed_midway())
        gc.collect()
    assert _socket_warnings(caught) == []
