"""The async modules are generated from the sync ones; this test keeps them in step.

Endpoints are written once (``_endpoints.py``) and request building, errors, retry
decisions and stream bookkeeping are shared sans-IO code. What is left, the thin
executors (``_client.py``) and the namespaces that call them (``_resources.py``),
differs between sync and async only by ``async``/``await`` and the httpx class
names. So ``_async_client.py`` and ``_async_resources.py`` are derived mechanically
(httpcore's unasync idea, run the other way) and nobody edits them by hand.

Regenerate after editing a sync module::

    python tests/test_client_unasync.py
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).parent.parent / "replicate_widgets"

_HEADER = (
    "GENERATED from :mod:`.{source}` by ``tests/test_client_unasync.py``; edit\n"
    "``{source}.py`` and regenerate instead of editing this file."
)

# (pattern, replacement) pairs applied in order, as regular expressions.
_COMMON: list[tuple[str, str]] = [
    (r"\nimport time\n", "\nimport asyncio\n"),
    (r"time\.sleep\(", "await asyncio.sleep("),
]

_RESOURCES: list[tuple[str, str]] = [
    (
        r"from \._client import Client",
        "from ._async_client import AsyncClient as Client",
    ),
    (r"\n    def (?!__init__)", "\n    async def "),
    (
        r"(?<!await )\bself\.(_client\._send|_client\.\w+\.\w+|get|_upload)\(",
        r"await self.\1(",
    ),
]

_CLIENT: list[tuple[str, str]] = [
    (
        r"from collections\.abc import Iterator,",
        "from collections.abc import AsyncIterator,",
    ),
    (r"\bIterator\[", "AsyncIterator["),
    (r"from \._resources import", "from ._async_resources import"),
    (
        r"from \._resources_deployments import",
        "from ._async_resources_deployments import",
    ),
    (r"class Client:", "class AsyncClient:"),
    (r'"Client\(base_url', '"AsyncClient(base_url'),
    (r"A client for the Replicate", "An asyncio client for the Replicate"),
    (r">>> with Client\((.*)\) as c:", r">>> async with AsyncClient(\1) as c:"),
    (r"\.\.\.     c\.run\(", "...     await c.run("),
    (r"httpx\.BaseTransport", "httpx.AsyncBaseTransport"),
    (r"httpx\.Client\(", "httpx.AsyncClient("),
    (r"    def close\(self\)", "    async def close(self)"),
    (r"self\._http\.close\(\)", "await self._http.aclose()"),
    (
        r"    def __enter__\(self\) -> Client:",
        "    async def __aenter__(self) -> AsyncClient:",
    ),
    (r"    def __exit__\(", "    async def __aexit__("),
    (r"        self\.close\(\)", "        await self.close()"),
    (
        r"    def (_send|_receive|search|run|_finish|stream|stream_prediction|_sse|"
        r"read|download|_fetch)\(",
        r"    async def \1(",
    ),
    (r"self\._http\.send\(", "await self._http.send("),
    (r"response\.read\(\)", "await response.aread()"),
    (r"\bresponse\.close\(\)", "await response.aclose()"),
    (
        r"\bfor chunk in response\.iter_bytes\(\)",
        "async for chunk in response.aiter_bytes()",
    ),
    (
        r"(?<!lambda url: )(?<!await )"
        r"\bself\.(_send|_receive|_fetch|_finish|predictions\.\w+)\(",
        r"await self.\1(",
    ),
    (r"\bfor (\w+) in self\.(_sse|stream_prediction)\(", r"async for \1 in self.\2("),
    # ``yield from`` has no async form.
    (
        r"\n(\s+)yield from (self\.stream_prediction\(\w+\))",
        r"\n\1async for event in \2:\n\1    yield event",
    ),
    (r"\bwith self\._http\.stream\(", "async with self._http.stream("),
    (
        r"for sse in EventSource\(response\)\.iter_sse\(\)",
        "async for sse in EventSource(response).aiter_sse()",
    ),
]

_TITLES = [
    ("``Client``: the synchronous", "``AsyncClient``: the asyncio"),
    ("sync :class:`~replicate_widgets._client.Client`", ":class:`AsyncClient`"),
]

# A namespace module split from ``_resources.py`` also takes its base class from
# the async twin.
_RESOURCES_SPLIT = [
    *_RESOURCES,
    (r"from \._resources import", "from ._async_resources import"),
]

TARGETS = {
    "_async_resources.py": ("_resources", _RESOURCES),
    "_async_resources_deployments.py": ("_resources_deployments", _RESOURCES_SPLIT),
    "_async_client.py": ("_client", _CLIENT),
}


def _ruff(source: str) -> str:
    for command in (["check", "--select", "I", "--fix"], ["format"]):
        source = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--stdin-filename", "_g.py", "-"],
            input=source,
            capture_output=True,
            text=True,
            check=True,
            cwd=PACKAGE.parent,
        ).stdout
    return source


def generate(target: str) -> str:
    """The text ``target`` must have: its sync source, unasynced and formatted."""
    source_name, rules = TARGETS[target]
    text = (PACKAGE / f"{source_name}.py").read_text()
    doc_end = text.index('"""', 3) + 3
    doc, body = text[:doc_end], text[doc_end:]
    for pattern, replacement in _COMMON + rules:
        body = re.sub(pattern, replacement, body)
    title = doc[3:].split("\n", 1)[0]
    for old, new in _TITLES:
        title = title.replace(old, new)
    header = f'"""{title}\n\n{_HEADER.format(source=source_name)}\n"""'
    return _ruff(header + body)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_async_module_is_generated_from_sync(target):
    actual = (PACKAGE / target).read_text()
    assert actual == generate(target), "run: python tests/test_client_unasync.py"


def test_rules_turn_blocking_calls_into_awaits():
    text = generate("_async_client.py")
    assert "time.sleep" not in text
    assert "iter_sse()" not in text.replace("aiter_sse()", "")
    assert "httpx.Client(" not in text
    assert "await self._http.send(" in text
    assert "lambda url: self._send(" in text  # returns the coroutine, awaited later


if __name__ == "__main__":
    for name in TARGETS:
        (PACKAGE / name).write_text(generate(name))
        print(f"wrote replicate_widgets/{name}")
