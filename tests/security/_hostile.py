"""Hostile values for the HTML tests, and the check every rendered piece must pass.

Shared by ``tests/security/test_html.py`` and ``tests/e2e/test_security_html.py``.
Every payload that could run tries to set ``window.__pwned``; the browser tests
assert it stays unset.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PROBE = "window.__pwned=1"

PAYLOADS = (
    f'"><img src=x onerror="{PROBE}">',
    f"'><img src=x onerror='{PROBE}'>",
    f"<script>{PROBE}</script>",
    f"<svg onload={PROBE}>",
    f'</pre></div></td></table><img src=x onerror="{PROBE}">',
    f"<details open ontoggle={PROBE}>",
    f'" autofocus onfocus="{PROBE}',
    f"javascript:{PROBE}",
    f" JaVaScRiPt:{PROBE}",
    f"java\tscript:{PROBE}",
    "data:text/html;base64,"
    + base64.b64encode(f"<script>{PROBE}</script>".encode()).decode(),
    f'image/png" onerror="{PROBE}',
    "text/html",
    f"line\u2028sep\u2029para<img src=x onerror={PROBE}>",
    f"nul\x00<img src=x onerror={PROBE}>",
    "&lt;script&gt; stays as typed &amp;",
    "<!-- an unclosed comment",
)
"""Text that tries to become markup wherever it lands."""

# Declared MIME types (HTTP Content-Type, data: URI headers, upload types, kept
# records). Media types make a browser load the data: URI, so onerror would fire.
HOSTILE_MIMES = (
    # The handler must survive what follows the type: ";base64,..." in a data: URI.
    f'audio/x" onerror="{PROBE}//',
    f'audio/x"onerror="{PROBE}"',
    f'video/x"onerror="{PROBE}"',
    f'image/x" onerror="{PROBE}//',
    f'application/x" onclick="{PROBE}',
    f'text/plain"><img src=x onerror="{PROBE}">',
    "text/html",
    "image/svg+xml",
    "audio/x\u2028",
    "audio/\u212aelvin",  # lowercases to ASCII "k": still a valid token
    "audio/x\x00",
    "audio/x y",
    "\uff41udio/x",  # a fullwidth "a"
    "audio",
    "/x",
    "",
)

DATA_URI_MIMES = tuple(m for m in HOSTILE_MIMES if " " not in m and m)
"""Types that fit in a ``data:`` URI output (no whitespace: outputs are URLs)."""

_TOKEN = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
_SAFE_DATA = re.compile(rf"data:{_TOKEN};base64,[A-Za-z0-9+/]*={{0,2}}")
_SAFE_WEB = re.compile(r"https?://[^\x00-\x20\x7f\"'<>`]+")
_ACTIVE_TAGS = {
    "script", "iframe", "frame", "object", "embed", "base", "meta", "link", "style",
    "form", "svg", "math", "template", "noscript", "input", "button", "textarea",
}  # fmt: skip
_ACTIVE_ATTRS = {"srcdoc", "formaction", "action", "srcset", "autofocus", "style-src"}
_URL_ATTRS = {"href", "src", "poster", "data", "xlink:href", "background", "ping"}


def safe_url(url: str | None) -> bool:
    """An http(s) URL without quotes or spaces, or ``data:<type/subtype>;base64,``."""
    url = url or ""
    return bool(_SAFE_WEB.fullmatch(url) or _SAFE_DATA.fullmatch(url))


class Page(HTMLParser):
    """The tags, attributes and text of an HTML snippet, as a browser would see them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.comments: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    @property
    def content(self) -> str:
        return "".join(self.text)


def problems(markup: str) -> list[str]:
    """What in ``markup`` could run code or leave the page; ``[]`` when nothing."""
    page = Page(markup)
    found = [f"comment {c[:40]!r}" for c in page.comments]  # markup that swallowed text
    for tag, attrs in page.tags:
        if tag in _ACTIVE_TAGS:
            found.append(f"<{tag}>")
        for name, value in attrs.items():
            if name.startswith("on") or name in _ACTIVE_ATTRS:
                found.append(f"<{tag} {name}={value!r}>")
            elif name in _URL_ATTRS and not safe_url(value):
                found.append(f"<{tag} {name}={(value or '')[:60]!r}>")
        href = attrs.get("href") or ""
        opens = (attrs.get("rel"), attrs.get("target"))
        if href.startswith("http") and opens != ("noopener noreferrer", "_blank"):
            found.append(f"<a href={href!r}> without rel/target")
    return found


def assert_safe(markup: str) -> Page:
    """Fail with every problem found; return the parsed page for further checks."""
    assert isinstance(markup, str)
    found = problems(markup)
    assert not found, "unsafe HTML:\n" + "\n".join(found)
    return Page(markup)


def hostile_prediction(payload: str, **changes: Any) -> dict[str, Any]:
    """A prediction's JSON with ``payload`` in every field a page shows."""
    return {
        "id": "hostile" + str(abs(hash(payload)) % 10**8),
        "model": f"evil/{payload}",
        "version": payload,
        "status": payload,
        "created_at": payload,
        "input": {
            "prompt": payload,
            payload: payload,
            "long": payload * 20,
            "link": f"https://x.test/{payload}",
            "nested": {"k": [payload, 1, None]},
        },
        "output": {
            payload: [payload, f"javascript:{PROBE}", {"deep": payload}],
            "text": payload,
        },
        "logs": f"{payload}\n\x1b]8;;javascript:{PROBE}\x1b\\{payload}\x1b]8;;\x1b\\\n",
        "error": payload,
        "metrics": {"predict_time": 1.5},
        **changes,
    }


def data_uri_output(mime: str, data: bytes = b"\x00\x01\x02 not media") -> str:
    """A ``data:`` URI output declaring ``mime`` (as a model or server may send)."""
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def osc8(url: str, text: str) -> str:
    """A terminal hyperlink (OSC 8), as a model's log line may hold one."""
    return f"\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\"


HOSTILE_PREDICTOR = """\
from cog import BaseModel, BaseRunner, Input


class Output(BaseModel):
    file: str
    note: str


class Predictor(BaseRunner):
    def run(
        self,
        url: str = Input(description="Returned inside the object", default=""),
        log: str = Input(description="Printed as the logs", default=""),
    ) -> Output:
        print(log, flush=True)
        return Output(file=url, note=log)
"""
"""A Cog model that prints what it is given and points its object output at ``url``:
what a hostile or careless model can do."""


def write_hostile_model(folder: Path) -> Path:
    """Write the model into ``folder`` (served as ``test/hostile``); return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "predict.py").write_text(HOSTILE_PREDICTOR)
    (folder / "model.json").write_text('{"owner": "test", "name": "hostile"}')
    return folder


# -- a hostile HTTP server -----------------------------------------------------------


Route = tuple[int, str, bytes]
"""Status, Content-Type (sent as given) and body."""


class _Handler(BaseHTTPRequestHandler):
    routes: Mapping[str, Route] = {}

    def do_GET(self) -> None:
        self._answer(self.path.split("?", 1)[0])

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer("POST " + self.path.split("?", 1)[0])

    def _answer(self, path: str) -> None:
        status, ctype, body = self.routes.get(
            path, (404, "application/json", b'{"detail": "Not found.", "status": 404}')
        )
        for prefix, route in self.routes.items():
            if prefix.endswith("*") and path.startswith(prefix[:-1]):
                status, ctype, body = route
        self.send_response(status)
        # putheader writes the value as given: a server may send any bytes here.
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def hostile_server(routes: Mapping[str, Route]) -> Iterator[str]:
    """Serve ``routes`` on 127.0.0.1 and yield the base URL.

    Keys are GET paths (``"POST /path"`` for POST); a trailing ``*`` matches a prefix.
    """
    handler = type("Handler", (_Handler,), {"routes": dict(routes)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def json_route(value: Any) -> Route:
    return 200, "application/json", json.dumps(value).encode()
