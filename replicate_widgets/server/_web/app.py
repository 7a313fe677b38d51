"""The Replicate HTTP API v1 as Starlette routes: a thin adapter.

Handlers parse the request, call the
:class:`~replicate_widgets.server._engine.engine.Engine` or
:class:`~replicate_widgets.server._catalog.registry.Registry`, and render documents;
every error is a :class:`~replicate_widgets.server._problem.Problem` rendered as
``application/problem+json``.
Besides ``/v1``, capability routes need no token: ``/v1/streams/{id}`` (the official
JavaScript client opens ``urls.stream`` without one), ``/outputs/...`` (output files),
``/covers/...`` (cover images) and the signed download route. The :class:`Gate` in front
of the routes decides who may call and how much they may send.
"""

from __future__ import annotations

import functools
import hmac
import logging
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from replicate_widgets._loopback import is_loopback_host
from replicate_widgets.server._engine.engine import REQUEST_ORIGIN
from replicate_widgets.server._engine.sessions import lease
from replicate_widgets.server._engine.sse import parse_last_event_id
from replicate_widgets.server._problem import Problem, problem_response
from replicate_widgets.server._storage.files_store import (
    MAX_OUTPUT_SIZE,
    max_upload_body,
    too_large,
)

from .exchange import (
    canonical,
    engine_of,
    json_response,
    page,
    prefer_wait,
    read_json,
    respond_created,
    timestamp_filter,
)
from .routes_catalog import (
    account,
    cover,
    create_model,
    delete_model,
    delete_version,
    get_collection,
    get_model,
    get_version,
    hardware,
    list_collections,
    list_models,
    list_versions,
    model_examples,
    model_readme,
    search,
    search_models,
    update_model,
    webhook_secret,
)
from .routes_deployments import DEPLOYMENT_ROUTES
from .routes_files import (
    create_file,
    delete_file,
    download_file,
    get_file,
    list_files,
    output_file,
    receive_output,
)

log = logging.getLogger(__name__)

OUTPUT_UPLOADS = "/_coglet/outputs/"
"""Where coglet uploads output files: ``<this><key>/<file name>``."""
_PUBLIC = ("/v1/streams/", "/outputs/", "/covers/", OUTPUT_UPLOADS)
# A file's download URL, optionally ending with its name; its signature is
# checked by the route.
_SIGNED_DOWNLOAD = re.compile(r"/v1/files/[^/]+/download(?:/[^/]+)?")
Handler = Callable[[Request], Awaitable[Response]]


# ------------------------------------------------------------------ predictions
async def create_prediction(request: Request) -> Response:
    prefer_wait(request)  # reject a bad header before anything is queued
    live = engine_of(request).create_prediction(
        await read_json(request), cancel_after=request.headers.get("cancel-after")
    )
    return await respond_created(request, live, "prediction")


async def create_model_prediction(request: Request) -> Response:
    prefer_wait(request)
    p = request.path_params
    live = engine_of(request).create_prediction(
        await read_json(request),
        model=(p["owner"], p["name"]),
        cancel_after=request.headers.get("cancel-after"),
    )
    return await respond_created(request, live, "prediction")


def _lister(kind: str) -> Handler:
    async def handler(request: Request) -> Response:
        q = request.query_params
        source = q.get("source")
        if source not in (None, "api", "web"):
            raise Problem(400, "source must be 'web' or 'api'.")
        if source == "web":
            # Everything on the local backend is created through the API.
            return page(request, [], None)
        results, cursor = engine_of(request).list(
            kind,
            cursor=q.get("cursor"),
            created_after=timestamp_filter(request, "created_after"),
            created_before=timestamp_filter(request, "created_before"),
        )
        return page(request, results, cursor)

    return handler


def _getter(kind: str) -> Handler:
    async def handler(request: Request) -> Response:
        return json_response(engine_of(request).get(request.path_params["id"], kind))

    return handler


def _canceler(kind: str) -> Handler:
    async def handler(request: Request) -> Response:
        return json_response(
            await engine_of(request).cancel(request.path_params["id"], kind)
        )

    return handler


async def stream(request: Request) -> Response:
    events = engine_of(request).stream(request.path_params["id"])
    after = parse_last_event_id(request.headers.get("last-event-id"))
    return StreamingResponse(
        events.follow(after, engine_of(request).origin),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def web_page(request: Request) -> Response:
    return RedirectResponse(f"/v1/predictions/{request.path_params['id']}")


async def create_training(request: Request) -> Response:
    p = request.path_params
    live = engine_of(request).create_training(
        p["owner"], p["name"], p["version"], await read_json(request)
    )
    return await respond_created(request, live, "training")


# ---------------------------------------------------------------------- routes
ROUTES = [
    # Tried in order: the requests made for every prediction come first (each
    # route passed costs a regular-expression match). No other route's path
    # can be one of theirs, so the order changes no answer.
    Route("/v1/predictions", _lister("prediction"), methods=["GET"]),
    Route("/v1/predictions", create_prediction, methods=["POST"]),
    Route("/v1/predictions/{id}", _getter("prediction")),
    Route("/v1/predictions/{id}/cancel", _canceler("prediction"), methods=["POST"]),
    Route("/v1/streams/{id}", stream),
    Route("/v1/account", account),
    Route("/v1/collections", list_collections),
    Route("/v1/collections/{slug}", get_collection),
    *DEPLOYMENT_ROUTES,
    Route("/v1/files", list_files, methods=["GET"]),
    Route("/v1/files", create_file, methods=["POST"]),
    Route("/v1/files/{id}", get_file, methods=["GET"]),
    Route("/v1/files/{id}", delete_file, methods=["DELETE"]),
    Route("/v1/files/{id}/download", download_file, methods=["GET"]),
    Route("/v1/files/{id}/download/{name}", download_file, methods=["GET"]),
    Route("/v1/hardware", hardware),
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models", create_model, methods=["POST"]),
    Route("/v1/models", search_models, methods=["QUERY"]),
    Route("/v1/models/{owner}/{name}", get_model, methods=["GET"]),
    Route("/v1/models/{owner}/{name}", delete_model, methods=["DELETE"]),
    Route("/v1/models/{owner}/{name}", update_model, methods=["PATCH"]),
    Route("/v1/models/{owner}/{name}/readme", model_readme),
    Route("/v1/models/{owner}/{name}/examples", model_examples),
    Route(
        "/v1/models/{owner}/{name}/predictions",
        create_model_prediction,
        methods=["POST"],
    ),
    Route("/v1/models/{owner}/{name}/versions", list_versions),
    Route("/v1/models/{owner}/{name}/versions/{version}", get_version, methods=["GET"]),
    Route(
        "/v1/models/{owner}/{name}/versions/{version}",
        delete_version,
        methods=["DELETE"],
    ),
    Route(
        "/v1/models/{owner}/{name}/versions/{version}/trainings",
        create_training,
        methods=["POST"],
    ),
    Route("/v1/search", search, methods=["GET"]),
    Route("/v1/sessions/{id}", lease, methods=["GET"]),
    Route("/v1/trainings", _lister("training"), methods=["GET"]),
    Route("/v1/trainings/{id}", _getter("training")),
    Route("/v1/trainings/{id}/cancel", _canceler("training"), methods=["POST"]),
    Route("/v1/webhooks/default/secret", webhook_secret),
    Route("/p/{id}", web_page),
    Route("/outputs/{token}/{name}", output_file),
    Route(f"{OUTPUT_UPLOADS}{{key}}/{{name}}", receive_output, methods=["PUT"]),
    Route("/covers/{owner}/{name}", cover),
]


async def _problem(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)  # noqa: S101 (registered for Problem only)
    return problem_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101 (registered for it only)
    if exc.status_code == 404:
        detail = (
            f"No such endpoint: {request.method} {request.url.path}. The local "
            "server speaks the Replicate HTTP API under /v1."
        )
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    else:
        detail = str(exc.detail)
    return problem_response(
        Problem(exc.status_code, detail, headers=dict(exc.headers or {}))
    )


async def _crash(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        Problem(
            500, "The local server hit an internal error; the details are in its log."
        )
    )


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A Host header: a DNS name or IPv4 address, or a bracketed IPv6 address, and a port.
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$")
_FILE_RESPONSE_PATHS = ("/outputs/", "/covers/")

MAX_JSON_BODY = 16 * 1024 * 1024
"""The largest request body besides file uploads (16 MB).

Replicate advises data URLs only for files up to 256 KB and the Files API
beyond; this leaves room for a few megabytes of data URLs.
"""


# Cached for the reason is_loopback_host is.
@functools.lru_cache(maxsize=256)
def _split_host(value: str, scheme: str) -> tuple[str, int] | None:
    """Return ``(name, port)`` of a ``Host``/origin authority, or ``None`` if bad."""
    match = _HOST.match(value)
    if match is None:
        return None
    name = match.group(1).lower().strip("[]").rstrip(".")
    default = 443 if scheme in ("https", "wss") else 80
    return name, int(match.group(2) or default)


def _parse_origin(value: str) -> tuple[str, str, int] | None:
    """Return ``(scheme, name, port)`` of an ``Origin`` header, or ``None``."""
    scheme, sep, authority = value.partition("://")
    if not sep or scheme not in ("http", "https"):
        return None
    host = _split_host(authority, scheme)
    return None if host is None else (scheme, *host)


def _refuse(status: int, detail: str, title: str | None = None) -> Response:
    # The body of a refused request is never read; closing the connection keeps
    # the server from draining it.
    return problem_response(
        Problem(status, detail, title=title, headers={"Connection": "close"})
    )


class Gate:
    """ASGI wrapper in front of every route: who may call, and how much they send.

    - Without a token only loopback ``Host`` names (``127.0.0.1``, ``localhost``,
      ``[::1]``, and the ``public_url`` host) are served, so a web page cannot
      reach the server through a DNS name it controls (DNS rebinding).
    - A request a web page on another origin sent (``Origin``, or
      ``Sec-Fetch-Site`` on a state-changing method) is refused, as Jupyter
      Server does: a page the user visits must not drive the server.
    - With a token, ``/v1`` needs ``Authorization: Bearer``; the capability
      routes (streams, output files, covers, web pages, the signed download
      route ``/v1/files/{id}/download``, which checks its signature, and the
      route coglet uploads outputs to, which checks its key) do not.
    - Bodies are capped (:data:`MAX_JSON_BODY`, or a file's limit for
      ``POST /v1/files`` and output uploads) by ``Content-Length`` first and
      while they stream.
    - ``/v1/v1/...`` is served as ``/v1/...``: the official Python client (1.0.7)
      puts ``/v1/...`` paths after its ``base_url``, so given the server's URL
      (which ends in ``/v1``) it asks for ``/v1/v1/...``.

    Parameters
    ----------
    app
        The Starlette app.
    token
        The bearer token, or ``None`` for none.
    public_url
        The ``--public-url`` clients use, if any; its host is served too.
    origin_from_host
        Render documents at the origin of each request's ``Host`` (a server
        bound to a public address, with a token and no ``public_url``).
    """

    def __init__(
        self,
        app: ASGIApp,
        token: str | None,
        *,
        public_url: str | None = None,
        origin_from_host: bool = False,
    ) -> None:
        self.app = app
        self.token = token
        self.origin_from_host = origin_from_host
        self._public: tuple[str, str, int] | None = None
        if public_url is not None:
            parts = urllib.parse.urlsplit(public_url)
            self._public = _parse_origin(f"{parts.scheme}://{parts.netloc}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = canonical(scope["path"])
        if path != scope["path"]:
            scope = {**scope, "path": path, "raw_path": path.encode()}
        headers = _gate_headers(scope)
        refusal = self._check_caller(scope, headers)
        if refusal is None:
            refusal = self._check_token(scope, path)
        limit = _body_limit(scope["method"], path)
        length = headers.get("content-length", "")
        if refusal is None and length.isdigit() and int(length) > limit:
            refusal = problem_response(_too_large(path, limit))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        reset = None
        host = headers.get("host")
        if self.origin_from_host and host:
            reset = REQUEST_ORIGIN.set(f"{scope['scheme']}://{host}")
        try:
            await self.app(
                scope,
                _LimitedReceive(receive, limit, path),
                _secure_headers(send, sandbox=_serves_files(path)),
            )
        finally:
            if reset is not None:
                REQUEST_ORIGIN.reset(reset)

    # ------------------------------------------------------------- checks
    def _check_caller(self, scope: Scope, headers: dict[str, str]) -> Response | None:
        """Refuse foreign ``Host`` names and requests sent by other origins."""
        scheme = str(scope["scheme"])
        host = headers.get("host")
        own = None if host is None else _split_host(host, scheme)
        if host is not None and own is None:
            return _refuse(400, f"The Host header {host!r} is not a valid host[:port].")
        if own is not None and self.token is None and not self._served_name(own):
            return _refuse(
                403,
                f"This server only answers requests for 127.0.0.1, localhost or "
                f"[::1], not {host!r}, so that no web page can reach it through a "
                "name it controls. Use http://127.0.0.1:PORT; to serve other "
                "names, start it with --token (and --public-url).",
                title="Forbidden host",
            )
        origin = headers.get("origin")
        if origin is not None and not self._same_origin(origin, scheme, own):
            return _refuse(
                403,
                f"Requests from web pages on other origins are refused (Origin: "
                f"{origin}), so that a page you visit cannot use this server. "
                "Call the API from Python or a terminal.",
                title="Cross-origin request refused",
            )
        site = headers.get("sec-fetch-site")
        if scope["method"] not in _SAFE_METHODS and site in ("cross-site", "same-site"):
            return _refuse(
                403,
                f"Requests from other web sites are refused (Sec-Fetch-Site: "
                f"{site}), so that a page you visit cannot use this server. "
                "Call the API from Python or a terminal.",
                title="Cross-origin request refused",
            )
        return None

    def _served_name(self, host: tuple[str, int]) -> bool:
        # The public name with any port: a proxy in front may forward its own
        # Host, and a page cannot rebind a name the user chose.
        return is_loopback_host(host[0]) or (
            self._public is not None and self._public[1] == host[0]
        )

    def _same_origin(
        self, origin: str, scheme: str, own: tuple[str, int] | None
    ) -> bool:
        """Whether ``Origin`` is this server: its Host, or a loopback alias of it."""
        parsed = _parse_origin(origin)
        if parsed is None:  # "null" (sandboxed pages, files) or garbage
            return False
        if parsed == self._public:
            return True
        if own is None or parsed[0] != scheme:
            return False
        name, port = parsed[1:]
        if (name, port) == own:
            return True
        # localhost:PORT and 127.0.0.1:PORT are the same server.
        return port == own[1] and is_loopback_host(name) and is_loopback_host(own[0])

    def _check_token(self, scope: Scope, path: str) -> Response | None:
        authorized = self.token is None or self._has_token(scope)
        scope.setdefault("state", {})["authorized"] = authorized
        public = (
            path.startswith(_PUBLIC)
            or path.startswith("/p/")
            or _SIGNED_DOWNLOAD.fullmatch(path) is not None
        )
        if authorized or public:
            return None
        return problem_response(
            Problem(
                401,
                "You did not pass a valid authentication token. Send "
                "Authorization: Bearer <token> with the token the server was "
                "started with.",
                title="Unauthenticated",
                headers={"WWW-Authenticate": "Bearer", "Connection": "close"},
            )
        )

    def _has_token(self, scope: Scope) -> bool:
        assert self.token is not None  # noqa: S101 (checked by the caller)
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, given = value.decode("latin-1").partition(" ")
                if scheme.lower() in ("bearer", "token"):
                    return hmac.compare_digest(
                        given.strip().encode(), self.token.encode()
                    )
        return False


_GATE_HEADERS = frozenset({b"host", b"origin", b"sec-fetch-site", b"content-length"})


def _gate_headers(scope: Scope) -> dict[str, str]:
    """Return the headers the gate reads, in one pass over the request's.

    The first of each wins, as with Starlette's ``Headers.get``, which would
    walk them all once per header asked for.
    """
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name in _GATE_HEADERS:
            found.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return found


_UPLOAD = ("POST", "/v1/files")


def _body_limit(method: str, path: str) -> int:
    if (method, path) == _UPLOAD:
        return max_upload_body()
    if method == "PUT" and path.startswith(OUTPUT_UPLOADS):
        return MAX_OUTPUT_SIZE
    return MAX_JSON_BODY


def _serves_files(path: str) -> bool:
    return (
        path.startswith(_FILE_RESPONSE_PATHS)
        or _SIGNED_DOWNLOAD.fullmatch(path) is not None
    )


def _too_large(path: str, limit: int) -> Problem:
    if path == _UPLOAD[1]:
        problem = too_large()
    else:
        problem = Problem(
            413,
            f"The request body is larger than {limit // (1024 * 1024)} MB. Upload "
            "big files with POST /v1/files and pass their URLs in the input "
            "instead of data URLs.",
        )
    problem.headers["Connection"] = "close"
    return problem


class _LimitedReceive:
    """An ASGI ``receive`` that fails with a 413 problem past ``limit`` bytes."""

    def __init__(self, receive: Receive, limit: int, path: str) -> None:
        self._receive = receive
        self._limit = limit
        self._path = path
        self._size = 0

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._size += len(message.get("body", b""))
            if self._size > self._limit:
                raise _too_large(self._path, self._limit)
        return message


def _secure_headers(send: Send, *, sandbox: bool) -> Send:
    """Wrap ``send`` so responses are never MIME-sniffed, and files are sandboxed.

    Output files are whatever a model wrote, HTML included; served from this
    origin they could otherwise run scripts against the API.
    """
    extra = [(b"x-content-type-options", b"nosniff")]
    if sandbox:
        extra.append((b"content-security-policy", b"sandbox"))

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped


def build_app(
    lifespan: Any,
    token: str | None,
    *,
    public_url: str | None = None,
    origin_from_host: bool = False,
) -> ASGIApp:
    """Return the ASGI app: routes, problem+json errors and the :class:`Gate`."""
    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers={
            Problem: _problem,
            HTTPException: _http_error,
            Exception: _crash,
        },
    )
    return Gate(app, token, public_url=public_url, origin_from_host=origin_from_host)
