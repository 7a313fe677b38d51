"""The clients' TLS context: verifies as httpx's, loads certificates for TLS only."""

from __future__ import annotations

import asyncio
import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from replicate_widgets import AsyncClient, Client
from replicate_widgets._client.tls import client_context

pytestmark = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="needs the openssl command"
)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for localhost (its key next to it)."""
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes"),
            *("-days", "1", "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost"),
            *("-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")),
        ],
        check=True,
        capture_output=True,
    )
    return folder / "cert.pem"


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def _serve(context: ssl.SSLContext | None) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if context is not None else "http"
    try:
        yield f"{scheme}://localhost:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def https_url(certificate: Path) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, certificate.parent / "key.pem")
    yield from _serve(context)


@pytest.fixture
def http_url() -> Iterator[str]:
    yield from _serve(None)


def _sync_get(url: str) -> int:
    with httpx.Client(verify=client_context()) as http:
        return http.get(url).status_code


def _async_get(url: str) -> int:
    async def get() -> int:
        async with httpx.AsyncClient(verify=client_context()) as http:
            return (await http.get(url)).status_code

    return asyncio.run(get())


@pytest.mark.parametrize("get", [_sync_get, _async_get], ids=["sync", "async"])
def test_an_untrusted_certificate_is_refused(
    get: object, https_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        get(https_url)  # type: ignore[operator]


@pytest.mark.parametrize("get", [_sync_get, _async_get], ids=["sync", "async"])
def test_ssl_cert_file_is_trusted_as_httpx_does(
    get: object, https_url: str, certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    assert get(https_url) == 200  # type: ignore[operator]
    with httpx.Client() as plain:  # httpx's own context agrees
        assert plain.get(https_url).status_code == 200


def test_host_names_are_checked(
    certificate: Path, https_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    # The certificate names localhost, not 127.0.0.1.
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        _sync_get(https_url.replace("localhost", "127.0.0.1"))


def test_plain_http_loads_no_certificates(http_url: str) -> None:
    context = client_context()
    with httpx.Client(verify=context) as http:
        assert http.get(http_url).status_code == 200
    assert context.cert_store_stats()["x509_ca"] == 0
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_the_clients_use_it(https_url: str) -> None:
    """Client and AsyncClient verify through it; its store fills at the handshake."""
    client = Client(base_url=https_url)
    aclient = AsyncClient(base_url=https_url)
    contexts = [c._http._transport._pool._ssl_context for c in (client, aclient)]  # type: ignore[attr-defined]
    assert all(isinstance(c, type(client_context())) for c in contexts)
    assert [c.cert_store_stats()["x509_ca"] for c in contexts] == [0, 0]

    async def aget() -> None:
        await aclient._http.get(https_url)

    try:
        for get in (lambda: client._http.get(https_url), lambda: asyncio.run(aget())):
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                get()
        assert all(c.cert_store_stats()["x509_ca"] > 0 for c in contexts)
    finally:
        client.close()
        asyncio.run(aclient.close())
