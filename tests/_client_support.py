"""Helpers for the client tests: real recorded bodies, and a recording MockTransport.

The ``clean_client_env`` fixture these tests use lives in ``conftest.py``.
"""

from __future__ import annotations

import copy
import json
import pathlib
from collections.abc import Callable
from typing import Any

import httpx

from replicate_widgets._client.client import Client
from replicate_widgets._client.retry import RetryPolicy

RESPONSES = pathlib.Path(__file__).parent / "fixtures" / "responses"
API = "https://api.replicate.com/v1"
TOKEN = "r8_TESTtokenVALUEthatMustNeverLeak0123"
FAST = RetryPolicy(max_retries=3, backoff_base=0.001, backoff_max=0.01)
"""Retries without waiting, for tests."""


def load(name: str) -> Any:
    """A recorded response body (fresh copy each call)."""
    return copy.deepcopy(json.loads((RESPONSES / f"{name}.json").read_text()))


class Recorder:
    """A MockTransport handler that records requests and answers from a route table.

    ``routes`` maps ``"METHOD /path"`` (path without /v1, or a full URL) to a list of
    responses served in order (the last one repeats) or a callable.
    """

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []
        self._counts: dict[str, int] = {}

    def key(self, request: httpx.Request) -> str:
        url = str(request.url.copy_with(query=None))
        path = url[len(API) :] if url.startswith(API) else url
        return f"{request.method} {path}"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        key = self.key(request)
        if key not in self.routes:
            return httpx.Response(
                404, json={"detail": f"no route {key}", "status": 404}
            )
        route = self.routes[key]
        if callable(route):
            result: httpx.Response = route(request)
            return result
        n = self._counts.get(key, 0)
        self._counts[key] = n + 1
        answer = route[min(n, len(route) - 1)]
        if isinstance(answer, httpx.Response):
            return answer
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return httpx.Response(status, json=body)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def json_body(request: httpx.Request) -> Any:
    return json.loads(request.content)


Handler = Callable[[httpx.Request], httpx.Response]


def make(routes: dict[str, Any], **kwargs: Any) -> tuple[Client, Recorder]:
    """A Client over a recording MockTransport answering ``routes``."""
    recorder = Recorder(routes)
    kwargs.setdefault("api_token", TOKEN)
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("poll_interval", 0.001)
    client = Client(transport=httpx.MockTransport(recorder), **kwargs)
    return client, recorder
