"""Helpers shared by the route modules: parsing requests, rendering answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import urllib.parse
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from replicate_widgets.server._clock import iso, parse_iso
from replicate_widgets.server._engine.engine import Engine
from replicate_widgets.server._engine.live import Live
from replicate_widgets.server._engine.sessions import own
from replicate_widgets.server._problem import Problem
from replicate_widgets.server._storage.files_store import absolutize

_PREFER_WAIT = re.compile(r"(?:^|[\s,;])wait(?:\s*=\s*([^\s,;]*))?", re.IGNORECASE)


def engine_of(request: Request) -> Engine:
    """Return the app's :class:`~replicate_widgets.server._engine.engine.Engine`."""
    engine: Engine = request.app.state.engine
    return engine


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Return a JSON response."""
    return JSONResponse(data, status_code=status, headers=headers)


MAX_JSON_DEPTH = 64
"""How deeply a JSON body may nest arrays and objects (model inputs are flat)."""
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_json_type(content_type: str) -> bool:
    """Whether a ``Content-Type`` is JSON: ``application/json`` or ``*/*+json``."""
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


async def read_json(request: Request) -> Any:
    """Parse the JSON body (empty means ``{}``).

    A body must be sent as ``application/json``: a web page can send
    ``text/plain`` (or no type) to any address without the browser asking first,
    so accepting it would let any page create predictions here. A wrong type is
    a 415 problem; malformed or too deeply nested JSON a 400.
    """
    headers = request.headers
    content_type = headers.get("content-type", "")
    has_body = (
        headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
    )
    if has_body and not is_json_type(content_type):
        # Refused before the body is read.
        raise Problem(
            415,
            f"Send the JSON body with Content-Type: application/json "
            f"(this request said {content_type or 'nothing'!r}).",
        )
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Problem(
            400,
            f"The request body is not valid JSON ({exc}). Send a "
            "JSON object with Content-Type: application/json.",
        ) from exc
    except RecursionError as exc:
        raise _too_deep() from exc
    _check_tree(value)
    return value


def _check_tree(value: Any) -> None:
    r"""Refuse a parsed body that nests too deeply or holds a lone surrogate.

    Python's JSON reader accepts ``"\ud800"``, but no UTF-8 encoder can write it:
    stored, it would break every later response that includes it (lists too).
    One iterative walk checks both, keys included.
    """
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                raise Problem(
                    400,
                    "The request body holds a lone UTF-16 surrogate (a \\ud800-"
                    "\\udfff escape without its pair), which is not text. Send "
                    "valid Unicode text.",
                )
            continue
        if isinstance(node, dict):
            stack.extend((key, level) for key in node)
            node = list(node.values())
        if isinstance(node, list):
            if level > MAX_JSON_DEPTH:
                raise _too_deep()
            stack.extend((child, level + 1) for child in node)


def _too_deep() -> Problem:
    return Problem(
        400,
        f"The request body nests arrays and objects too deeply (at most "
        f"{MAX_JSON_DEPTH} levels). Send a flatter JSON object.",
    )


def page(request: Request, results: list[Any], cursor: str | None) -> JSONResponse:
    """Return a paginated list response ``{next, previous, results}``."""
    next_url = None
    if cursor is not None:
        query = dict(request.query_params)
        query["cursor"] = cursor
        origin = engine_of(request).origin
        next_url = f"{origin}{canonical(request.url.path)}?" + urllib.parse.urlencode(
            query
        )
    return json_response({"next": next_url, "previous": None, "results": results})


def canonical(path: str) -> str:
    """Return ``path`` with a doubled ``/v1/v1`` prefix reduced to ``/v1``."""
    while path.startswith("/v1/v1/"):
        path = path[3:]
    return path


def prefer_wait(request: Request) -> float | None:
    """Return the seconds of ``Prefer: wait[=n]``, or ``None``; bad values are a 400."""
    header = request.headers.get("prefer")
    if not header:
        return None
    match = _PREFER_WAIT.search(header)
    if match is None:
        return None
    if match.group(1) is None:
        return 60.0
    try:
        seconds = int(match.group(1))
    except ValueError:
        seconds = 0
    if not 1 <= seconds <= 60:
        raise Problem(
            400,
            f"Prefer: wait={match.group(1)} is invalid; use "
            "Prefer: wait (60 s) or wait=n with n from 1 to 60.",
        )
    return float(seconds)


def timestamp_filter(request: Request, name: str) -> str | None:
    """Return a query timestamp normalised for the store, or ``None``."""
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        return iso(parse_iso(value))
    except ValueError as exc:
        raise Problem(
            400,
            f"{name}={value!r} is not an ISO 8601 timestamp, e.g. "
            "2024-01-31T12:00:00Z.",
        ) from exc


def render(request: Request, doc: Any) -> Any:
    """Return a document with its ``rwlocal:`` URLs made absolute."""
    return absolutize(doc, engine_of(request).origin)


def render_all(request: Request, docs: list[Any]) -> list[Any]:
    """Return documents with their ``rwlocal:`` URLs made absolute."""
    return [render(request, d) for d in docs]


async def _wait_done(live: Live, seconds: float) -> None:
    """Wait up to ``seconds`` for ``live`` to finish.

    Where it can (Python 3.11+), without a task in between, so this handler
    runs as soon as the prediction ends.
    """
    if sys.version_info >= (3, 11):
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await live.done.wait()
    else:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(live.done.wait(), seconds)


async def respond_created(request: Request, live: Live, kind: str) -> JSONResponse:
    """Answer a create request: 201, or 202 when ``Prefer: wait`` ran out first.

    A request naming its client's session gives that session the prediction
    (:mod:`replicate_widgets.server._engine.sessions`).
    """
    own(request, live)
    wait = prefer_wait(request) if kind == "prediction" else None
    status = 201
    if wait is not None:
        await _wait_done(live, wait)
        status = 201 if live.done.is_set() else 202
    doc = engine_of(request).render(live.doc, kind)
    return json_response(doc, status, {"Location": doc["urls"]["get"]})
