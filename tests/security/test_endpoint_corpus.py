"""Every route of the local backend, fed a hostile corpus over real HTTP.

Each route of the app's routing table is called with hostile path parameters,
query values and JSON bodies (script payloads, traversal, SQL, Unicode separators,
NUL, huge numbers, wrong types, ``__proto__`` keys, deep nesting). Whatever the
route, the answer is never a 5xx, an error is always a problem+json document, no
response is HTML, and the backend still serves its models afterwards.
"""

from __future__ import annotations

import itertools
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from replicate_widgets.server import serve
from replicate_widgets.server._web.app import ROUTES

pytestmark = pytest.mark.integration

BUNDLED = Path(__file__).parents[2] / "replicate_widgets" / "server" / "models"

STRINGS = [
    '"><img src=x onerror=alert(1)>',
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "../../../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "' OR 1=1 --",
    "x\u2028y\u2029z",
    "nul\x00byte",
    "\r\nX-Injected: 1",
    "$(touch pwned)`id`",
    "rwlocal:/v1/webhooks/default/secret",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "a" * 5000,
    "",
]
VALUES: list[Any] = [
    *STRINGS,
    1e308,
    -(2**70),
    None,
    True,
    [],
    {"__proto__": {"polluted": 1}, "constructor": {"prototype": {}}},
    [[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]],
]
BODIES: list[Any] = [
    {},
    [],
    "just a string",
    *({"input": {"text": s, s: s}} for s in STRINGS),
    *({"input": v, "version": v, "owner": v, "name": v} for v in VALUES),
    *(
        {key: value}
        for key in ("input", "webhook", "webhook_events_filter", "hardware")
        for value in VALUES
    ),
    json.loads("[" * 70 + "]" * 70),
]


def _routes() -> Iterator[tuple[str, str, list[str]]]:
    for route in ROUTES:
        assert isinstance(route, Route)
        methods = sorted((route.methods or {"GET"}) - {"HEAD"})
        for method in methods:
            yield method, route.path, list(route.param_convertors)


ROUTE_CASES = list(_routes())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data = tmp_path_factory.mktemp("corpus")
    models = [BUNDLED / "hello-world", BUNDLED / "echo"]
    with serve(port=0, models=models, bundled=False, data_dir=data) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: Any) -> Iterator[httpx.Client]:
    origin = server.url.removesuffix("/v1")
    with httpx.Client(base_url=origin, timeout=30) as client:
        yield client


def _fill(path: str, params: list[str], value: str | dict[str, str]) -> str:
    for name in params:
        given = value if isinstance(value, str) else value.get(name, "x")
        path = path.replace("{" + name + "}", urllib.parse.quote(given, safe=""))
    return path


@pytest.fixture(scope="module")
def real(api: httpx.Client) -> dict[str, str]:
    """Path parameters that name things that exist, so bodies reach the handlers."""
    model = api.get("/v1/models/demo/echo").json()
    made = api.post(
        "/v1/models/demo/echo/predictions",
        json={"input": {"text": "x"}},
        headers={"Prefer": "wait"},
    ).json()
    return {
        "owner": "demo",
        "name": "echo",
        "version": model["latest_version"]["id"],
        "id": made["id"],
        "slug": "x",
    }


def _check(response: httpx.Response) -> None:
    where = f"{response.request.method} {response.request.url}"
    assert response.status_code < 500, f"{where}: {response.text[:500]}"
    kind = response.headers.get("content-type", "")
    assert "html" not in kind, f"{where} answered {kind}"
    if response.status_code >= 400:
        assert kind.startswith("application/problem+json"), f"{where}: {kind}"
        assert response.json()["detail"], where


@pytest.mark.parametrize(("method", "path", "params"), ROUTE_CASES)
def test_every_route_survives_the_corpus(
    api: httpx.Client,
    real: dict[str, str],
    method: str,
    path: str,
    params: list[str],
) -> None:
    values = STRINGS if params else [""]
    bodies = BODIES if method in ("POST", "PATCH", "PUT", "QUERY") else [None]
    for value, body in itertools.product(values, bodies[:1]):
        target = (
            _fill(path, params, value)
            + "?"
            + urllib.parse.urlencode(
                {"cursor": value, "query": value, "sort_by": value, "limit": value}
            )
        )
        _check(api.request(method, target, json=body))
    if len(bodies) > 1:
        for target in {_fill(path, params, "x"), _fill(path, params, real)}:
            for body in bodies:
                _check(api.request(method, target, json=body))
    assert api.get("/v1/models/demo/echo").status_code == 200


def test_the_backend_still_runs_models_after_the_corpus(api: httpx.Client) -> None:
    made = api.post(
        "/v1/models/demo/echo/predictions",
        json={"input": {"text": STRINGS[0]}},
        headers={"Prefer": "wait"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["output"] == STRINGS[0]
