"""A local Replicate-compatible backend that runs Cog models with coglet.

Start it from Python with :func:`serve` (it runs on its own event loop in a
daemon thread, so it works inside a notebook kernel) or from a shell with
``python -m replicate_widgets.server``. It speaks the Replicate HTTP API v1, so
the official ``replicate`` client and this package's ``Client`` work against
``server.url``.

Examples
--------
>>> from replicate_widgets.server import serve
>>> with serve(port=0) as server:          # doctest: +SKIP
...     print(server.url)
http://127.0.0.1:54321/v1
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from replicate_widgets._loopback import is_loopback_host
from replicate_widgets.server._catalog.remote import (
    RemoteModels,
    RemoteSpec,
    parse_remote_spec,
)

from ._catalog.registry import Registry
from ._cog.group_records import GroupRecords
from ._cog.models import LocalModel, bundled_models, load_model
from ._engine.engine import Engine
from ._engine.instances import RunnerPool
from ._engine.sessions import Sessions
from ._engine.webhooks import new_secret
from ._storage.files_store import FileStore
from ._storage.store import Store
from ._web.app import OUTPUT_UPLOADS, build_app

__all__ = [
    "LocalServer",
    "ServerConfig",
    "default_data_dir",
    "load_models",
    "serve",
    "split_models",
]

log = logging.getLogger(__name__)

DATA_DIR_ENV = "REPLICATE_WIDGETS_DATA_DIR"
STARTUP_TIMEOUT = 120.0
KEEP_ALIVE_SECONDS = 75
"""How long an idle client connection is kept open.

Longer than clients keep idle connections for reuse (httpx: 5 s), so a
client never sends a request on a connection the server is closing that
instant, which fails as a ``ReadError``; uvicorn's default is those same 5 s.
"""


def default_data_dir() -> Path:
    """Return where history and files live unless told otherwise.

    ``$REPLICATE_WIDGETS_DATA_DIR`` if set, else ``$XDG_CACHE_HOME`` (or
    ``~/.cache``) ``/replicate-widgets``.
    """
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "replicate-widgets"


def check_public_url(url: str) -> str:
    """Return a ``--public-url`` without its trailing slash, or raise ``ValueError``."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"public_url {url!r} must be an http:// or https:// URL such as "
            "https://models.example.org (without /v1)."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            f"public_url {url!r} must not have a query, fragment or user name; "
            "pass just the scheme, host, port and path prefix."
        )
    return url.rstrip("/")


def split_models(
    models: Sequence[str | os.PathLike[str] | LocalModel],
) -> tuple[list[str | os.PathLike[str] | LocalModel], list[RemoteSpec]]:
    """Separate model folders from ``NAME=URL`` servers (:mod:`._catalog.remote`).

    Raises
    ------
    ValueError
        For a ``NAME=URL`` whose name or URL cannot be served.
    """
    folders: list[str | os.PathLike[str] | LocalModel] = []
    remotes: list[RemoteSpec] = []
    for item in models:
        spec = parse_remote_spec(item) if isinstance(item, str) else None
        if spec is None:
            folders.append(item)
        else:
            remotes.append(spec)
    return folders, remotes


def load_models(
    models: Sequence[str | os.PathLike[str] | LocalModel], *, bundled: bool = True
) -> list[LocalModel]:
    """Load model folders (and the bundled examples) for serving.

    A folder's ``model.json`` may name its ``owner`` and ``name``; otherwise
    it is served as ``local/<folder name>``.

    Raises
    ------
    replicate_widgets.server._storage.model_files.ModelLoadError
        When a folder is not a loadable Cog model; the message says why.
    """
    loaded = list(bundled_models()) if bundled else []
    for item in models:
        if isinstance(item, LocalModel):
            loaded.append(item)
            continue
        directory = Path(item).expanduser()
        sidecar: dict[str, Any] = {}
        with contextlib.suppress(OSError, json.JSONDecodeError):
            sidecar = json.loads((directory / "model.json").read_text("utf-8"))
        if not isinstance(sidecar, dict):
            sidecar = {}
        loaded.append(
            load_model(
                directory,
                owner=str(sidecar.get("owner", "local")),
                name=sidecar.get("name"),
            )
        )
    return loaded


@dataclass
class ServerConfig:
    """Everything the backend needs to start.

    Attributes
    ----------
    models
        Loaded models to serve.
    data_dir
        Where the SQLite database and files live.
    origin
        ``http://host:port`` this machine reaches the server at.
    token
        Bearer token required on ``/v1`` (``None``: no auth).
    rate_limit
        Prediction creations per second (``None``: unlimited).
    public_url
        The URL clients use (``--public-url``), the base of every URL in
        documents; ``None``: ``origin``, or each request's ``Host`` when bound
        to a public address.
    public_bind
        Whether the server listens on a non-loopback address.
    remote
        Cog servers elsewhere to serve by URL.
    instances
        Processes each model version may run on at once.
    prestart
        Start a model's process when a client reads the model, so it is up by
        the first run (the embedded backend does).
    """

    models: list[LocalModel]
    data_dir: Path
    origin: str
    token: str | None = field(default=None, repr=False)
    rate_limit: float | None = None
    public_url: str | None = None
    public_bind: bool = False
    remote: list[RemoteSpec] = field(default_factory=list)
    instances: int = 1
    prestart: bool = False
    startup_error: list[BaseException] = field(default_factory=list)


def create_app(config: ServerConfig, sessions: Sessions | None = None) -> Any:
    """Return the ASGI application for ``config``.

    ``sessions`` cancels the predictions of clients that went away; pass one to
    end its leases when stopping (:meth:`Sessions.stop_threadsafe`).
    """
    sessions = sessions if sessions is not None else Sessions()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            store = Store(config.data_dir / "replicate-widgets.sqlite3")
            engine = _start_engine(store, config)
        except BaseException as exc:
            config.startup_error.append(exc)
            raise
        app.state.engine = engine
        remote = RemoteModels(engine.registry, store, config.remote)
        sessions.bind(engine)
        app.state.sessions = sessions
        try:
            await remote.start()
            for doc in store.list_deployments():
                engine.apply_deployment(doc["owner"], doc["name"])
            yield
        finally:
            await sessions.close()
            await remote.close()
            await engine.close()
            store.close()

    return build_app(
        lifespan,
        config.token,
        public_url=config.public_url,
        # Only a server that checks tokens answers other names than loopback ones.
        origin_from_host=config.public_bind
        and config.token is not None
        and config.public_url is None,
    )


def _start_engine(store: Store, config: ServerConfig) -> Engine:
    file_key = store.get_meta("file_signing_key")
    if file_key is None:
        file_key = secrets.token_hex(32)
        store.set_meta("file_signing_key", file_key)
    webhook_secret = store.get_meta("webhook_secret")
    if webhook_secret is None:
        webhook_secret = new_secret()
        store.set_meta("webhook_secret", webhook_secret)
    registry = Registry(store)
    for model in config.models:
        registry.register(model)
    registry.restore_trained()
    records = GroupRecords(config.data_dir)
    reaped = records.reap_stale()
    if reaped:
        log.warning("killed %d model process group(s) of a stopped backend", reaped)
    files = FileStore(config.data_dir, bytes.fromhex(file_key))
    engine = Engine(
        store,
        files,
        registry,
        # coglet uploads output files here, so they keep the model's names.
        RunnerPool(
            records=records,
            instances=config.instances,
            upload_url=f"{config.origin}{OUTPUT_UPLOADS}{files.upload_key}/",
        ),
        origin=config.public_url or config.origin,
        local_origin=config.origin,
        webhook_secret=webhook_secret,
        rate_limit=config.rate_limit,
        prestart=config.prestart,
    )
    failed = engine.recover()
    if failed:
        log.warning("marked %d interrupted prediction(s) as failed", failed)
    return engine


class LocalServer:
    """A running local backend; close it (or use ``with``) to stop it.

    Attributes
    ----------
    url
        The API base URL, ``http://127.0.0.1:PORT/v1`` (or the public URL's).
    port
        The TCP port.
    data_dir
        Where history and files are kept.
    """

    def __init__(self, config: ServerConfig, sock: socket.socket) -> None:
        self.url = f"{config.public_url or config.origin}/v1"
        self.port = int(sock.getsockname()[1])
        self.data_dir = config.data_dir
        self._socket = sock
        self._sessions = Sessions()
        uv_config = uvicorn.Config(
            create_app(config, self._sessions),
            lifespan="on",
            log_level="warning",
            access_log=False,
            # uvloop and httptools when installed (uvicorn's "standard" extra),
            # else asyncio's own loop and h11.
            loop="auto",
            http="auto",
            ws="none",
            # No proxy sits in front unless the person puts one there; trusting
            # X-Forwarded-* from any loopback caller would let it pick the
            # scheme and client address the gate sees.
            proxy_headers=False,
            # Nothing needs it; each client would parse it in every answer.
            server_header=False,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(uv_config)
        self._thread = threading.Thread(
            target=self._run, name="replicate-widgets-server", daemon=True
        )
        self._thread.start()
        while not self._server.started:
            self._thread.join(0.01)
            if not self._thread.is_alive():
                sock.close()
                cause = config.startup_error[0] if config.startup_error else None
                raise RuntimeError(
                    f"the local server failed to start: {cause}"
                ) from cause

    def _run(self) -> None:
        # A private loop: the kernel's own loop is never touched.
        self._server.run(sockets=[self._socket])

    @property
    def running(self) -> bool:
        """Whether the server thread is still serving."""
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop the server, its model processes and in-flight predictions."""
        if self._thread.is_alive():
            # Open session leases would hold the graceful shutdown otherwise.
            self._sessions.stop_threadsafe()
            self._server.should_exit = True
            self._thread.join()
        self._socket.close()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "closed"
        return f"<LocalServer {self.url} {state}>"


def serve(
    port: int = 0,
    models: Sequence[str | os.PathLike[str] | LocalModel] = (),
    *,
    host: str = "127.0.0.1",
    data_dir: str | os.PathLike[str] | None = None,
    token: str | None = None,
    rate_limit: float | None = None,
    bundled: bool = True,
    public_url: str | None = None,
    instances: int = 1,
    prestart: bool = False,
) -> LocalServer:
    """Start the local backend in a background thread; return once listening.

    Parameters
    ----------
    port
        TCP port; 0 picks a free one (read it from ``server.url``).
    models
        Extra model folders (or loaded :class:`LocalModel` objects) to serve,
        and Cog servers already running elsewhere as ``"NAME=http://HOST:PORT"``
        (served as ``local/NAME``; ``"owner/name=URL"`` picks the owner). The
        backend never starts or stops those.
    host
        Interface to bind; anything but loopback requires ``token``.
    data_dir
        Where history and files persist; defaults to :func:`default_data_dir`.
    token
        If set, every ``/v1`` request must send ``Authorization: Bearer <token>``.
    rate_limit
        Prediction creations allowed per second; beyond it, 429 problems.
    bundled
        Also serve the bundled models (``replicate/hello-world`` ...).
    public_url
        The URL clients reach the server at, such as
        ``https://models.example.org`` behind a reverse proxy; every URL the
        server hands out starts with it, and its host name is served. Without
        it, a server bound to a public address uses the ``Host`` each request
        names.
    instances
        How many processes each model version may run on at once (one more
        starts when every running one is busy; each stops when idle). With
        GPUs, each gets its own ``CUDA_VISIBLE_DEVICES``.
    prestart
        Start a model's process as soon as a client reads the model
        (``GET /v1/models/{owner}/{name}``, what a form does first), so its
        start-up overlaps the form being shown; it stops after the idle
        timeout if no run comes. Off by default: a served backend would start
        a process for every model anyone looks at.

    Returns
    -------
    LocalServer
        The running server; use it as a context manager or call ``close()``.

    Raises
    ------
    ValueError
        For a non-loopback ``host`` without ``token``, a bad ``rate_limit``,
        ``public_url``, ``instances`` or ``NAME=URL``.
    """
    if public_url is not None:
        public_url = check_public_url(public_url)
    if not is_loopback_host(host) and not token:
        raise ValueError(
            f"Refusing to listen on {host} without a token: anyone who can reach "
            "it could run models and read files. Pass token=... (--token), or "
            "keep the default host 127.0.0.1."
        )
    if rate_limit is not None and rate_limit <= 0:
        raise ValueError(
            "rate_limit must be a positive number of prediction "
            "creations per second (or None for no limit)."
        )
    if isinstance(instances, bool) or not isinstance(instances, int) or instances < 1:
        raise ValueError(
            f"instances must be a whole number, 1 or more, not {instances!r}."
        )
    folders, remotes = split_models(models)
    directory = Path(data_dir or default_data_dir()).expanduser()
    try:
        # Prompts, outputs and the webhook secret live here: a new folder is
        # private to its owner (other local users cannot list or read it).
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"cannot keep data in {directory} ({exc.strerror}); pass data_dir=... "
            "(--data-dir) naming a folder you can write to"
        ) from exc
    loaded = load_models(folders, bundled=bundled)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this; without it, Nagle's algorithm and delayed
    # ACKs add about 40 ms to every keep-alive request (measured).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick "
            "another port, or port=0 for a free one"
        ) from exc
    sock.listen(2048)
    bound = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "localhost") else host  # noqa: S104 (compared, not bound)
    if ":" in shown:
        shown = f"[{shown}]"
    config = ServerConfig(
        models=loaded,
        data_dir=directory,
        origin=f"http://{shown}:{bound}",
        token=token,
        rate_limit=rate_limit,
        public_url=public_url,
        public_bind=not is_loopback_host(host),
        remote=remotes,
        instances=instances,
        prestart=prestart,
    )
    return LocalServer(config, sock)
