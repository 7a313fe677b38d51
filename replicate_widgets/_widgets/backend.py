"""Which backend a widget or client talks to when the person did not say.

Order, first match wins:

1. an explicit ``backend=`` (``"local"``, ``"cloud"`` or a base URL) or ``base_url=``;
2. ``REPLICATE_BASE_URL`` in the environment;
3. a token (from :func:`replicate_widgets.login` or ``REPLICATE_API_TOKEN``): the cloud;
4. ``REPLICATE_WIDGETS_LOCAL_URL`` (set by ``make demo`` for its kernels): that
   local backend;
5. otherwise the embedded local backend, started on demand inside this process.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from replicate_widgets._client import auth as _auth
from replicate_widgets._client.http import DEFAULT_BASE_URL

if TYPE_CHECKING:
    from replicate_widgets._client.client import Client
    from replicate_widgets.server import LocalServer

__all__ = ["default_backend", "describe_backend", "local_server", "resolve_client"]

Backend = Literal["local", "cloud"]

LOCAL_URL_ENV = "REPLICATE_WIDGETS_LOCAL_URL"

_lock = threading.Lock()
_server: LocalServer | None = None
_clients: dict[str, Client] = {}


def local_server() -> LocalServer:
    """Return this process's embedded local backend, starting it on first use.

    It binds 127.0.0.1 on a free port, runs in a daemon thread and stops with the
    process. Starting it from a notebook kernel is safe: it has its own event loop.
    """
    global _server
    with _lock:
        if _server is None:
            from replicate_widgets.server import serve

            # A notebook opens a model's form before running it: its process
            # starts while the form is shown (see serve's prestart).
            _server = serve(port=0, prestart=True)
        return _server


def _is_local_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}


def _chosen_url(backend: str | None, base_url: str | None) -> str | None:
    """Return the base URL the order above picks, or None for the embedded backend."""
    if base_url:
        return base_url
    if backend is not None and backend not in ("local", "cloud"):
        if not backend.startswith(("http://", "https://")):
            raise ValueError(
                f"backend={backend!r} is not understood: use 'local', 'cloud' or a "
                "base URL such as 'http://127.0.0.1:5000/v1'."
            )
        return backend
    if backend == "cloud":
        return DEFAULT_BASE_URL
    if backend is None:
        env = os.environ.get("REPLICATE_BASE_URL")
        if env:
            return env
        if _auth.get_token():
            return DEFAULT_BASE_URL
    return os.environ.get(LOCAL_URL_ENV) or None


def resolve_base_url(backend: str | None = None, base_url: str | None = None) -> str:
    """Return the base URL to use (see the module docstring for the order)."""
    return _chosen_url(backend, base_url) or local_server().url


def default_backend() -> str:
    """Say which backend new widgets use when not told, without starting one.

    Returns
    -------
    str
        ``"Replicate's cloud"``, ``"the local backend"``, or the URL set in
        ``REPLICATE_BASE_URL``.
    """
    env = os.environ.get("REPLICATE_BASE_URL")
    if env:
        return f"{env} (REPLICATE_BASE_URL)"
    if _chosen_url(None, None) == DEFAULT_BASE_URL:
        return "Replicate's cloud"
    return "the local backend"


def resolve_client(backend: str | None = None, base_url: str | None = None) -> Client:
    """Return a :class:`~replicate_widgets.Client` for the chosen backend.

    Parameters
    ----------
    backend
        ``"local"``, ``"cloud"``, a base URL, or ``None`` to decide from the
        environment (see the module docstring).
    base_url
        An explicit base URL; wins over everything else.
    """
    from replicate_widgets._client.client import Client

    url = resolve_base_url(backend, base_url)
    # Widgets share one client (one connection pool) per backend for the life of
    # the process. It holds no token: the client reads login()'s token or
    # REPLICATE_API_TOKEN at each request, so a later login() takes effect.
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = _clients[url] = Client(base_url=url)
        return client


def describe_backend(base_url: str) -> str:
    """Return the short badge text for a base URL: ``local backend`` or the host."""
    if _is_local_url(base_url):
        return "local backend"
    host = urlsplit(base_url).hostname or base_url
    return "Replicate cloud" if host == "api.replicate.com" else host
