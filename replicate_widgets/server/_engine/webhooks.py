"""Webhook delivery the way Replicate does it.

Each prediction with a ``webhook`` gets a :class:`WebhookSender` that posts the
full prediction document on ``start``, ``output``, ``logs`` and ``completed``
events, honours ``webhook_events_filter``, sends ``output``/``logs`` at most
once per 500 ms (the latest state wins), always sends ``start`` and
``completed``, and signs every request with the account's ``whsec_`` secret
(headers ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``). The
terminal webhook is retried on network errors, 429 and 5xx; redirects are not
followed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx

log = logging.getLogger(__name__)

EVENTS = ("start", "output", "logs", "completed")
THROTTLE_SECONDS = 0.5
RETRY_DELAYS = (0.2, 0.4, 0.8, 1.6, 3.2)


def new_secret() -> str:
    """Return a fresh signing secret, ``whsec_`` plus base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``webhook-signature`` header value for one request."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Return whether a webhook request carries a valid signature.

    Checks every ``v1,`` entry of ``webhook-signature`` in constant time.
    """
    expected = sign(
        secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body
    )
    return any(
        hmac.compare_digest(expected, candidate)
        for candidate in headers["webhook-signature"].split()
    )


def check_filter(value: Any) -> list[str]:
    """Validate a ``webhook_events_filter``; return the events as a list.

    Raises
    ------
    ValueError
        With a message naming the bad entry and the allowed values.
    """
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(
            "webhook_events_filter must be a list of event names, "
            f"any of {', '.join(EVENTS)}"
        )
    for item in value:
        if item not in EVENTS:
            raise ValueError(
                f"webhook_events_filter: unknown event {item!r}; "
                f"use any of {', '.join(EVENTS)}"
            )
    return list(value)


class WebhookSender:
    """Delivers one prediction's webhooks in order.

    Parameters
    ----------
    client
        The shared HTTP client (``follow_redirects`` off).
    url
        The webhook URL.
    secret
        The signing secret (``whsec_...``).
    events
        The events to send (``webhook_events_filter``), or ``None`` for all.
    snapshot
        Returns the current prediction document when a webhook is sent, so a
        throttled event carries the latest state.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        secret: str,
        events: list[str] | None,
        snapshot: Callable[[], dict[str, Any]],
    ) -> None:
        self._client = client
        self._url = url
        self._secret = secret
        self._events = set(events) if events is not None else set(EVENTS)
        self._snapshot = snapshot
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._last_throttled = 0.0
        self._trailing: asyncio.Task[None] | None = None
        self._worker = asyncio.create_task(self._run())

    def notify(self, event: str) -> None:
        """Record that ``event`` happened; sends now, later or never."""
        if event not in self._events:
            if event == "completed":
                self._queue.put_nowait(None)
            return
        if event in ("start", "completed"):
            if self._trailing is not None:
                self._trailing.cancel()
                self._trailing = None
            self._queue.put_nowait(event)
            if event == "completed":
                self._queue.put_nowait(None)
            return
        wait = self._last_throttled + THROTTLE_SECONDS - time.monotonic()
        if wait <= 0 and self._trailing is None:
            self._last_throttled = time.monotonic()
            self._queue.put_nowait(event)
        elif self._trailing is None:
            self._trailing = asyncio.create_task(self._send_later(event, wait))

    async def _send_later(self, event: str, wait: float) -> None:
        await asyncio.sleep(max(wait, 0.0))
        self._trailing = None
        self._last_throttled = time.monotonic()
        self._queue.put_nowait(event)

    async def drain(self) -> None:
        """Wait until every queued webhook has been attempted."""
        await self._worker

    def abort(self) -> None:
        """Stop delivering (server shutdown)."""
        if self._trailing is not None:
            self._trailing.cancel()
        self._worker.cancel()

    async def _run(self) -> None:
        while (event := await self._queue.get()) is not None:
            body = json.dumps(self._snapshot()).encode()
            await self._deliver(body, retry=event == "completed")

    async def _deliver(self, body: bytes, *, retry: bool) -> None:
        msg_id = "msg_" + secrets.token_hex(12)
        delays = RETRY_DELAYS if retry else ()
        for attempt in range(len(delays) + 1):
            timestamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "user-agent": "replicate-widgets-local",
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(self._secret, msg_id, timestamp, body),
            }
            status: int | None = None
            with contextlib.suppress(httpx.HTTPError):
                response = await self._client.post(
                    self._url, content=body, headers=headers
                )
                status = response.status_code
            if status is not None and status != 429 and status < 500:
                return
            if attempt < len(delays):
                await asyncio.sleep(delays[attempt])
        # Only the host: webhook URLs often carry a secret in their path/query.
        host = httpx.URL(self._url).host
        log.warning("webhook to %s failed after retries", host)
