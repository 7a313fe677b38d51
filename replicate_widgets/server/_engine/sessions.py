"""Predictions owned by a client session end when that session goes away.

A notebook kernel that dies or restarts leaves the predictions its widgets started
running, with no widget left to cancel them: on a shared local backend they hold
the model (and its GPU) for nothing. So a client may say which *session* (one per
process) a prediction belongs to, with the ``X-Replicate-Widgets-Session`` header
on the create request, and hold a *lease* for that session: ``GET
/v1/sessions/{id}``, an event stream that stays open (a comment every 15 s) for as
long as the client lives. Its TCP connection closes when the client's process ends,
however it ends (``kill -9`` included). Once a session has no open lease for
:data:`GRACE` seconds (a dropped connection gets time to come back), its
unfinished predictions are canceled.

Predictions created without the header (the official clients, curl) are never
touched. This module knows nothing of the client; the client side is
``replicate_widgets._client.session``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from replicate_widgets.server._problem import Problem

if TYPE_CHECKING:
    from .engine import Engine
    from .live import Live

__all__ = ["GRACE", "SESSION_HEADER", "Sessions", "lease", "own"]

log = logging.getLogger(__name__)

SESSION_HEADER = "X-Replicate-Widgets-Session"
GRACE = 10.0
"""Seconds a session may be without a lease before its predictions are canceled."""
KEEPALIVE = 15.0
"""Seconds between the lease stream's comments (they find half-open connections)."""
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass
class _Session:
    leases: int = 0
    owned: dict[str, Live] = field(default_factory=dict)
    timer: asyncio.Task[None] | None = None


class Sessions:
    """Which predictions each session owns, and its leases; cancels orphans.

    Parameters
    ----------
    grace
        Seconds without a lease before a session's predictions are canceled.

    Notes
    -----
    Everything but :meth:`stop_threadsafe` runs on the server's event loop.
    """

    def __init__(self, grace: float = GRACE) -> None:
        self.grace = grace
        self._sessions: dict[str, _Session] = {}
        self._engine: Engine | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def bind(self, engine: Engine) -> None:
        """Start serving with ``engine`` (on the server's loop, at startup)."""
        self._engine = engine
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()

    # ---------------------------------------------------------------- owning
    def own(self, session_id: str | None, live: Live) -> None:
        """Record that ``session_id`` created ``live`` (no-op without a session)."""
        if not session_id or not _SESSION_ID.match(session_id) or self._stopped:
            return
        session = self._sessions.setdefault(session_id, _Session())
        # Forget finished ones as new ones come, so a long session stays small.
        for pid in [p for p, item in session.owned.items() if item.done.is_set()]:
            del session.owned[pid]
        session.owned[live.doc["id"]] = live
        if session.leases == 0:
            # The lease may still be on its way (it is opened beside the first
            # create); the grace period covers that.
            self._arm(session_id, session)

    # ----------------------------------------------------------------- lease
    async def lease(self, session_id: str) -> AsyncIterator[bytes]:
        """Yield the body of ``GET /v1/sessions/{id}`` until the client goes."""
        session = self._sessions.setdefault(session_id, _Session())
        session.leases += 1
        self._disarm(session)
        stopping = self._stopping or asyncio.Event()
        try:
            yield b": lease held\n\n"
            while True:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stopping.wait(), KEEPALIVE)
                if stopping.is_set():
                    return
                yield b": keepalive\n\n"
        finally:
            # Runs when the client disconnects: Starlette cancels the response.
            session.leases -= 1
            if session.leases == 0 and not self._stopped:
                self._arm(session_id, session)

    # --------------------------------------------------------------- timers
    def _arm(self, session_id: str, session: _Session) -> None:
        if session.timer is None or session.timer.done():
            session.timer = asyncio.get_running_loop().create_task(
                self._expire(session_id, session)
            )

    def _disarm(self, session: _Session) -> None:
        if session.timer is not None:
            session.timer.cancel()
            session.timer = None

    async def _expire(self, session_id: str, session: _Session) -> None:
        await asyncio.sleep(self.grace)
        session.timer = None
        if session.leases or self._stopped:
            return
        running = [live for live in session.owned.values() if not live.done.is_set()]
        session.owned.clear()
        if self._sessions.get(session_id) is session:
            del self._sessions[session_id]
        if not running or self._engine is None:
            return
        log.info(
            "session %s went away; canceling its %d unfinished prediction(s)",
            session_id,
            len(running),
        )
        engine = self._engine
        results = await asyncio.gather(
            *(engine.cancel(live.doc["id"], live.kind) for live in running),
            return_exceptions=True,  # one failure must not spare the others
        )
        for live, result in zip(running, results, strict=True):
            if isinstance(result, BaseException):
                log.error("could not cancel %s: %r", live.doc["id"], result)

    # -------------------------------------------------------------- stopping
    @property
    def _stopped(self) -> bool:
        return self._stopping is not None and self._stopping.is_set()

    def stop_threadsafe(self) -> None:
        """End every lease now (the server is stopping); cancel nothing for it.

        Safe from any thread. Without it the open lease streams would hold the
        server's graceful shutdown for its whole timeout.
        """
        loop, stopping = self._loop, self._stopping
        if loop is None or stopping is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop just stopped
            loop.call_soon_threadsafe(self._stop)

    def _stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        for session in self._sessions.values():
            self._disarm(session)

    async def close(self) -> None:
        """Stop at shutdown: no lease is honoured and nothing is canceled any more."""
        self._stop()


def _sessions_of(request: Request) -> Sessions | None:
    sessions = getattr(request.app.state, "sessions", None)
    return sessions if isinstance(sessions, Sessions) else None


def own(request: Request, live: Live) -> None:
    """Record the creating request's session (its header), if it named one."""
    sessions = _sessions_of(request)
    if sessions is not None:
        sessions.own(request.headers.get(SESSION_HEADER), live)


async def lease(request: Request) -> Response:
    """``GET /v1/sessions/{id}``: hold the session's lease while connected."""
    sessions = _sessions_of(request)
    session_id = request.path_params["id"]
    if sessions is None or not _SESSION_ID.match(session_id):
        raise Problem(
            404,
            f"No session {session_id!r}: a session id is 16 to 64 letters, digits, "
            "'-' or '_'.",
        )
    return StreamingResponse(
        sessions.lease(session_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
