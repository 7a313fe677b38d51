"""The lean client for runs, against small real servers that answer as coglet can."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from replicate_widgets.server._cog.coglet_stream import StreamClient

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    length = next(
        int(line.split(":")[1])
        for line in head.split("\r\n")
        if line.lower().startswith("content-length")
    )
    return head, await reader.readexactly(length)


def _chunk(data: bytes) -> bytes:
    return f"{len(data):X}\r\n".encode() + data + b"\r\n"


def test_events_split_anywhere_are_read_whole_and_the_connection_kept() -> None:
    seen: list[bytes] = []
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        nonlocal connections
        connections += 1
        while not reader.at_eof():
            try:
                _, body = await _read_request(reader)
            except asyncio.IncompleteReadError:
                break
            seen.append(body)
            # Unicode line separators are text inside JSON, not line ends.
            separators = '{"chunk":"\u2028\u0085\u2029","index":1}'.encode()
            events = (
                b'event: start\ndata: {"id":"x"}\n\n'
                b'event: output\ndata: {"chunk":"a\\nb","index":0}\n\n'
                b"event: output\ndata: " + separators + b"\n\n"
                b": keep-alive\n\n"
                b'event: completed\ndata: {"status":"succeeded"}\n\n'
            )
            # Chunks that cut events (and lines) in the middle; then one byte
            # a chunk, which cuts every separator and character.
            parts = (
                [events[:10], events[10:45], events[45:46], events[46:]]
                if len(seen) == 1
                else [events[i : i + 1] for i in range(len(events))]
            )
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
            )
            for part in parts:
                writer.write(_chunk(part))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        writer.close()

    async def main() -> None:
        server, port = await _serve(handler)
        client = StreamClient(port)
        try:
            for run in range(2):
                answer = await client.request(
                    "PUT", "/predictions/x", {"input": {"n": run}}
                )
                assert answer.status_code == 200
                assert answer.is_sse
                got = [(e.event, e.json()) async for e in answer.events()]
                assert got == [
                    ("start", {"id": "x"}),
                    ("output", {"chunk": "a\nb", "index": 0}),
                    ("output", {"chunk": "\u2028\u0085\u2029", "index": 1}),
                    ("completed", {"status": "succeeded"}),
                ]
        finally:
            await client.aclose()
            server.close()
            await server.wait_closed()
        assert seen == [b'{"input":{"n":0}}', b'{"input":{"n":1}}']
        assert connections == 1

    asyncio.run(main())


def test_a_plain_answer_is_read_by_its_length() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        await _read_request(reader)
        writer.write(
            b"HTTP/1.1 409 Conflict\r\ncontent-type: application/json\r\n"
            b'content-length: 15\r\n\r\n{"detail":"no"}'
        )
        await writer.drain()
        writer.close()

    async def main() -> None:
        server, port = await _serve(handler)
        client = StreamClient(port)
        try:
            answer = await client.request("PUT", "/predictions/x", {})
            assert answer.status_code == 409
            assert not answer.is_sse
            assert await answer.aread() == b'{"detail":"no"}'
        finally:
            await client.aclose()
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_a_stream_that_breaks_off_raises_a_transport_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        await _read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
            + _chunk(b'event: start\ndata: {"id":"x"}\n\n')
        )
        await writer.drain()
        writer.close()  # the process died mid-run

    async def main() -> None:
        server, port = await _serve(handler)
        client = StreamClient(port)
        try:
            answer = await client.request("PUT", "/predictions/x", {})
            got: list[str] = []

            async def read_all() -> None:
                async for event in answer.events():
                    got.append(event.event)

            with pytest.raises(httpx.TransportError):
                await read_all()
            assert got == ["start"]
        finally:
            await client.aclose()
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_no_server_raises_a_connect_error() -> None:
    async def main() -> None:
        server, port = await _serve(lambda r, w: asyncio.sleep(0))
        server.close()
        await server.wait_closed()
        with pytest.raises(httpx.ConnectError):
            await StreamClient(port).request("PUT", "/predictions/x", {})

    asyncio.run(main())


def test_a_body_ended_by_closing_is_read_and_its_connection_not_kept() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        nonlocal connections
        connections += 1
        await _read_request(reader)
        writer.write(b"HTTP/1.1 500 Oops\r\ncontent-type: text/plain\r\n\r\nbroken")
        await writer.drain()
        writer.close()

    async def main() -> None:
        server, port = await _serve(handler)
        client = StreamClient(port)
        try:
            for _ in range(2):
                answer = await client.request("PUT", "/predictions/x", {})
                assert answer.status_code == 500
                assert await answer.aread() == b"broken"
        finally:
            await client.aclose()
            server.close()
            await server.wait_closed()
        assert connections == 2

    asyncio.run(main())
