"""Write an answer's head and body to the client in one piece.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, and the body at ``http.response.body``: two sends,
each of which wakes the client on the other end of loopback. A client woken by
the head alone reads it, finds no body and sleeps again, and on a busy
machine it takes the CPU from the backend between the two sends. Profiles of
one client's predictions put half of the request handler's time in sending
the head. ``TCP_CORK`` (Linux) has the kernel hold what is written until it
is lifted, so both go out as one segment.

The socket is reached through uvicorn's ``send`` (its request cycle's
transport), which no ASGI interface offers; where it cannot be found, or the
option does not exist, nothing changes but the number of sends.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

from starlette.types import Send

__all__ = ["corked"]

_CORK: int | None = getattr(socket, "TCP_CORK", None)


def _socket(send: Send) -> Any:
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    get_extra_info = getattr(transport, "get_extra_info", None)
    return get_extra_info("socket") if callable(get_extra_info) else None


@contextlib.contextmanager
def corked(send: Send) -> Iterator[None]:
    """Hold what ``send`` writes inside the block, and send it together after."""
    sock: Any = _socket(send) if _CORK is not None else None
    try:
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, _CORK, 1)
    except (AttributeError, OSError, TypeError):
        sock = None  # not a socket that takes the option: sends go as they are
    try:
        yield
    finally:
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, _CORK, 0)
