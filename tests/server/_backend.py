"""Helpers shared by the backend tests (not collected: no test_ prefix)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "replicate_widgets" / "server" / "models"
TEST_MODELS = ROOT / "tests" / "integration" / "models"
FIXTURES = ROOT / "tests" / "fixtures"
HELLO_VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
TERMINAL = {"succeeded", "failed", "canceled", "aborted"}


def openapi_schema(name: str) -> dict[str, Any]:
    """A response schema from the OpenAPI excerpt, ``nullable`` read as "or null"."""
    doc = json.loads((FIXTURES / "openapi" / "schemas-excerpt.json").read_text())

    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(n) for n in node]
        if not isinstance(node, dict):
            return node
        out = {k: convert(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") and "type" in node:
            out["type"] = [node["type"], "null"]
        if "$ref" in out:
            out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
        return out

    schemas = {k: convert(v) for k, v in doc["components"]["schemas"].items()}
    return {**schemas[name], "$defs": schemas}


def wait_until(
    client: httpx.Client, url: str, statuses: set[str] = TERMINAL, timeout: float = 60
) -> dict[str, Any]:
    """Poll ``url`` until its ``status`` is in ``statuses``; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        doc = client.get(url).json()
        if doc["status"] in statuses:
            return doc
        if time.monotonic() > deadline:
            raise AssertionError(f"still {doc['status']} after {timeout}s: {doc}")
        time.sleep(0.05)


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every request."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                owner.calls.append(
                    ({k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = 503 if len(owner.calls) <= owner.fail_first else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.calls]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
