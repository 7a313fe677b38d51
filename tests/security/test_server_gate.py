"""The local backend's HTTP boundary, attacked over real HTTP on 127.0.0.1.

Each test plays a hostile caller (a web page in the user's browser, a DNS
rebinding page, an unauthenticated client of a token server, an over-sized or
over-nested body, a model output that looks like the server's own URLs) and
checks both the refusal and that the request had no effect.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx_sse
import pytest

from replicate_widgets.server import serve

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "replicate_widgets" / "server" / "models"
KITCHEN = ROOT / "tests" / "integration" / "models" / "kitchen"
HELLO_VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
MODELS = [BUNDLED / "hello-world", BUNDLED / "echo", KITCHEN]
TERMINAL = {"succeeded", "failed", "canceled", "aborted"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data = tmp_path_factory.mktemp("gate")
    with serve(port=0, models=MODELS, bundled=False, data_dir=data) as running:
        yield running


@pytest.fixture
def api(server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/", timeout=90) as client:
        yield client


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def _wait(api: httpx.Client, url: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        doc: dict[str, Any] = api.get(url).json()
        if doc["status"] in TERMINAL:
            return doc
        assert time.monotonic() < deadline, f"still {doc['status']}: {doc}"
        time.sleep(0.05)


def _texts(api: httpx.Client) -> list[Any]:
    """The ``text`` inputs of the newest predictions."""
    results = api.get("predictions").json()["results"]
    return [r["input"].get("text") for r in results]


def _port(server: Any) -> int:
    return int(server.port)


# ------------------------------------------------------------ DNS rebinding
def test_foreign_host_is_refused_and_creates_nothing(api: httpx.Client, server) -> None:
    # After a DNS rebind, the attacker's page talks to 127.0.0.1 under its own name.
    host = f"evil.example:{_port(server)}"
    r = api.post(
        "predictions",
        headers={"Host": host},
        json={"version": HELLO_VERSION, "input": {"text": "rebound-write"}},
    )
    body = _problem(r, 403)
    assert "127.0.0.1" in body["detail"]
    assert "rebound-write" not in _texts(api)


def test_rebinding_reads_are_refused(api: httpx.Client, server) -> None:
    secret = api.get("webhooks/default/secret").json()["key"]
    made = api.post(
        "predictions",
        headers={"Prefer": "wait"},
        json={"version": HELLO_VERSION, "input": {"text": "private prompt"}},
    ).json()
    for host in (
        f"evil.example:{_port(server)}",
        "evil.example",
        "10.0.0.1",
        f"localhost.evil.example:{_port(server)}",
        f"127.0.0.1.evil.example:{_port(server)}",
    ):
        for path in (
            "predictions",
            "webhooks/default/secret",
            f"predictions/{made['id']}",
        ):
            r = api.get(path, headers={"Host": host})
            _problem(r, 403)
            assert secret not in r.text
            assert "private prompt" not in r.text
    # The loopback names, with or without the port, are this server.
    for host in (
        f"127.0.0.1:{_port(server)}",
        f"localhost:{_port(server)}",
        f"[::1]:{_port(server)}",
        "localhost",
        f"LOCALHOST:{_port(server)}",
        # Reserved for this machine (RFC 6761); browsers never ask DNS for them.
        f"app.localhost:{_port(server)}",
    ):
        assert api.get("webhooks/default/secret", headers={"Host": host}).json() == {
            "key": secret
        }


# --------------------------------------------------------------------- CSRF
def test_foreign_origin_is_refused_and_creates_nothing(
    api: httpx.Client, server
) -> None:
    own = f"http://127.0.0.1:{_port(server)}"
    for origin in (
        "http://evil.example",
        "null",
        f"http://127.0.0.1:{_port(server) + 1}",
    ):
        r = api.post(
            "predictions",
            headers={"Origin": origin},
            json={"version": HELLO_VERSION, "input": {"text": f"csrf {origin}"}},
        )
        _problem(r, 403)
        assert not any(k.lower().startswith("access-control-") for k in r.headers)
        assert f"csrf {origin}" not in _texts(api)
    # A page cannot read through a simple GET either, and no CORS header helps it.
    r = api.get("webhooks/default/secret", headers={"Origin": "http://evil.example"})
    _problem(r, 403)
    preflight = api.options(
        "predictions",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert "access-control-allow-origin" not in preflight.headers
    # A browser that sends no Origin still says where the request came from.
    r = api.post(
        "predictions",
        headers={"Sec-Fetch-Site": "cross-site"},
        json={"version": HELLO_VERSION, "input": {"text": "csrf fetch-site"}},
    )
    _problem(r, 403)
    assert "csrf fetch-site" not in _texts(api)
    # The server's own origin, under a loopback alias too, is fine.
    for origin in (own, f"http://localhost:{_port(server)}"):
        ok = api.post(
            "predictions",
            headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"},
            json={"version": HELLO_VERSION, "input": {"text": "same origin"}},
        )
        assert ok.status_code == 201, ok.text


def test_json_must_be_sent_as_json(api: httpx.Client) -> None:
    body = json.dumps({"version": HELLO_VERSION, "input": {"text": "form-post"}})
    # What an HTML form or a no-cors fetch can send without a preflight.
    for content_type in (
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
    ):
        headers = {} if content_type is None else {"Content-Type": content_type}
        r = api.post("predictions", content=body, headers=headers)
        detail = _problem(r, 415)["detail"]
        assert "application/json" in detail
    assert "form-post" not in _texts(api)
    patched = api.patch(
        "models/demo/echo",
        content=json.dumps({"description": "changed by a form"}),
        headers={"Content-Type": "text/plain"},
    )
    _problem(patched, 415)
    assert api.get("models/demo/echo").json()["description"] != "changed by a form"
    # JSON with parameters, and +json types, are JSON.
    for content_type in (
        "application/json; charset=utf-8",
        "application/merge-patch+json",
    ):
        r = api.post(
            "predictions",
            content=body.replace("form-post", content_type),
            headers={"Content-Type": content_type},
        )
        assert r.status_code == 201, r.text
    # Search takes its query as text, and uploads stay multipart.
    found = api.request(
        "QUERY", "models", content="echo", headers={"Content-Type": "text/plain"}
    )
    assert found.status_code == 200
    up = api.post("files", files={"content": ("a.txt", b"A", "text/plain")})
    assert up.status_code == 201, up.text


# -------------------------------------------------------- token exemptions
def test_only_the_download_route_skips_the_token(tmp_path: Path) -> None:
    with (
        serve(
            port=0,
            models=[KITCHEN],
            bundled=False,
            data_dir=tmp_path,
            token="sekret",
        ) as server,
        httpx.Client(base_url=server.url + "/", timeout=90) as http,
    ):
        auth = {"Authorization": "Bearer sekret"}
        created = http.post(
            "models",
            headers=auth,
            json={
                "owner": "local",
                "name": "download",
                "visibility": "private",
                "hardware": "cpu",
            },
        )
        assert created.status_code == 201, created.text
        for path in (
            "models/local/download?signature=x",
            "v1/models/local/download?signature=x",
        ):
            _problem(http.get(path), 401)
            _problem(http.delete(path), 401)
            _problem(
                http.patch(path, json={"description": "defaced"}),
                401,
            )
        model = http.get("models/local/download", headers=auth).json()
        assert model["description"] != "defaced"
        # The real download route still works with a signature and no token:
        # coglet fetches the input file through it.
        up = http.post(
            "files", headers=auth, files={"content": ("d.txt", b"SIGNED", "text/plain")}
        ).json()
        _problem(http.get(f"files/{up['id']}/download?signature=x&expiry=1"), 401)
        r = http.post(
            "models/test/kitchen/predictions",
            headers={**auth, "Prefer": "wait"},
            json={"input": {"document": up["urls"]["get"], "count": 1}},
        ).json()
        assert r["status"] == "succeeded", r
        assert http.get(r["output"][0]).text == "0:hi:SIGNED"


# -------------------------------------------------------------- body limits
def _raw_request(server: Any, head: bytes) -> str:
    url = urllib.parse.urlsplit(server.url)
    assert url.hostname is not None
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        sock.sendall(head)
        return sock.recv(65536).decode("latin-1")


def test_declared_huge_json_body_is_413_before_reading(server) -> None:
    answer = _raw_request(
        server,
        b"POST /v1/predictions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: 300000000\r\n\r\n{",
    )
    assert answer.startswith("HTTP/1.1 413")
    assert "application/problem+json" in answer
    assert "connection: close" in answer.lower()


def test_streamed_huge_json_body_is_cut(api: httpx.Client) -> None:
    sent = 0
    chunk = b"x" * (1 << 20)

    def body() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"version": "' + HELLO_VERSION.encode() + b'", "input": {"text": "'
        for _ in range(300):
            sent += len(chunk)
            yield chunk
        yield b'"}}'

    r = api.post(
        "predictions", content=body(), headers={"Content-Type": "application/json"}
    )
    detail = _problem(r, 413)["detail"]
    assert "/v1/files" in detail
    # The server stopped reading: most of the 300 MB were never sent.
    assert sent < 100 * (1 << 20)
    assert api.get("predictions").status_code == 200


def test_streamed_upload_is_cut_at_the_upload_limit(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import replicate_widgets.server._storage.files_store as files_store

    # The server runs in this process: a 1 MB limit stands in for 100 MB.
    monkeypatch.setattr(files_store, "MAX_FILE_SIZE", 1 << 20)
    before = {f["id"] for f in api.get("files").json()["results"]}
    sent = 0
    chunk = b"x" * (1 << 20)

    def body() -> Iterator[bytes]:
        nonlocal sent
        yield (
            b'--b\r\nContent-Disposition: form-data; name="content"; '
            b'filename="big.bin"\r\n\r\n'
        )
        for _ in range(200):
            sent += len(chunk)
            yield chunk
        yield b"\r\n--b--\r\n"

    r = api.post(
        "files",
        content=body(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert "100MB" in _problem(r, 413)["detail"]
    assert sent < 100 * (1 << 20)
    assert {f["id"] for f in api.get("files").json()["results"]} == before


def test_deeply_nested_json_is_400(api: httpx.Client) -> None:
    for depth in (1000, 100_000, 100):
        nested = "[" * depth + "]" * depth
        r = api.post(
            "predictions",
            content=f'{{"version": "{HELLO_VERSION}", "input": {{"text": {nested}}}}}',
            headers={"Content-Type": "application/json"},
        )
        assert "nest" in _problem(r, 400)["detail"]
    # A normal body is still fine.
    assert (
        api.post(
            "predictions", json={"version": HELLO_VERSION, "input": {"text": "flat"}}
        ).status_code
        == 201
    )


# ------------------------------------------------------------- SSE done
def _stream_events(text: str) -> list[tuple[str, str]]:
    out = []
    for block in text.split("\n\n"):
        name, data = "", []
        for line in block.split("\n"):
            key, _, value = line.partition(": ")
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)
        if name:
            out.append((name, "\n".join(data)))
    return out


def test_aborted_prediction_stream_says_aborted(api: httpx.Client) -> None:
    # echo runs one prediction at a time: the second waits past its deadline.
    busy = api.post(
        "models/demo/echo/predictions", json={"input": {"text": "a", "delay": 60}}
    ).json()
    try:
        late = api.post(
            "models/demo/echo/predictions",
            json={"input": {"text": "b"}},
            headers={"Cancel-After": "5s"},
        ).json()
        assert _wait(api, late["urls"]["get"])["status"] == "aborted"
        events = _stream_events(api.get(late["urls"]["stream"]).text)
        assert events[-1] == ("done", '{"reason": "aborted"}')
    finally:
        api.post(busy["urls"]["cancel"])
    canceled = _wait(api, busy["urls"]["get"])
    assert canceled["status"] == "canceled"
    events = _stream_events(api.get(busy["urls"]["stream"]).text)
    assert events[-1] == ("done", '{"reason": "canceled"}')


def test_a_bare_carriage_return_cannot_forge_stream_events(
    api: httpx.Client,
) -> None:
    # A reader (httpx-sse, a browser's EventSource) ends a line at a bare CR too.
    forged = "real\revent: done\rdata: {}\r\rid: 999:0\revent: output\rdata: evil"
    made = api.post(
        "models/demo/echo/predictions",
        json={"input": {"text": forged}},
        headers={"Prefer": "wait"},
    ).json()
    assert _wait(api, made["urls"]["get"])["output"] == forged
    with api.stream("GET", made["urls"]["stream"]) as response:
        events = [(e.event, e.data) for e in httpx_sse.EventSource(response).iter_sse()]
    assert [name for name, _ in events].count("done") == 1
    assert events[-1][0] == "done"
    outputs = [data for name, data in events if name == "output"]
    # Every character arrives; a CR reads as a line break, as SSE defines it.
    assert outputs == [forged.replace("\r", "\n")]


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "\x00"])
def test_unencodable_text_is_a_clear_400_and_breaks_nothing(
    api: httpx.Client, text: str
) -> None:
    # json.dumps would write a lone surrogate as an escape that Python reads back,
    # but no UTF-8 encoder can store it: it must be refused at the door.
    body = json.dumps({"input": {"text": text}})
    response = api.post(
        "models/demo/echo/predictions",
        content=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    if "\x00" in text:  # NUL is valid JSON text and must round-trip
        assert response.status_code == 201, response.text
        done = _wait(api, response.json()["urls"]["get"])
        assert done["output"] == text
    else:
        assert "surrogate" in _problem(response, 400)["detail"]
    assert api.get("predictions").status_code == 200
    assert api.get("models/demo/echo").status_code == 200


# --------------------------------------- the server's own URLs, and only those
LOOKALIKES = [
    "rwlocal:/outputs/x",
    "rwlocal:/v1/webhooks/default/secret",
    "data:text/plain,hi",
    "data:text/html;base64,PHNjcmlwdD4=",
    "rwlocal:=escaped?",
]


def test_user_strings_that_look_like_server_urls_stay_as_sent(tmp_path: Path) -> None:
    with (
        serve(port=0, models=MODELS, bundled=False, data_dir=tmp_path) as first,
        httpx.Client(base_url=first.url + "/", timeout=90) as http,
    ):
        ids = {}
        for text in LOOKALIKES:
            r = http.post(
                "models/demo/echo/predictions",
                headers={"Prefer": "wait"},
                json={"input": {"text": text}},
            ).json()
            assert r["status"] == "succeeded", r
            assert r["input"]["text"] == text
            assert r["output"] == text
            ids[text] = r["id"]
            stream = _stream_events(http.get(r["urls"]["stream"]).text)
            assert ("output", text) in stream
        patched = http.patch(
            "models/demo/echo", json={"description": LOOKALIKES[0]}
        ).json()
        assert patched["description"] == LOOKALIKES[0]
        # Real file outputs are still served as files.
        files = http.post(
            "models/test/kitchen/predictions",
            headers={"Prefer": "wait"},
            json={"input": {"count": 1}},
        ).json()
        assert files["output"][0].startswith(
            first.url.removesuffix("/v1") + "/outputs/"
        )
    # Stored and read back by a new server on another port: still as sent.
    with (
        serve(port=0, models=MODELS, bundled=False, data_dir=tmp_path) as second,
        httpx.Client(base_url=second.url + "/", timeout=90) as http,
    ):
        for text, pid in ids.items():
            got = http.get(f"predictions/{pid}").json()
            assert got["input"]["text"] == text
            assert got["output"] == text
            assert ("output", text) in _stream_events(
                http.get(got["urls"]["stream"]).text
            )
        assert http.get("models/demo/echo").json()["description"] == LOOKALIKES[0]
        moved = http.get(f"predictions/{files['id']}").json()["output"][0]
        assert moved.startswith(second.url.removesuffix("/v1") + "/outputs/")
        assert http.get(moved).text == "0:hi:"


def test_output_files_cannot_run_scripts_on_the_api_origin(api: httpx.Client) -> None:
    r = api.post(
        "models/test/kitchen/predictions",
        headers={"Prefer": "wait"},
        json={"input": {"count": 1}},
    ).json()
    served = api.get(r["output"][0])
    assert served.status_code == 200
    assert "sandbox" in served.headers["content-security-policy"]
    assert served.headers["x-content-type-options"] == "nosniff"


# --------------------------------------------------------------- public URL
def test_public_url_is_advertised(tmp_path: Path) -> None:
    public = "https://models.example.org/rw"
    with (
        serve(
            port=0,
            models=MODELS,
            bundled=False,
            data_dir=tmp_path,
            public_url=public + "/",
        ) as server,
        httpx.Client(
            base_url=f"http://127.0.0.1:{server.port}/v1/", timeout=90
        ) as http,
    ):
        assert server.url == public + "/v1"
        up = http.post("files", files={"content": ("p.txt", b"PUBLIC", "text/plain")})
        assert up.json()["urls"]["get"] == f"{public}/v1/files/{up.json()['id']}"
        created = http.post(
            "models/test/kitchen/predictions",
            headers={"Prefer": "wait"},
            # The public file URL names this server's file: coglet gets it.
            json={"input": {"document": up.json()["urls"]["get"], "count": 1}},
        )
        doc = created.json()
        assert doc["status"] == "succeeded", doc
        assert created.headers["location"] == f"{public}/v1/predictions/{doc['id']}"
        assert doc["urls"]["stream"] == f"{public}/v1/streams/{doc['id']}"
        out = doc["output"][0]
        assert out.startswith(f"{public}/outputs/")
        local = out.replace(public, f"http://127.0.0.1:{server.port}")
        assert http.get(local).text == "0:hi:PUBLIC"
        assert (
            http.get("models/demo/echo").json()["url"]
            == f"{public}/v1/models/demo/echo"
        )
        # The public host name is served; other names are not.
        assert (
            http.get("account", headers={"Host": "models.example.org:443"}).status_code
            == 200
        )
        _problem(http.get("account", headers={"Host": "evil.example"}), 403)
        assert (
            http.get(
                "account",
                headers={
                    "Host": "models.example.org",
                    "Origin": "https://models.example.org",
                },
            ).status_code
            == 200
        )


def test_public_bind_with_token_uses_the_host_the_client_named(tmp_path: Path) -> None:
    with (
        serve(
            port=0,
            host="0.0.0.0",  # a token is set: that is the point
            models=[BUNDLED / "hello-world"],
            bundled=False,
            data_dir=tmp_path,
            token="sekret",
        ) as server,
        httpx.Client(
            base_url=f"http://127.0.0.1:{server.port}/v1/", timeout=90
        ) as http,
    ):
        auth = {"Authorization": "Bearer sekret"}
        named = f"192.0.2.7:{server.port}"
        doc = http.post(
            "predictions",
            headers={**auth, "Host": named, "Prefer": "wait"},
            json={"version": HELLO_VERSION, "input": {"text": "x"}},
        ).json()
        assert doc["urls"]["get"] == f"http://{named}/v1/predictions/{doc['id']}"
        again = http.get(f"predictions/{doc['id']}", headers=auth).json()
        assert again["urls"]["get"].startswith(f"http://127.0.0.1:{server.port}/v1/")
        _problem(http.get("account", headers={**auth, "Host": "bad host/x"}), 400)


def test_cli_takes_public_url(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "replicate_widgets.server",
            "--port",
            "0",
            "--no-bundled",
            "--data-dir",
            str(tmp_path),
            "--public-url",
            "https://models.example.org",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "https://models.example.org/v1" in line, (line, proc.stderr)
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    bad = subprocess.run(
        [sys.executable, "-m", "replicate_widgets.server", "--public-url", "ftp://x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "public_url" in bad.stderr


def test_a_new_data_dir_is_private_to_its_owner(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    with serve(port=0, models=[BUNDLED / "echo"], bundled=False, data_dir=data):
        assert data.stat().st_mode & 0o777 == 0o700
