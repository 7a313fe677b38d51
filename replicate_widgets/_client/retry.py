"""When to retry a request and how long to wait first (pure; no I/O, no sleeping).

The sync and async clients both ask :meth:`RetryPolicy.delay` after every failed
attempt, so they retry the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import httpx

from .errors import decode_body, parse_retry_after

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
"""Methods safe to repeat after a 5xx or a dropped connection."""

RETRY_STATUSES = frozenset({502, 503, 504})
"""Gateway and availability errors that usually pass."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter.

    A 429 is retried on every method: the API creates nothing when it throttles, so
    even ``POST /predictions`` is safe to repeat. 502/503/504 and connection errors
    are retried only on idempotent methods, because a POST that reached the server
    may have created a prediction.

    Parameters
    ----------
    max_retries
        Retries after the first attempt (0 turns retrying off).
    backoff_base
        First wait in seconds; doubles each retry.
    backoff_max
        Longest wait between attempts, also the cap on ``Retry-After``.
    jitter
        Fraction of each computed wait that is randomised (spreads out clients that
        were throttled together).
    """

    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    jitter: float = 0.25
    _random: random.Random = field(
        default_factory=random.Random, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be 0 or more.")
        if self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("backoff_base and backoff_max must not be negative.")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1.")

    def backoff(self, attempt: int) -> float:
        """Return the wait before retry number ``attempt`` (0-based), with jitter."""
        base = min(self.backoff_max, self.backoff_base * (2**attempt))
        spread = base * self.jitter
        jittered: float = base - spread + self._random.random() * 2 * spread
        return max(0.0, jittered)

    def delay(
        self,
        method: str,
        attempt: int,
        *,
        response: httpx.Response | None = None,
        error: Exception | None = None,
    ) -> float | None:
        """Seconds to wait before retrying, or ``None`` to give up.

        Parameters
        ----------
        method
            The request's HTTP method.
        attempt
            How many retries were already made (0 after the first attempt failed).
        response
            The error response, whose body must already be read, if there was one.
        error
            The transport error, if the request got no response.
        """
        if attempt >= self.max_retries:
            return None
        idempotent = method.upper() in IDEMPOTENT_METHODS
        if response is not None:
            status = response.status_code
            if status == 429:
                asked = parse_retry_after(response, decode_body(response))
                if asked is not None:
                    return min(asked, self.backoff_max)
                return self.backoff(attempt)
            if status in RETRY_STATUSES and idempotent:
                asked = parse_retry_after(response)
                return (
                    min(asked, self.backoff_max)
                    if asked is not None
                    else self.backoff(attempt)
                )
            return None
        if isinstance(error, httpx.TransportError) and idempotent:
            return self.backoff(attempt)
        if isinstance(error, httpx.ConnectError):
            # Nothing reached the server, so even a POST can be repeated.
            return self.backoff(attempt)
        return None
