"""Cog servers that already run elsewhere, served by URL (``NAME=URL``).

The tests start a coglet server on 127.0.0.1 themselves, as a GPU box would
run ``docker run -p 5000:5000 r8.im/...``, register it by URL, and drive it
through the backend with this package's Client and the official client.
The backend must never start or stop that server.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("coglet")

import replicate
from _backend import wait_until

from replicate_widgets import Client
from replicate_widgets._widgets.keep import Keeper
from replicate_widgets.server import serve
from replicate_widgets.server._catalog.remote import parse_remote_spec
from replicate_widgets.server._cog.models import load_model
from replicate_widgets.server._engine.runner import BUSY_NOTICE

pytestmark = pytest.mark.integration

REMOTE_MODEL = """
import os
import time
from typing import Iterator, Optional

from cog import BaseRunner, Input, Path


class Predictor(BaseRunner):
    def run(
        self,
        words: str = Input(default="one two"),
        document: Optional[Path] = Input(default=None),
        hold: float = Input(default=0.0),
    ) -> Iterator[Path]:
        extra = document.read_text() if document is not None else ""
        print(f"remote pid={os.getpid()} words={words}", flush=True)
        print(f"document={document}", flush=True)
        end = time.time() + hold
        while time.time() < end:
            time.sleep(0.02)
        for i, word in enumerate(words.split()):
            out = Path(f"/tmp/remote-{os.getpid()}-{i}.txt")
            out.write_text(word + extra)
            yield out
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CogServer:
    """A coglet HTTP server on 127.0.0.1 that the test, not the backend, owns."""

    def __init__(self, folder: Path, port: int, *, streaming: bool = True) -> None:
        self.folder, self.port, self.streaming = folder, port, streaming
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> CogServer:
        load_model(self.folder)  # writes the .cog/ schema coglet reads
        cog = self.folder / ".cog"
        if not self.streaming:
            # What Cog itself writes: no x-cog-streaming, so coglet answers 406
            # to an SSE request, as a Replicate model's container would.
            (cog / "openapi_schema.json").write_text(
                (cog / "openapi_schema.served.json").read_text()
            )
        shim = self.folder.parent / f"bin-{self.port}"
        shim.mkdir(exist_ok=True)
        (shim / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        (shim / "python").chmod(0o755)
        env = {
            **os.environ,
            "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}",
            "PORT": str(self.port),
            "PYTHONPATH": str(self.folder),
            "COG_PREDICT_TYPE_STUB": f"{self.folder}/predict.py:Predictor",
        }
        env.pop("REPLICATE_WIDGETS_BACKEND", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cog.server.http", "--host", "127.0.0.1"],
            cwd=self.folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while self.health().get("status") != "READY":
            assert self.process.poll() is None, "coglet exited"
            assert time.monotonic() < deadline, "coglet not ready"
            time.sleep(0.1)
        return self

    def health(self) -> dict[str, Any]:
        try:
            body = httpx.get(f"{self.url}/health-check", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return {}
        return body if isinstance(body, dict) else {}

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def model_folder(root: Path, name: str = "remote-demo") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "predict.py").write_text(textwrap.dedent(REMOTE_MODEL))
    return folder


@pytest.fixture(scope="module")
def cog_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CogServer]:
    server = CogServer(model_folder(tmp_path_factory.mktemp("remote")), free_port())
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def backend(
    cog_server: CogServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    data = tmp_path_factory.mktemp("remote-backend")
    with serve(
        port=0,
        models=[f"remote-demo={cog_server.url}"],
        bundled=False,
        data_dir=data,
    ) as server:
        yield server


def decode(url: str, http: httpx.Client) -> bytes:
    if url.startswith("data:"):
        return base64.b64decode(url.partition(",")[2])
    return http.get(url).content


def document_path(logs: str) -> str:
    return next(ln for ln in logs.splitlines() if ln.startswith("document="))


# ------------------------------------------------------------------ names
def test_name_grammar() -> None:
    spec = parse_remote_spec("sdxl=http://gpu-box:5000/")
    assert spec is not None
    assert (spec.owner, spec.name, spec.url) == ("local", "sdxl", "http://gpu-box:5000")
    spec = parse_remote_spec("acme/sdxl=https://models.example.org")
    assert spec is not None
    assert spec.full_name == "acme/sdxl"
    # Folders (even with '=' in them) are not servers.
    assert parse_remote_spec("path/to/model") is None
    assert parse_remote_spec("a=b/folder") is None
    with pytest.raises(ValueError, match="not a valid model name"):
        parse_remote_spec("My Model=http://gpu-box:5000")
    with pytest.raises(ValueError, match="base URL"):
        parse_remote_spec("m=http://gpu-box:5000/?x=1")


# ------------------------------------------------------------ end to end
def test_listed_with_the_servers_schema(backend: Any, cog_server: CogServer) -> None:
    with httpx.Client(base_url=backend.url) as http:
        model = http.get("/models/local/remote-demo").json()
        schema = httpx.get(f"{cog_server.url}/openapi.json").json()
        assert model["latest_version"]["openapi_schema"] == schema
        assert len(model["latest_version"]["id"]) == 64
        names = [m["name"] for m in http.get("/models").json()["results"]]
        assert "remote-demo" in names


def test_stream_files_and_history(backend: Any, tmp_path: Path) -> None:
    with (
        Client(base_url=backend.url) as client,
        httpx.Client(base_url=backend.url) as http,
    ):
        # A file uploaded to this backend: its URL is 127.0.0.1 here, which the
        # server elsewhere could not fetch, so it travels inline.
        upload = http.post(
            "/files", files={"content": ("doc.txt", b"+doc", "text/plain")}
        ).json()
        events = list(
            client.stream(
                "local/remote-demo",
                {"words": "alpha beta", "document": upload["urls"]["get"]},
            )
        )
        outputs = [e.data for e in events if e.event == "output"]
        assert events[-1].event == "done"
        assert [decode(u, http) for u in outputs] == [b"alpha+doc", b"beta+doc"]
        listed = http.get("/predictions").json()["results"]
        doc = http.get(f"/predictions/{listed[0]['id']}").json()
        assert doc["status"] == "succeeded"
        assert doc["model"] == "local/remote-demo"
        assert "words=alpha beta" in doc["logs"]
        # Sent inline: cog did not download it from a URL (".../download").
        assert not document_path(doc["logs"]).endswith("download")
        # Output files are this backend's own (kept past the remote run).
        assert all(u.startswith(backend.url.removesuffix("/v1")) for u in doc["output"])
        # Kept outputs, as a Playground keeps every finished run.
        keeper = Keeper(tmp_path / "kept")
        keeper.save(client.predictions.get(doc["id"]), download=client.download)
        kept = keeper.load(doc["id"])
        assert sorted(data for data, _ in kept.read_files().values()) == [
            b"alpha+doc",
            b"beta+doc",
        ]


def test_official_client_and_cancel(backend: Any) -> None:
    official = replicate.Client(api_token="x", base_url=backend.url)
    official.poll_interval = 0.05
    try:
        prediction = official.models.predictions.create(
            model="local/remote-demo", input={"words": "x y z"}
        )
        prediction.wait()
        assert prediction.status == "succeeded", prediction.error
        assert len(prediction.output) == 3

        slow = official.models.predictions.create(
            model="local/remote-demo", input={"words": "late", "hold": 60}
        )
        with httpx.Client() as http:
            wait_until(http, slow.urls["get"], {"processing"})
            slow.cancel()
            done = wait_until(http, slow.urls["get"])
        assert done["status"] == "canceled"
        # The server is fine afterwards.
        again = official.models.predictions.create(
            model="local/remote-demo", input={"words": "after"}
        )
        again.wait()
        assert again.status == "succeeded", again.error
    finally:
        official._client.close()


def test_busy_server_is_reported_and_waited_out(
    backend: Any, cog_server: CogServer
) -> None:
    # Another client takes the server's only slot.
    taken = httpx.put(
        f"{cog_server.url}/predictions/other-client",
        json={"id": "other-client", "input": {"words": "mine", "hold": 4}},
        headers={"Prefer": "respond-async"},
    )
    assert taken.status_code == 202
    with httpx.Client(base_url=backend.url) as http:
        made = http.post(
            "/models/local/remote-demo/predictions", json={"input": {"words": "w"}}
        ).json()
        doc = wait_until(http, f"/predictions/{made['id']}")
    assert doc["status"] == "succeeded", doc["error"]
    assert BUSY_NOTICE.strip() in doc["logs"]


def test_a_server_that_does_not_stream(tmp_path: Path) -> None:
    server = CogServer(model_folder(tmp_path), free_port(), streaming=False).start()
    try:
        with (
            serve(
                port=0,
                models=[f"acme/plain={server.url}"],
                bundled=False,
                data_dir=tmp_path / "data",
            ) as backend,
            Client(base_url=backend.url) as client,
            httpx.Client() as http,
        ):
            output = client.run("acme/plain", {"words": "p q"})
            assert [decode(u, http) for u in output] == [b"p", b"q"]
    finally:
        server.kill()


def test_unreachable_server_is_reported_retried_and_never_stopped(
    tmp_path: Path,
) -> None:
    port = free_port()
    server = CogServer(model_folder(tmp_path), port)
    try:
        # Down at start-up: listed, and creating a prediction says why.
        with (
            serve(
                port=0,
                models=[f"gpu={server.url}"],
                bundled=False,
                data_dir=tmp_path / "data",
            ) as backend,
            httpx.Client(base_url=backend.url) as http,
        ):
            assert http.get("/models/local/gpu").json()["latest_version"] is None
            refused = http.post(
                "/models/local/gpu/predictions", json={"input": {"words": "w"}}
            )
            assert refused.status_code == 503
            assert server.url in refused.json()["detail"]
            assert "does not answer" in refused.json()["detail"]

            # It comes up: the backend finds it on its own.
            server.start()
            deadline = time.monotonic() + 60
            while http.get("/models/local/gpu").json()["latest_version"] is None:
                assert time.monotonic() < deadline, "never registered"
                time.sleep(0.2)
            made = http.post(
                "/models/local/gpu/predictions", json={"input": {"words": "up"}}
            ).json()
            assert wait_until(http, f"/predictions/{made['id']}")["status"] == (
                "succeeded"
            )

            # It goes away: a clear error, and the backend does not restart it.
            server.kill()
            made = http.post(
                "/models/local/gpu/predictions", json={"input": {"words": "down"}}
            ).json()
            failed = wait_until(http, f"/predictions/{made['id']}")
            assert failed["status"] == "failed"
            assert server.url in failed["error"]
            assert "does not answer" in failed["error"]
            assert not server.alive

            # Back again: the next prediction connects again.
            server.start()
            made = http.post(
                "/models/local/gpu/predictions", json={"input": {"words": "again"}}
            ).json()
            assert wait_until(http, f"/predictions/{made['id']}")["status"] == (
                "succeeded"
            )
        # Closing the backend left the server running.
        assert server.alive
        assert server.health().get("status") == "READY"
    finally:
        server.kill()


def test_serve_command_end_to_end(cog_server: CogServer, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "replicate_widgets.server", "--port", "0"]
    command += ["--no-bundled", "--data-dir", str(tmp_path), "--instances", "2"]
    command += ["--model", f"gpu-demo={cog_server.url}"]
    backend = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert backend.stdout is not None
        url = backend.stdout.readline().split(" at ")[1].split()[0]
        done = httpx.post(
            f"{url}/models/local/gpu-demo/predictions",
            json={"input": {"words": "from the shell"}},
            headers={"Prefer": "wait"},
            timeout=60,
        ).json()
        assert done["status"] == "succeeded", done["error"]
        assert len(done["output"]) == 3
    finally:
        backend.terminate()
        backend.wait(30)
        if backend.stdout is not None:
            backend.stdout.close()
    assert cog_server.health().get("status") == "READY"
    refused = subprocess.run(
        [*command[:-2], "--model", "Bad Name=http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert "not a valid model name" in refused.stderr


def test_input_files_follow_the_public_url(
    cog_server: CogServer, tmp_path: Path
) -> None:
    # With --public-url the server elsewhere can reach this backend: files go
    # as signed URLs under it instead of inside the request.
    port = free_port()
    with (
        serve(
            port=port,
            models=[f"remote-demo={cog_server.url}"],
            bundled=False,
            data_dir=tmp_path,
            public_url=f"http://localhost:{port}",
        ) as backend,
        httpx.Client(base_url=backend.url) as http,
    ):
        upload = http.post(
            "/files", files={"content": ("doc.txt", b"+pub", "text/plain")}
        ).json()
        made = http.post(
            "/models/local/remote-demo/predictions",
            json={"input": {"words": "w", "document": upload["urls"]["get"]}},
        ).json()
        doc = wait_until(http, f"/predictions/{made['id']}")
        assert doc["status"] == "succeeded", doc["error"]
        assert document_path(doc["logs"]).endswith("doc.txt")  # named after the upload
        assert [http.get(u).content for u in doc["output"]] == [b"w+pub"]
