"""Turn API responses into typed results: the ``parse`` half of every :class:`Call`.

Shared by the endpoint modules (:mod:`.endpoints`, :mod:`.endpoints_deployments`);
each parser raises ``ValueError``/``TypeError`` on a body it cannot read, which
:mod:`.http` reports as an unexpected response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from .types import Hardware, Page, Resource

R = TypeVar("R", bound=Resource)


def _json(response: httpx.Response) -> Any:
    return response.json()


def one(cls: type[R]) -> Callable[[httpx.Response], R]:
    """Parser for a single object."""
    return lambda response: cls.from_json(_json(response))


def page_of(cls: type[R]) -> Callable[[httpx.Response], Page[R]]:
    """Parser for a ``{next, previous, results}`` page (fetcher attached later)."""

    def parse(response: httpx.Response) -> Page[R]:
        body = _json(response)
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise ValueError("expected a page {next, previous, results}")
        return Page(
            results=[cls.from_json(item) for item in body["results"]],
            next=body.get("next"),
            previous=body.get("previous"),
            _item_cls=cls,
        )

    return parse


def nothing(_response: httpx.Response) -> None:
    """Parser for an empty answer (``204``/``202``)."""
    return None


def text(response: httpx.Response) -> str:
    """Parser for a plain-text body (a README)."""
    return response.text


def hardware(response: httpx.Response) -> list[Hardware]:
    """Parser for ``GET /hardware``: a bare list, not a page."""
    body = _json(response)
    if not isinstance(body, list):
        raise ValueError("expected a list of hardware")
    return [Hardware.from_json(item) for item in body]
