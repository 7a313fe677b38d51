"""The Replicate HTTP API v1 as Starlette routes: a thin adapter.

Handlers parse the request, call the :class:`~._engine.Engine` or
:class:`~._registry.Registry`, and render documents; every error is a
:class:`~._problem.Problem` rendered as ``application/problem+json``. Besides
``/v1``, three capability routes need no token: ``/v1/streams/{id}`` (the
official JavaScript client opens ``urls.stream`` without one),
``/outputs/...`` (output files) and ``/covers/...`` (cover images).
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ._problem import Problem, problem_response
from ._routes_catalog import (
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
from ._routes_deployments import DEPLOYMENT_ROUTES
from ._routes_files import (
    create_file,
    delete_file,
    download_file,
    get_file,
    list_files,
    output_file,
)
from ._sse import parse_last_event_id
from ._web import (
    canonical,
    engine_of,
    json_response,
    page,
    prefer_wait,
    read_json,
    respond_created,
    timestamp_filter,
)

log = logging.getLogger(__name__)

_PUBLIC = ("/v1/streams/", "/outputs/", "/covers/")
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
        events.follow(after),
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
    Route("/v1/predictions", _lister("prediction"), methods=["GET"]),
    Route("/v1/predictions", create_prediction, methods=["POST"]),
    Route("/v1/predictions/{id}", _getter("prediction")),
    Route("/v1/predictions/{id}/cancel", _canceler("prediction"), methods=["POST"]),
    Route("/v1/trainings", _lister("training"), methods=["GET"]),
    Route("/v1/trainings/{id}", _getter("training")),
    Route("/v1/trainings/{id}/cancel", _canceler("training"), methods=["POST"]),
    Route("/v1/webhooks/default/secret", webhook_secret),
    Route("/v1/streams/{id}", stream),
    Route("/p/{id}", web_page),
    Route("/outputs/{token}/{name}", output_file),
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


class Gate:
    """ASGI wrapper: optional bearer-token check, and the ``/v1/v1`` alias.

    The official Python client (1.0.7) puts ``/v1/...`` paths after its
    ``base_url``, so given the server's URL (which ends in ``/v1``) it asks for
    ``/v1/v1/...``; those are served as ``/v1/...``.
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = canonical(scope["path"])
        if path != scope["path"]:
            scope = {**scope, "path": path, "raw_path": path.encode()}
        authorized = self.token is None or self._has_token(scope)
        scope.setdefault("state", {})["authorized"] = authorized
        public = (
            path.startswith(_PUBLIC)
            or path.startswith("/p/")
            or (
                _SIGNED_DOWNLOAD.fullmatch(path) is not None
                and b"signature=" in scope["query_string"]
            )
        )
        if not authorized and not public:
            response = problem_response(
                Problem(
                    401,
                    "You did not pass a valid authentication token. Send "
                    "Authorization: Bearer <token> with the token the server was "
                    "started with.",
                    title="Unauthenticated",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

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


def build_app(lifespan: Any, token: str | None) -> ASGIApp:
    """Return the ASGI app: routes, problem+json errors and the token gate."""
    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers={
            Problem: _problem,
            HTTPException: _http_error,
            Exception: _crash,
        },
    )
    return Gate(app, token)
