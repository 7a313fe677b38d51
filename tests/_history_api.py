"""api.replicate.com as History sees it, replayed from recorded responses.

The local backend lists everything on one page and never removes data, so cursor
paging over many pages and Replicate's data removal are replayed here through
``httpx.MockTransport`` from real responses (tests/fixtures/responses).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx

RESPONSES = Path(__file__).parent / "fixtures" / "responses"


def fixture(name: str) -> dict[str, Any]:
    """A recorded api.replicate.com response body."""
    return json.loads((RESPONSES / name).read_text())


def api_prediction(i: int, **changes: Any) -> dict[str, Any]:
    """The recorded succeeded prediction, as the ``i``-th newest of a list."""
    body = copy.deepcopy(fixture("prediction-succeeded.json"))
    body["id"] = f"{body['id'][:-3]}{i:03d}"
    body["created_at"] = f"2023-08-16T{18 - i // 60:02d}:{59 - i % 60:02d}:08.360785Z"
    body.update(changes)
    return body


class ReplicateAPI:
    """Serves ``GET /v1/predictions`` as Replicate does: pages linked by ``next``.

    Parameters
    ----------
    pages
        The list's pages, newest first.
    routes
        More ``path: body`` answers (a prediction, a model, a version).

    Attributes
    ----------
    listed
        The cursor of every list request, in order (``0`` for the first page).
    """

    def __init__(
        self, pages: list[list[dict[str, Any]]], routes: dict[str, Any] | None = None
    ) -> None:
        self.pages = pages
        self.routes = dict(routes or {})
        for page in pages:
            for body in page:
                self.routes.setdefault(f"/v1/predictions/{body['id']}", body)
        self.listed: list[int] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/predictions":
            n = int(request.url.params.get("cursor", "0"))
            self.listed.append(n)
            nxt = (
                f"https://api.replicate.com/v1/predictions?cursor={n + 1}"
                if n + 1 < len(self.pages)
                else None
            )
            return httpx.Response(
                200, json={"results": self.pages[n], "next": nxt, "previous": None}
            )
        if request.url.path in self.routes:
            return httpx.Response(200, json=self.routes[request.url.path])
        return httpx.Response(404, json={"detail": "Not found.", "status": 404})
