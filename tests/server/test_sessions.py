"""A client session's predictions end when the session goes (its lease closes).

A client names its session on create (``X-Replicate-Widgets-Session``) and holds
``GET /v1/sessions/{id}`` open while it lives; the tests hold that lease on a raw
TCP socket, so closing the socket is exactly what the operating system does when
the client's process dies.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from _backend import BUNDLED, wait_until

from replicate_widgets._client.session import SESSION_HEADER as CLIENT_HEADER
from replicate_widgets.server import LocalServer, serve
from replicate_widgets.server._engine.sessions import SESSION_HEADER

pytestmark = pytest.mark.integration
GRACE = 0.5  # seconds; the server's default is longer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    data = tmp_path_factory.mktemp("sessions")
    with serve(
        port=0, models=[BUNDLED / "echo"], bundled=False, data_dir=data
    ) as running:
        running._sessions.grace = GRACE
        yield running


@pytest.fixture
def api(server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/", timeout=90) as client:
        yield client


def _session() -> str:
    return uuid.uuid4().hex


def _start(api: httpx.Client, session: str | None, *, wait: bool = True) -> dict:
    """Create a 60 s echo prediction; wait until it runs (the model takes one)."""
    headers = {SESSION_HEADER: session} if session else {}
    doc = api.post(
        "models/demo/echo/predictions",
        json={"input": {"text": "x", "delay": 60}},
        headers=headers,
    ).json()
    if not wait:
        return doc
    return wait_until(api, doc["urls"]["get"], {"processing", "canceled"})


class Lease:
    """``GET /v1/sessions/{id}`` held on a raw socket, as a client process holds it."""

    def __init__(self, server: LocalServer, session: str) -> None:
        url = urlsplit(server.url)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=30)
        request = (
            f"GET {url.path}/sessions/{session} HTTP/1.1\r\n"
            f"Host: {url.hostname}:{url.port}\r\nAccept: text/event-stream\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"lease held" not in head:
            chunk = self.sock.recv(4096)
            assert chunk, head
            head += chunk
        self.status = int(head.split(b" ", 2)[1])

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()  # again, if the test did not get to it: closing twice is fine


def test_predictions_of_a_session_that_goes_away_are_canceled(server, api):
    session = _session()
    with Lease(server, session) as lease:
        assert lease.status == 200
        doc = _start(api, session)
        # Held for several grace periods: nothing happens to it.
        time.sleep(GRACE * 4)
        assert api.get(doc["urls"]["get"]).json()["status"] == "processing"
        lease.close()  # the client's process ended
        assert wait_until(api, doc["urls"]["get"])["status"] == "canceled"


def test_a_session_that_never_holds_its_lease_loses_its_predictions(api):
    doc = _start(api, _session())
    assert wait_until(api, doc["urls"]["get"])["status"] == "canceled"


def test_a_dropped_lease_that_comes_back_in_time_keeps_them(server, api):
    session = _session()
    with Lease(server, session) as first:
        doc = _start(api, session)
        # A reconnect: two leases for a moment.
        with Lease(server, session) as second:
            first.close()
            time.sleep(GRACE * 4)
            assert api.get(doc["urls"]["get"]).json()["status"] == "processing"
            second.close()
            assert wait_until(api, doc["urls"]["get"])["status"] == "canceled"


def test_predictions_created_without_a_session_are_never_touched(server, api):
    session = _session()
    with Lease(server, session) as lease:
        doc = _start(api, None)
        owned = _start(api, session, wait=False)  # queued behind the other one
        lease.close()
        assert wait_until(api, owned["urls"]["get"])["status"] == "canceled"
    assert api.get(doc["urls"]["get"]).json()["status"] == "processing"
    api.post(doc["urls"]["cancel"])


def test_a_malformed_session_id_is_refused(server, api):
    response = api.get("sessions/x")
    assert response.status_code == 404
    assert "16 to 64" in response.json()["detail"]
    # And a malformed header owns nothing: the prediction runs on.
    doc = _start(api, "no good")
    time.sleep(GRACE * 4)
    assert api.get(doc["urls"]["get"]).json()["status"] == "processing"
    api.post(doc["urls"]["cancel"])


def test_the_client_and_the_server_name_the_same_header():
    assert CLIENT_HEADER == SESSION_HEADER


def test_stopping_the_server_ends_open_leases(tmp_path: Path):
    running = serve(port=0, models=[BUNDLED / "echo"], bundled=False, data_dir=tmp_path)
    with Lease(running, _session()) as lease:
        running.close()
        # The server ended the stream: the socket reads to its end.
        lease.sock.settimeout(30)
        while lease.sock.recv(4096):
            pass
