"""The floor for ``bench/load.py``: the least a Python process before coglet adds.

A deliberately minimal HTTP proxy, run as its own process: it starts a coglet for
hello-world, then answers ``POST /predictions`` by sending the input to coglet as
the backend does (``PUT`` with ``Accept: text/event-stream`` on a kept
connection, through the backend's own coglet client, retrying a 409 after 1 ms)
and writing the ``completed`` event's output back as JSON once the stream ends.
It parses nothing it does not need, keeps no records, checks no caller, and
serves one connection's requests in order: no product could be this thin, so
the backend's time over it is what its features and framework cost, and its
time over a bare coglet is what the extra process hop and the event stream
cost.

Prints ``port N`` once it listens; runs until its parent closes its stdin.

Run by ``bench/load.py``; not a server to use.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from replicate_widgets.server._cog.coglet_process import CogletProcess  # noqa: E402
from replicate_widgets.server._cog.coglet_stream import StreamClient  # noqa: E402
from replicate_widgets.server._cog.models import load_model  # noqa: E402

HELLO = ROOT / "replicate_widgets" / "server" / "models" / "hello-world"
_MAX_REQUEST = 1 << 20


class _Proxy(asyncio.Protocol):
    """One client connection: a request in, its answer out, in order."""

    def __init__(self, coglet: StreamClient) -> None:
        self._coglet = coglet
        self._buffer = b""
        self._count = 0
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        head, sep, rest = self._buffer.partition(b"\r\n\r\n")
        if not sep:
            if len(self._buffer) > _MAX_REQUEST:
                self._close()
            return
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length > _MAX_REQUEST:
            self._close()
            return
        if len(rest) < length:
            return
        body, self._buffer = rest[:length], rest[length:]
        self._count += 1
        asyncio.get_running_loop().create_task(
            self._answer(json.loads(body), f"floor-{id(self)}-{self._count}")
        )

    async def _answer(self, request: dict[str, Any], pid: str) -> None:
        body = {"id": pid, "input": request.get("input", {})}
        headers = {"Accept": "text/event-stream"}
        while True:
            answer = await self._coglet.request(
                "PUT", f"/predictions/{pid}", body, headers
            )
            if answer.status_code != 409:
                break
            await answer.aread()
            await asyncio.sleep(0.001)
        output = None
        async for event in answer.events():
            if event.event == "completed":
                output = json.loads(event.data).get("output")
        payload = json.dumps({"id": pid, "status": "succeeded", "output": output})
        data = payload.encode()
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(
                b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%b" % (len(data), data)
            )

    def _close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def main() -> None:
    coglet = CogletProcess(load_model(HELLO), "predict")
    await coglet.start(60)
    client = StreamClient(coglet.port)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Proxy(client), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"port {port}", flush=True)
    try:
        # Until the parent closes our stdin (or exits).
        await loop.run_in_executor(None, sys.stdin.read)
    finally:
        server.close()
        await client.aclose()
        await coglet.stop()


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:  # the backend falls back to asyncio's loop the same way
        asyncio.run(main())
    else:
        uvloop.run(main())
