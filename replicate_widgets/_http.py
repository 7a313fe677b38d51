"""Configuration and request/response handling shared by the sync and async clients.

An endpoint is described once as a :class:`Call` (method, path, body, and how to parse
the answer). :class:`ClientConfig` turns a call into an ``httpx.Request`` and an
answer into a result or an :class:`~replicate_widgets._errors.APIError`; the two
clients only add the I/O (send, sleep, retry loop).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import httpx

from . import _auth
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    MissingTokenError,
    NotFoundError,
    ReplicateError,
    error_from_response,
)
from ._retry import RetryPolicy

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.replicate.com/v1"
USER_AGENT = "replicate-widgets"

# Output files live on replicate.delivery and its subdomains; the OpenAPI doc says to
# send the token when fetching them. Any other host gets no token.
_AUTH_HOST_SUFFIXES = ("replicate.com", "replicate.delivery", "replicate.net")


@dataclass
class Call(Generic[T]):
    """One HTTP request of an endpoint and how to turn its response into ``T``."""

    method: str
    url: str
    """A path under the base URL (``/predictions``) or an absolute URL."""
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, str] | None = None
    json: Any = None
    content: bytes | str | None = None
    files: dict[str, Any] | None = None
    data: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: httpx.Timeout | None = None


class _Token:
    """Holds the token so that no repr, log or traceback dump can show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<token hidden>"

    __str__ = __repr__


def is_loopback(url: str) -> bool:
    """Tell whether ``url`` points at this machine (the local backend)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"base_url {base_url!r} is not an http(s) URL. Use "
            f"{DEFAULT_BASE_URL!r}, or the local backend's URL such as "
            "'http://127.0.0.1:8000/v1'."
        )
    return base_url.rstrip("/")


def _check_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return httpx.Timeout(None)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be a number of seconds or an httpx.Timeout, not "
            f"{type(timeout).__name__}."
        )
    if timeout <= 0:
        raise ValueError("timeout must be a positive number of seconds.")
    return httpx.Timeout(float(timeout))


class ClientConfig:
    """Token, base URL, timeout and retry policy, and the sans-IO halves of a request.

    Parameters
    ----------
    api_token
        The token; ``None`` reads it from :func:`replicate_widgets.login` or
        ``REPLICATE_API_TOKEN`` at each request.
    base_url
        The API root; ``None`` reads ``REPLICATE_BASE_URL``, else api.replicate.com.
    timeout
        Seconds (or an ``httpx.Timeout``) for each request.
    max_retries
        Retries for throttled and failed requests (see :class:`RetryPolicy`).
    retry
        A full :class:`RetryPolicy`; overrides ``max_retries``.
    """

    def __init__(
        self,
        api_token: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        max_retries: int,
        retry: RetryPolicy | None,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int):
            raise TypeError(
                "max_retries must be a whole number, e.g. 4 (0 = no retries)."
            )
        if api_token is not None and not isinstance(api_token, str):
            raise TypeError("api_token must be a string such as 'r8_...'.")
        if api_token is not None:
            problem = _auth.check_token(api_token)
            if problem:
                raise ValueError(problem)
        self._token = _Token(api_token) if api_token else None
        self.base_url = _check_base_url(
            base_url or os.environ.get("REPLICATE_BASE_URL") or DEFAULT_BASE_URL
        )
        """The API root every path is relative to."""
        self.timeout = _check_timeout(timeout)
        """The default timeout of each request."""
        self.retry = (
            retry if retry is not None else RetryPolicy(max_retries=max_retries)
        )
        """How throttled and failed requests are retried."""

    @property
    def is_local(self) -> bool:
        """True when the base URL is on this machine (the local backend)."""
        return is_loopback(self.base_url)

    def _token_value(self) -> str | None:
        if self._token is not None:
            return self._token.reveal()
        return _auth.get_token()

    def sends_auth_to(self, url: str) -> bool:
        """Tell whether a request to ``url`` should carry the token."""
        parts = urlsplit(url)
        if parts.netloc.lower() == urlsplit(self.base_url).netloc.lower():
            return True
        host = (parts.hostname or "").lower()
        return any(host == s or host.endswith("." + s) for s in _AUTH_HOST_SUFFIXES)

    def url_for(self, path_or_url: str) -> str:
        """Resolve a path under the base URL; absolute URLs pass through."""
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.base_url + "/" + path_or_url.lstrip("/")

    def auth_headers(self, url: str) -> dict[str, str]:
        """Return the ``Authorization`` header for ``url``, if it should have one.

        Raises
        ------
        MissingTokenError
            When ``url`` is the (non-local) API and no token is set.
        """
        if not self.sends_auth_to(url):
            return {}
        token = self._token_value()
        if token:
            return {"Authorization": f"Bearer {token}"}
        if is_loopback(url) or urlsplit(url).netloc != urlsplit(self.base_url).netloc:
            # The local backend runs without a token, and output hosts may be public.
            return {}
        raise MissingTokenError(self.base_url)

    def build(
        self, http: httpx.Client | httpx.AsyncClient, call: Call[Any]
    ) -> httpx.Request:
        """Turn ``call`` into a request (checks the token first)."""
        url = self.url_for(call.url)
        headers = {"User-Agent": USER_AGENT, **self.auth_headers(url), **call.headers}
        extensions = {}
        if call.timeout is not None:
            extensions["timeout"] = call.timeout.as_dict()
        return http.build_request(
            call.method,
            url,
            params=call.params,
            json=call.json,
            content=call.content,
            files=call.files,
            data=call.data,
            headers=headers,
            extensions=extensions or None,
        )

    def finish(self, call: Call[T], response: httpx.Response) -> T:
        """Parse a read response, or raise the matching :class:`APIError`."""
        if response.status_code >= 400:
            error = error_from_response(response)
            if isinstance(error, NotFoundError) and not self._has_version_path():
                error.hint = (
                    f"base_url {self.base_url!r} does not end in /v1, where the API "
                    "lives; try e.g. 'http://127.0.0.1:8000/v1'"
                )
                error.args = (error._message(),)
            raise error
        try:
            return call.parse(response)
        except (ValueError, TypeError, KeyError) as exc:
            raise APIError(
                response.status_code,
                "Unexpected response",
                f"{call.method} {call.url} returned a body this client cannot read "
                f"({exc})",
                hint="Check that base_url points at a Replicate-compatible API",
            ) from None

    def _has_version_path(self) -> bool:
        return urlsplit(self.base_url).path.rstrip("/").endswith("/v1")

    @staticmethod
    def transport_error(exc: httpx.TransportError, url: str) -> ReplicateError:
        """Map an httpx transport error to a clear client error."""
        host = urlsplit(url).netloc
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"{host} did not answer in time ({type(exc).__name__}). Try again, or "
                "pass a larger timeout= to the client."
            )
        return APIConnectionError(
            f"Could not reach {host} ({type(exc).__name__}: {exc}). Check the network "
            "connection and base_url; for the local backend, check that it is running."
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"
