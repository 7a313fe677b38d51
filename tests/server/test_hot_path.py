"""What keeps a prediction cheap for the backend, checked against real processes.

The per-prediction path (docs/hot-path.md): the connection to coglet is kept from run to
run, a quiet run's stored copy still catches up with it, a client's idle
keep-alive connection is never closed under it, and a JSON answer's head waits
for its body (a stream's does not).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from _backend import BUNDLED

from replicate_widgets.server import _corked, serve
from replicate_widgets.server._app import _secure_headers
from replicate_widgets.server._models import load_model
from replicate_widgets.server._runner import ModelRunner
from replicate_widgets.server._store import Store

pytestmark = pytest.mark.integration

SLEEPER = """
import time
from cog import BasePredictor, Input

class Predictor(BasePredictor):
    def predict(self, seconds: float = Input(default=60.0)) -> str:
        print("sleeping", flush=True)
        time.sleep(seconds)
        return "woke"
"""


def sleeper(tmp_path: Path) -> Path:
    folder = tmp_path / "sleeper"
    folder.mkdir()
    (folder / "predict.py").write_text(textwrap.dedent(SLEEPER))
    (folder / "model.json").write_text(json.dumps({"owner": "test", "name": "sleeper"}))
    return folder


def connections_to(port: int) -> set[int]:
    """Local ports of this process's open TCP connections to 127.0.0.1:``port``."""
    return {
        c.laddr.port
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    }


@pytest.mark.skipif(
    not hasattr(socket, "TCP_QUICKACK"),
    reason="the connection is reused only where each event can be acknowledged "
    "at once (Linux)",
)
def test_consecutive_runs_share_one_connection_to_coglet() -> None:
    async def main() -> None:
        runner = ModelRunner(load_model(BUNDLED / "hello-world"))
        used: list[set[int]] = []
        try:
            for text in ("a", "b", "c"):
                events = [e async for e in runner.run(f"reuse-{text}", {"text": text})]
                assert events[-1].data["output"] == f"hello {text}"
                assert runner.port is not None
                used.append(connections_to(runner.port))
        finally:
            await runner.close()
        # The same connections open after each run: none is made per run (the
        # one start-up's health checks used may stay open beside the runs' one).
        assert 1 <= len(used[0]) <= 2
        assert used == [used[0]] * 3

    asyncio.run(main())


def test_a_quiet_runs_logs_reach_the_store_while_it_runs(tmp_path: Path) -> None:
    # Writes are spaced out while a prediction runs; the last one before a long
    # silence must still land, for whoever reads the database meanwhile.
    data = tmp_path / "data"
    with (
        serve(models=[sleeper(tmp_path)], bundled=False, data_dir=data) as server,
        httpx.Client(base_url=server.url + "/", timeout=60) as api,
    ):
        created = api.post(
            "models/test/sleeper/predictions", json={"input": {"seconds": 30}}
        ).json()
        store = Store(data / "replicate-widgets.sqlite3")
        try:
            stored = None
            for _ in range(200):
                stored = store.get_prediction(created["id"])
                if stored and "sleeping" in stored["logs"]:
                    break
                time.sleep(0.05)
            assert stored is not None
            assert stored["status"] == "processing"
            assert "sleeping" in stored["logs"]
            # Still running: the store caught up without another event.
            assert api.get(f"predictions/{created['id']}").json()["status"] == (
                "processing"
            )
        finally:
            store.close()
            api.post(f"predictions/{created['id']}/cancel")


def test_an_idle_connection_outlives_a_clients_keep_alive() -> None:
    # httpx keeps an idle connection for 5 s; a server that closed its end at
    # the same moment made the next request on it fail with a ReadError.
    with serve(models=[BUNDLED / "hello-world"], bundled=False) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            conn.request("GET", "/v1/hardware")
            first = conn.getresponse()
            first.read()
            assert first.status == 200
            sock = conn.sock
            time.sleep(httpx.Limits().keepalive_expiry + 1)
            conn.request("GET", "/v1/hardware")
            again = conn.getresponse()
            again.read()
            assert again.status == 200
            assert conn.sock is sock  # the same connection, not a new one
        finally:
            conn.close()


@pytest.mark.skipif(not hasattr(socket, "TCP_CORK"), reason="TCP_CORK is Linux's")
def test_a_json_answer_is_corked_on_uvicorns_own_socket(monkeypatch) -> None:
    # The socket is reached through uvicorn's internals: if they change, the
    # head and body go out separately again, and this says so.
    found: list[Any] = []
    real = _corked._socket

    def spy(send: Any) -> Any:
        sock = real(send)
        found.append(sock)
        return sock

    monkeypatch.setattr(_corked, "_socket", spy)
    with (
        serve(models=[BUNDLED / "hello-world"], bundled=False) as server,
        # A kept connection: its socket is still open when it is looked at.
        httpx.Client(trust_env=False) as client,
    ):
        answer = client.get(f"{server.url}/hardware")
        assert answer.status_code == 200
        assert isinstance(answer.json(), list)
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert len(found) == 1
        assert found[0] is not None
        # Lifted again once the answer is out.
        assert found[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK) == 0


def test_a_streams_head_is_not_held_for_its_body() -> None:
    sent: list[str] = []

    async def send(message: dict) -> None:
        sent.append(message["type"])

    async def main() -> None:
        wrapped = _secure_headers(send, sandbox=False)
        # A stream (no Content-Length): its head goes out at once.
        await wrapped({"type": "http.response.start", "status": 200, "headers": []})
        assert sent == ["http.response.start"]
        await wrapped({"type": "http.response.body", "body": b"x", "more_body": True})
        # A JSON answer's head waits for its body, then both go, in order.
        sent.clear()
        wrapped = _secure_headers(send, sandbox=False)
        head = [(b"content-length", b"1")]
        await wrapped({"type": "http.response.start", "status": 200, "headers": head})
        assert sent == []
        await wrapped({"type": "http.response.body", "body": b"x"})
        assert sent == ["http.response.start", "http.response.body"]

    asyncio.run(main())
