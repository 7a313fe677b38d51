"""Helpers for the tests that stop runs (unit, kernel and browser): ask the backend."""

from __future__ import annotations

import time

import httpx

TERMINAL = frozenset({"succeeded", "failed", "canceled", "aborted"})
"""Statuses after which a prediction does not change."""


def status_of(api: httpx.Client, pid: str, kind: str = "predictions") -> str:
    """The status the backend reports for prediction (or ``kind``) ``pid`` now."""
    return str(api.get(f"{kind}/{pid}").json()["status"])


def wait_for(
    api: httpx.Client,
    pid: str,
    statuses: set[str] | frozenset[str],
    timeout=60.0,
    kind: str = "predictions",
) -> str:
    """Wait until ``pid`` reaches one of ``statuses``; return the one it reached."""
    deadline = time.monotonic() + timeout
    while (status := status_of(api, pid, kind)) not in statuses:
        assert time.monotonic() < deadline, f"{pid} still {status}"
        time.sleep(0.05)
    return status
