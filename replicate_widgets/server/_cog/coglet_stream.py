"""Send a run to a coglet on loopback and read its event stream, in few system calls.

Every prediction crosses this path once, and with one client it is most of what
the backend adds to coglet's own time (docs/hot-path.md). httpx, httpcore and h11
cost 0.3 to 0.5 ms of CPU per request here, and wrote each request in up to four
``send`` calls (head, body, end): each wakes coglet on the other end of
loopback, which on a busy two-core machine costs up to half a millisecond
apiece. This client writes the whole request in one call and parses only what
coglet sends back: a status line, headers, a body by ``Content-Length`` or
chunked, and server-sent events.

Connections are kept for the next run once an answer has been read to its end,
with ``TCP_QUICKACK`` set on each (see :func:`_quickack`). Failures raise
httpx's transport errors, which the runner already treats as a crashed process.
Only for a coglet this backend started on 127.0.0.1: servers elsewhere (HTTPS,
proxies, redirects) go through httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import httpx_sse

__all__ = ["Answer", "StreamClient"]

_MAX_HEAD = 64 * 1024
_LINE_END = re.compile(rb"\r\n|\r|\n")


class Answer:
    """One response: its status and headers, then its body or its events."""

    def __init__(
        self,
        client: StreamClient,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        status: int,
        headers: dict[str, str],
    ) -> None:
        self.status_code = status
        self.headers = headers
        self._client = client
        self._reader = reader
        self._writer = writer
        self._done = False
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self._length = int(length) if length and length.isdigit() else None

    @property
    def is_sse(self) -> bool:
        """Whether the body is a stream of server-sent events."""
        return self.headers.get("content-type", "").startswith("text/event-stream")

    async def _pieces(self) -> AsyncIterator[bytes]:
        """Yield the body as it arrives; the connection is kept once it ends."""
        try:
            async for piece in self._read():
                yield piece
        finally:
            self.close()  # left before its end: the connection is not reusable

    async def _read(self) -> AsyncIterator[bytes]:
        reader = self._reader
        try:
            if self._chunked:
                while True:
                    line = await reader.readuntil(b"\r\n")
                    size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        await reader.readuntil(b"\r\n")  # no trailers from coglet
                        break
                    data = await reader.readexactly(size + 2)
                    yield data[:-2]
            elif self._length is not None:
                if self._length:
                    yield await reader.readexactly(self._length)
            elif self.status_code in (204, 304) or self.status_code < 200:
                pass  # no body
            else:
                # Delimited by the connection's end: not reusable.
                while data := await reader.read(65536):
                    yield data
                self.close()
                return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            self.close()
            raise httpx.RemoteProtocolError(f"the answer broke off: {exc}") from exc
        except OSError as exc:
            self.close()
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
        except ValueError as exc:
            self.close()
            raise httpx.RemoteProtocolError(f"a malformed chunk: {exc}") from exc
        self._done = True
        self._client._release(self._reader, self._writer)

    async def aread(self) -> bytes:
        """Return the whole body."""
        return b"".join([piece async for piece in self._pieces()])

    async def events(self) -> AsyncIterator[httpx_sse.ServerSentEvent]:
        """Yield the server-sent events of the body, as they arrive."""
        buffer = b""
        async for piece in self._pieces():
            # Search only the new bytes (and the 3 before them, where a
            # separator may begin): a large event arriving in many pieces
            # is then scanned once, not once per piece.
            start = max(0, len(buffer) - 3)
            buffer += piece
            while True:
                end = _event_end(buffer, start)
                if end is None:
                    break
                start = 0
                block, buffer = buffer[: end[0]], buffer[end[1] :]
                event = _parse_event(block)
                if event is not None:
                    yield event
        if buffer.strip():
            event = _parse_event(buffer)
            if event is not None:
                yield event

    def close(self) -> None:
        """Drop the connection unless the answer was read to its end."""
        if not self._done:
            self._done = True
            self._writer.close()


def _event_end(buffer: bytes, start: int = 0) -> tuple[int, int] | None:
    """Where the first complete event ends, and where the next begins."""
    found = [
        (i, i + len(sep))
        for sep in (b"\n\n", b"\r\n\r\n", b"\r\r")
        if (i := buffer.find(sep, start)) >= 0
    ]
    return min(found) if found else None


def _parse_event(block: bytes) -> httpx_sse.ServerSentEvent | None:
    event, data, last_id, retry = "", [], "", None
    # Lines end only at CR, LF or CRLF: str.splitlines would also cut at
    # U+2028, U+0085 and others, which JSON strings may hold as they are.
    for raw in _LINE_END.split(block):
        line = raw.decode("utf-8", "replace")
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            last_id = value
        elif name == "retry" and value.isdigit():
            retry = int(value)
    if not event and not data:
        return None
    return httpx_sse.ServerSentEvent(
        event=event or "message", data="\n".join(data), id=last_id, retry=retry
    )


class StreamClient:
    """Requests to one coglet on 127.0.0.1, over connections kept between them."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._closed = False

    async def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """Send one request with a JSON body; return once the answer's head is read.

        Read the answer to its end (:meth:`Answer.aread` or
        :meth:`Answer.events`) or :meth:`Answer.close` it.
        """
        payload = json.dumps(body, separators=(",", ":")).encode()
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
        ]
        message = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
        # A kept connection the server closed meanwhile fails before any
        # answer: retry once on a new one.
        for attempt in (0, 1):
            reader, writer, reused = await self._connection()
            try:
                writer.write(message)
                head = await reader.readuntil(b"\r\n\r\n")
            except (OSError, asyncio.IncompleteReadError) as exc:
                writer.close()
                unanswered = not isinstance(exc, asyncio.IncompleteReadError) or (
                    not exc.partial
                )
                if reused and attempt == 0 and unanswered:
                    continue
                raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
            except asyncio.LimitOverrunError as exc:
                writer.close()
                raise httpx.RemoteProtocolError(
                    "the answer's head is too long"
                ) from exc
            except BaseException:
                writer.close()
                raise
            status, fields = _parse_head(head, writer)
            _quickack(writer)
            return Answer(self, reader, writer, status, fields)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connection(
        self,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bool]:
        if self._closed:
            raise httpx.ConnectError("the client is closed")
        while self._idle:
            reader, writer = self._idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return reader, writer, True
            writer.close()
        try:
            reader, writer = await asyncio.open_connection(
                self.host, self.port, limit=_MAX_HEAD
            )
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reader, writer, False

    def _release(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        quickack = getattr(socket, "TCP_QUICKACK", None)
        if self._closed or writer.is_closing() or quickack is None:
            # Without TCP_QUICKACK each event on a kept connection may wait
            # for a delayed acknowledgement: a new connection per run is faster.
            writer.close()
            return
        self._idle.append((reader, writer))

    async def aclose(self) -> None:
        """Close every kept connection."""
        self._closed = True
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()
        for _, writer in idle:
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _parse_head(
    head: bytes, writer: asyncio.StreamWriter
) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        writer.close()
        raise httpx.RemoteProtocolError(f"not an HTTP answer: {lines[0][:100]!r}")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    return int(parts[1]), fields


def _quickack(writer: asyncio.StreamWriter) -> None:
    """Have this machine acknowledge each event of the answer at once.

    coglet sends each event in its own small write, with Nagle's algorithm on:
    a write waits until the one before it is acknowledged. On a connection
    carrying request after request, Linux delays acknowledgements by up to
    40 ms, so each event of a stream on a kept connection would wait that
    long. ``TCP_QUICKACK`` (Linux only) ends the delaying, and Linux turns it
    off again by itself, so it is set for each answer.
    """
    quickack = getattr(socket, "TCP_QUICKACK", None)
    sock = writer.get_extra_info("socket")
    if quickack is not None and sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)
