"""Security limits of the client: where the token goes, log bookkeeping, body sizes.

Real servers on 127.0.0.1 throughout: a small capture server that records request
headers and serves lazily generated bodies of any size, and the local backend running
a model whose logs redraw a progress bar. Host names such as ``replicate.delivery``
are pointed at the capture server by a transport that rewrites the address, as a
hosts-file entry would; the headers the client chose are what the server receives.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from replicate_widgets._client.async_client import AsyncClient
from replicate_widgets._client.client import Client
from replicate_widgets._client.errors import OutputTooLargeError
from replicate_widgets._client.http import ClientConfig
from replicate_widgets._client.streaming import StreamTracker
from replicate_widgets._client.types import Prediction, StreamEvent
from replicate_widgets._widgets.keep import Keeper

TOKEN = "r8_TESTtokenVALUEthatMustNeverLeak0123"
MB = 1024 * 1024
ZEROS = bytes(MB)
T = TypeVar("T")


# -- a capture server on 127.0.0.1 ---------------------------------------------------


class Capture:
    """Records every request's headers; ``/zeros/<n>`` streams n zero bytes.

    ``/redirect/<n>`` redirects to ``/ok`` (or ``?to=``) with n zero bytes as its
    own body.

    The body is generated as it is sent, so its size costs the test nothing;
    ``?length=0`` leaves out ``Content-Length`` (the body ends when the connection
    closes), so only counting can tell how much arrived.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                owner.requests.append((parts.path, headers))
                if parts.path.startswith("/redirect/"):
                    # A redirect whose own body is huge: nobody needs to read it.
                    size = int(parts.path.rsplit("/", 1)[1])
                    self.send_response(302)
                    self.send_header(
                        "Location", parse_qs(parts.query).get("to", ["/ok"])[0]
                    )
                    self.end_headers()
                elif parts.path.startswith("/zeros/"):
                    size = int(parts.path.rsplit("/", 1)[1])
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    if parse_qs(parts.query).get("length") != ["0"]:
                        self.send_header("Content-Length", str(size))
                    self.end_headers()
                else:
                    self._small()
                    return
                view = memoryview(ZEROS)
                try:
                    while size > 0:
                        self.wfile.write(view[: min(size, MB)])
                        size -= MB
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: what the limit is for

            def _small(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def last_headers(self) -> dict[str, str]:
        return self.requests[-1][1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def capture() -> Iterator[Capture]:
    server = Capture()
    yield server
    server.close()


class Resolve(httpx.HTTPTransport):
    """The real network, with ``hosts`` resolving to the capture server."""

    def __init__(self, hosts: set[str], port: int) -> None:
        super().__init__()
        self.hosts = hosts
        self.port = port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in self.hosts:
            request.url = request.url.copy_with(host="127.0.0.1", port=self.port)
        return super().handle_request(request)


def peak_bytes(fn: Callable[[], T]) -> tuple[T | BaseException, int]:
    """Run ``fn``; return its result (or the exception it raised) and the peak of
    Python memory allocated meanwhile."""
    tracemalloc.start()
    try:
        try:
            result: T | BaseException = fn()
        except Exception as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- defect 7: the token over plain HTTP ---------------------------------------------


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("https://api.replicate.com/v1/predictions", True),
        ("https://replicate.delivery/pbxt/a.png", True),
        ("https://streaming-api.svc.us.c.replicate.net/v1/streams/x", True),
        # Plain HTTP to a Replicate host: anyone on the path could read the token.
        ("http://replicate.delivery/pbxt/a.png", False),
        ("http://xezq.replicate.delivery/a.png", False),
        ("http://streaming-api.svc.us.c.replicate.net/v1/streams/x", False),
        ("http://replicate.com/x", False),
        # The API's own host and port, downgraded to http, is another origin.
        ("http://api.replicate.com/v1/files/x", False),
        ("http://api.replicate.com:443/v1/files/x", False),
    ],
)
def test_token_goes_to_replicate_hosts_over_https_only(url: str, sent: bool):
    cfg = ClientConfig(TOKEN, None, 30.0, 0, None)
    assert bool(cfg.auth_headers(url)) is sent


def test_token_goes_to_the_configured_origin_whatever_its_scheme():
    cfg = ClientConfig(TOKEN, "http://127.0.0.1:5000/v1", 30.0, 0, None)
    assert cfg.auth_headers("http://127.0.0.1:5000/v1/files/a")
    assert cfg.auth_headers("http://127.0.0.1:5000/other")
    assert cfg.auth_headers("https://127.0.0.1:5000/v1/files/a") == {}
    assert cfg.auth_headers("http://127.0.0.1:5001/v1/files/a") == {}


@pytest.mark.parametrize(
    "url",
    [
        "http://replicate.delivery/pbxt/abc/out.txt",
        "http://api.replicate.com/v1/files/abc/content",
    ],
)
def test_reading_an_http_output_url_sends_no_token(capture: Capture, url: str):
    transport = Resolve({"replicate.delivery", "api.replicate.com"}, capture.port)
    with Client(api_token=TOKEN, transport=transport) as client:
        assert client.read(url).data == b"ok"
    path, headers = capture.requests[-1]
    assert path == urlsplit(url).path
    assert headers["host"] == urlsplit(url).netloc  # it was addressed as that host
    assert "authorization" not in headers


def test_local_backend_over_http_still_gets_the_token(capture: Capture):
    with Client(api_token=TOKEN, base_url=f"{capture.url}/v1") as client:
        client.read(f"{capture.url}/v1/files/abc")
    assert capture.last_headers()["authorization"] == f"Bearer {TOKEN}"


# -- defect 8: logs lost after falling back to polling --------------------------------


def logs_of(events: list[StreamEvent]) -> list[str]:
    return [e.data for e in events if e.event == "logs"]


def prediction(status: str, logs: str) -> Prediction:
    return Prediction.from_json(
        {"id": "p1", "status": status, "logs": logs, "output": None, "urls": {}}
    )


def test_tracker_follows_the_log_text_not_a_count_of_events():
    t = StreamTracker()
    # Over SSE: a partial write and its rest, each an event, one line in the logs.
    t.accept("logs", "loading", "1")
    t.accept("logs", " done", "2")
    polls = [
        "loading done\n\r  0/3 |   |",
        "loading done\n\r  0/3 |   |\r  1/3 |#  |",
        "loading done\n\r  0/3 |   |\r  1/3 |#  |\r  2/3 |## |\r  3/3 |###|\npartial",
    ]
    events = [e for logs in polls for e in t.catch_up(prediction("processing", logs))]
    final = polls[-1] + " line\nlast, without newline"
    events += t.catch_up(prediction("succeeded", final))
    assert logs_of(events) == [
        "\r  0/3 |   |",
        "\r  1/3 |#  |",
        "\r  2/3 |## |\r  3/3 |###|",
        "partial",
        " line",
        "last, without newline",
    ]
    assert events[-1].event == "done"


def test_tracker_keeps_blank_lines_and_resumes_after_a_line_it_already_sent():
    t = StreamTracker()
    t.accept("logs", "one", "1")
    events = t.catch_up(prediction("processing", "one\n"))
    events += t.catch_up(prediction("processing", "one\n\ntwo\n"))
    events += t.catch_up(prediction("succeeded", "one\n\ntwo\n"))
    assert logs_of(events) == ["", "two"]
    # A blank line that came over the stream is not sent again.
    t = StreamTracker()
    for n, piece in enumerate(["one", "", "two"]):
        t.accept("logs", piece, str(n))
    events = t.catch_up(prediction("succeeded", "one\n\ntwo\nthree\n"))
    assert logs_of(events) == ["three"]


REDRAW = Path(__file__).resolve().parent / "models" / "redraw"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from replicate_widgets.server import serve

    data = tmp_path_factory.mktemp("backend")
    with serve(port=0, models=[REDRAW], bundled=False, data_dir=data) as server:
        yield server


class _CutAfter(httpx.SyncByteStream):
    """An SSE body that breaks after ``events`` whole events, like a dropped link."""

    def __init__(self, upstream: httpx.SyncByteStream, events: int) -> None:
        self.upstream = upstream
        self.events = events

    def __iter__(self) -> Iterator[bytes]:
        buffer, seen = b"", 0
        for chunk in self.upstream:
            buffer += chunk
            while b"\n\n" in buffer:
                frame, buffer = buffer.split(b"\n\n", 1)
                yield frame + b"\n\n"
                seen += frame.startswith(b"id:")
                if seen == self.events:
                    raise httpx.RemoteProtocolError("peer closed connection")

    def close(self) -> None:
        self.upstream.close()


class BreakStreams(httpx.HTTPTransport):
    """The real network, except prediction streams: the first one breaks after
    ``events`` events and every reconnect is refused, so the client must poll."""

    def __init__(self, events: int) -> None:
        super().__init__()
        self.events = events
        self.opened = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/streams/" not in request.url.path:
            return super().handle_request(request)
        self.opened += 1
        if self.opened > 1:
            raise httpx.ConnectError("connection refused", request=request)
        response = super().handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_CutAfter(response.stream, self.events),
            request=request,
        )


def test_stream_falls_back_to_polling_without_losing_redrawn_or_partial_logs(
    backend: Any,
):
    # Two events over SSE ("loading", " done": one line in the logs), then polling
    # while the model redraws a progress bar with \r and writes partial lines.
    transport = BreakStreams(events=2)
    with Client(
        base_url=backend.url, transport=transport, poll_interval=0.05
    ) as client:
        started = client.predictions.create("test/redraw", {"steps": 40, "delay": 0.02})
        events = list(client.stream_prediction(started))
        final = client.predictions.wait(started.id)
    assert transport.opened > 1  # the stream broke and reconnecting failed
    assert events[-1].event == "done"
    assert events[-1].id is None  # ended by polling
    assert final.status == "succeeded"
    logs = final.logs or ""
    assert "\r 40/40 |" in logs
    assert "partial line\n" in logs
    got = logs_of(events)
    assert got[:2] == ["loading", " done"]  # the SSE part
    # Every character of the logs arrived exactly once and in order; only the
    # newline that ends a line is not part of an event (Replicate's convention).
    assert "".join(got).replace("\n", "") == logs.replace("\n", "")


# -- defect 9a: no size limits ---------------------------------------------------------


def test_read_refuses_a_body_declared_too_large_before_reading_it(capture: Capture):
    url = f"{capture.url}/zeros/{300 * MB}"
    with Client(base_url=capture.url) as client:
        raised, peak = peak_bytes(lambda: client.read(url))
    assert isinstance(raised, OutputTooLargeError), raised
    message = str(raised)
    assert "client.download(" in message
    assert "max_bytes=" in message
    assert peak < 16 * MB, peak


def test_read_counts_a_body_of_unknown_length_and_stops_at_the_cap(capture: Capture):
    url = f"{capture.url}/zeros/{300 * MB}?length=0"
    with Client(base_url=capture.url) as client:
        raised, peak = peak_bytes(lambda: client.read(url, max_bytes=8 * MB))
    assert isinstance(raised, OutputTooLargeError), raised
    assert raised.limit == 8 * MB
    assert peak < 24 * MB, peak


def test_read_follows_a_redirect_without_reading_its_body(capture: Capture):
    url = f"{capture.url}/redirect/{300 * MB}"
    with Client(base_url=capture.url) as client:
        content, peak = peak_bytes(lambda: client.read(url))
    assert not isinstance(content, BaseException), content
    assert content.data == b"ok"
    assert capture.requests[-1][0] == "/ok"
    assert peak < 16 * MB, peak


def test_a_redirect_to_another_origin_loses_the_token(capture: Capture):
    elsewhere = f"http://localhost:{capture.port}/ok"
    with Client(api_token=TOKEN, base_url=f"{capture.url}/v1") as client:
        assert client.read(f"{capture.url}/redirect/0?to={elsewhere}").data == b"ok"
    (first, sent), (second, received) = capture.requests[-2:]
    assert (first, second) == ("/redirect/0", "/ok")
    assert sent["authorization"] == f"Bearer {TOKEN}"
    assert received["host"] == f"localhost:{capture.port}"
    assert "authorization" not in received


def test_the_read_cap_is_configurable_per_client(capture: Capture):
    with Client(base_url=capture.url, max_read_bytes=MB) as client:
        assert len(client.read(f"{capture.url}/zeros/{MB}").data) == MB
        with pytest.raises(OutputTooLargeError, match=r"over the 1\.0 MB limit"):
            client.read(f"{capture.url}/zeros/{MB + 1}?length=0")
        assert len(client.read(f"{capture.url}/zeros/{3 * MB}", max_bytes=3 * MB).data)


def test_data_uris_have_the_same_cap(tmp_path: Path):
    uri = "data:text/plain;base64," + base64.b64encode(b"x" * 2000).decode()
    with Client(base_url="http://127.0.0.1:9/v1") as client:
        assert len(client.read(uri, max_bytes=2000).data) == 2000
        with pytest.raises(OutputTooLargeError, match="is 2,000 bytes, over the 1,999"):
            client.read(uri, max_bytes=1999)
        with pytest.raises(OutputTooLargeError):
            client.download(uri, tmp_path / "x", max_bytes=1999)
    assert list(tmp_path.iterdir()) == []


def test_download_streams_a_large_output_to_disk(capture: Capture, tmp_path: Path):
    size = 300 * MB
    target = tmp_path / "big.bin"
    with Client(base_url=capture.url) as client:
        saved, peak = peak_bytes(
            lambda: client.download(f"{capture.url}/zeros/{size}?length=0", target)
        )
    assert not isinstance(saved, BaseException), saved
    assert saved.path == target
    assert saved.size == size
    assert target.stat().st_size == size
    assert peak < 16 * MB, peak
    assert [p.name for p in tmp_path.iterdir()] == ["big.bin"]


def test_download_over_its_cap_leaves_no_file(capture: Capture, tmp_path: Path):
    target = tmp_path / "big.bin"
    with (
        Client(base_url=capture.url) as client,
        pytest.raises(OutputTooLargeError, match="max_bytes="),
    ):
        client.download(f"{capture.url}/zeros/{20 * MB}?length=0", target, max_bytes=MB)
    assert list(tmp_path.iterdir()) == []


def test_async_client_has_the_same_limits(capture: Capture, tmp_path: Path):
    async def main() -> None:
        async with AsyncClient(base_url=capture.url) as client:
            with pytest.raises(OutputTooLargeError):
                await client.read(f"{capture.url}/zeros/{300 * MB}")
            with pytest.raises(OutputTooLargeError):
                await client.read(
                    f"{capture.url}/zeros/{50 * MB}?length=0", max_bytes=MB
                )
            saved = await client.download(
                f"{capture.url}/zeros/{4 * MB}", tmp_path / "a"
            )
            assert saved.size == 4 * MB == (tmp_path / "a").stat().st_size

    asyncio.run(main())


def test_keeper_streams_output_files_to_disk(capture: Capture, tmp_path: Path):
    size = 200 * MB
    url = f"{capture.url}/zeros/{size}?length=0"
    done = Prediction.from_json(
        {"id": "big1", "status": "succeeded", "output": [url], "input": {}, "urls": {}}
    )
    keeper = Keeper(tmp_path / "kept")
    with Client(base_url=capture.url, max_read_bytes=MB) as client:
        folder, peak = peak_bytes(
            lambda: keeper.save(done, read=client.read, download=client.download)
        )
    assert isinstance(folder, Path), folder
    record = keeper.load("big1")
    assert record.missing == ()
    (kept,) = record.files
    assert kept.size == size == kept.path.stat().st_size
    digest = hashlib.sha256()
    for _ in range(size // MB):
        digest.update(ZEROS)
    assert kept.sha256 == digest.hexdigest()
    assert peak < 16 * MB, peak
    # Only the record and the file: no temporary file left behind.
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [kept.name, "record.json"]
    )
