"""A session per process on a local backend, so that its widgets' runs die with it.

A kernel that is restarted or killed cannot cancel the predictions its widgets
started; on a local backend shared by several kernels (``make demo``) they would
keep the model busy for nothing. So widgets create predictions inside
:func:`owned_by_session`: those requests carry ``X-Replicate-Widgets-Session``
with this process's session id, and a daemon thread holds the session's *lease*
on that backend, ``GET {base_url}/sessions/{id}``, an event stream left open for
the life of the process. When the process ends, however it ends, the operating
system closes that connection, and the backend cancels the session's unfinished
predictions after a short grace period (see
``replicate_widgets.server._engine.sessions``).

Only widgets use it, and only their runs that are not ``keep_running``: a script's
``Client().predictions.create(...)`` is meant to outlive the script. Replicate's
cloud has no sessions, so nothing is sent there.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx

__all__ = ["SESSION_HEADER", "lease_held", "owned_by_session", "session_headers"]

SESSION_HEADER = "X-Replicate-Widgets-Session"
"""Names the creating session (the same name as the server's ``SESSION_HEADER``)."""

_GIVE_UP_AFTER = 12
"""Failed connections in a row after which the lease thread stops (about a minute);
the next owned create starts it again."""

_owned: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "replicate_widgets_owned", default=False
)
_lock = threading.Lock()
_pid = -1
_session = ""
_leases: dict[str, _Lease] = {}


def session_id() -> str:
    """Return this process's session id (a new one in a forked child)."""
    global _pid, _session
    with _lock:
        if _pid != os.getpid():
            _pid, _session = os.getpid(), uuid.uuid4().hex
            _leases.clear()  # the parent's threads did not follow into the child
        return _session


def session_headers() -> dict[str, str]:
    """Return the header naming this session (inside :func:`owned_by_session` only)."""
    return {SESSION_HEADER: session_id()} if _owned.get() else {}


def _has_sessions(base_url: str) -> bool:
    host = (urlsplit(base_url).hostname or "").lower()
    return not (host == "replicate.com" or host.endswith(".replicate.com"))


@contextlib.contextmanager
def owned_by_session(client: Any) -> Iterator[None]:
    """Make the requests ``client`` sends inside this block belong to this session.

    Starts (or keeps) the session's lease on the client's backend. A client
    without this package's configuration (another library's) is left as it is.
    """
    config = getattr(client, "_config", None)
    base_url = getattr(config, "base_url", None)
    if config is None or not isinstance(base_url, str) or not _has_sessions(base_url):
        yield
        return
    _lease_for(base_url, config.auth_headers).ensure()
    token = _owned.set(True)
    try:
        yield
    finally:
        _owned.reset(token)


def lease_held(base_url: str) -> bool:
    """Tell whether this process holds its lease on ``base_url`` right now."""
    session_id()
    with _lock:
        lease = _leases.get(base_url.rstrip("/"))
    return lease is not None and lease.held.is_set()


def _lease_for(base_url: str, auth: Callable[[str], dict[str, str]]) -> _Lease:
    sid = session_id()
    key = base_url.rstrip("/")
    with _lock:
        lease = _leases.get(key)
        if lease is None:
            lease = _leases[key] = _Lease(f"{key}/sessions/{sid}", auth)
        return lease


class _Lease:
    """The thread that keeps ``GET {base}/sessions/{id}`` open, reconnecting."""

    def __init__(self, url: str, auth: Callable[[str], dict[str, str]]) -> None:
        self.url = url
        self._auth = auth
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.held = threading.Event()
        """Set while the stream is open."""
        self.unsupported = False
        """The backend has no sessions (a server other than this package's)."""

    def ensure(self) -> None:
        """Start the thread unless it runs (it connects in the background)."""
        with self._lock:
            if self.unsupported or (self._thread and self._thread.is_alive()):
                return
            self._thread = threading.Thread(
                target=self._run, name="replicate-widgets-lease", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        failures = 0
        while failures < _GIVE_UP_AFTER:
            try:
                if self._hold():
                    return
                failures = 0  # it was held, then ended: reconnect at once
            except Exception:  # any failure is retried, a dozen in a row gives up
                failures += 1
                time.sleep(min(0.25 * 2**failures, 5.0))

    def _hold(self) -> bool:
        """Hold the lease until the stream ends; return True if never supported."""
        from .errors import ReplicateError

        try:
            headers = {"Accept": "text/event-stream", **self._auth(self.url)}
        except ReplicateError:  # a cloud-like URL without a token
            headers = {"Accept": "text/event-stream"}
        timeout = httpx.Timeout(10.0, read=None)
        with (
            httpx.Client(timeout=timeout) as http,
            http.stream("GET", self.url, headers=headers) as response,
        ):
            if response.status_code in (404, 405):
                self.unsupported = True
                return True
            response.raise_for_status()
            self.held.set()
            try:
                for _chunk in response.iter_raw():
                    pass  # keepalive comments; the stream ends only with the server
            finally:
                self.held.clear()
        return False
