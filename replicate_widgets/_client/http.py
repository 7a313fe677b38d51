"""Configuration and request/response handling shared by the sync and async clients.

An endpoint is described once as a :class:`Call` (method, path, body, and how to parse
the answer). :class:`ClientConfig` turns a call into an ``httpx.Request`` and an
answer into a result or an :class:`~replicate_widgets._client.errors.APIError`; the two
clients only add the I/O (send, sleep, retry loop).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Generic, TypeVar
from urllib.parse import urlsplit

import httpx

from replicate_widgets._loopback import is_loopback_host

from . import auth as _auth
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    MissingTokenError,
    NotFoundError,
    OutputTooLargeError,
    ReplicateError,
    error_from_response,
)
from .retry import RetryPolicy
from .session import session_headers

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.replicate.com/v1"
USER_AGENT = "replicate-widgets"

# Output files live on replicate.delivery and its subdomains, and streams on
# replicate.net; the OpenAPI doc says to send the token when fetching them. Over https
# only: a model can output an http:// URL, and plain HTTP shows the token to every
# hop. Any other host gets no token.
_AUTH_HOST_SUFFIXES = ("replicate.com", "replicate.delivery", "replicate.net")
_DEFAULT_PORTS = {"http": 80, "https": 443}

DEFAULT_MAX_READ_BYTES = 256 * 1024 * 1024
"""Largest body :meth:`Client.read` holds in memory (larger: ``Client.download``)."""
DEFAULT_MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024 * 1024
"""Largest file :meth:`Client.download` writes to disk."""
_ERROR_BODY_BYTES = 64 * 1024
# An error body longer than this is cut: only its start explains the error.
_HEAD_BYTES = 1024 * 1024
# Enough of a file's start to sniff its type (image headers, magic numbers).


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
    body: Body | None = None
    """Where a file's body goes, capped; ``None`` reads the whole answer."""


class Body:
    """Where a file's response body goes (memory or a file), and how much may come.

    The sans-IO half of ``Client.read`` and ``Client.download``: the clients feed it
    the body chunk by chunk as it arrives, and it refuses a body over ``limit`` as
    soon as the declared length or the count of bytes says so, so nothing past the
    cap is kept. An error answer's body is kept in memory instead (its start only),
    for the error message.

    Parameters
    ----------
    url
        The file's URL; errors name it without its query, which may be a signature.
    limit
        The most bytes accepted.
    hint
        What to do when the file is over ``limit``.
    file
        A binary file to write to; ``None`` keeps the bytes in memory.
    """

    def __init__(
        self, url: str, limit: int, hint: str, file: BinaryIO | None = None
    ) -> None:
        self.url = url
        self.limit = limit
        self.hint = hint
        self.file = file
        self.size = 0
        """Bytes received so far."""
        self.head = bytearray()
        """The first bytes written to :attr:`file`, to sniff the type from."""
        self._memory = io.BytesIO()
        self._error = False

    def start(
        self, response: httpx.Response | None = None, *, size: int | None = None
    ) -> None:
        """Begin a body (again, when a request is retried); check its declared size.

        The size is the response's ``Content-Length``, or ``size`` when the bytes
        are at hand (a ``data:`` URI).

        Raises
        ------
        OutputTooLargeError
            When ``Content-Length`` is over the limit (nothing is read then).
        """
        self._error = response is not None and response.status_code >= 400
        self._memory = io.BytesIO()
        self.size = 0
        self.head = bytearray()
        if self._error:
            return
        if self.file is not None:
            self.file.seek(0)
            self.file.truncate()
        length = response.headers.get("content-length", "") if response else ""
        declared = int(length) if length.isdigit() else size
        if declared is not None and declared > self.limit:
            raise self.too_large(declared)

    def feed(self, chunk: bytes) -> bool:
        """Take the next chunk; ``False`` means the rest is not wanted.

        Raises
        ------
        OutputTooLargeError
            When the bytes so far exceed the limit (that chunk is not kept).
        """
        if self._error:
            self._memory.write(chunk[: _ERROR_BODY_BYTES - self._memory.tell()])
            return self._memory.tell() < _ERROR_BODY_BYTES
        self.size += len(chunk)
        if self.size > self.limit:
            raise self.too_large(None)
        if self.file is None:
            self._memory.write(chunk)
        else:
            self.file.write(chunk)
            if len(self.head) < _HEAD_BYTES:
                self.head += chunk[: _HEAD_BYTES - len(self.head)]
        return True

    def response(self, streamed: httpx.Response) -> httpx.Response:
        """Return the response to judge: an error one with its (possibly cut) body."""
        if not self._error:
            return streamed
        # The body is already decoded and may be cut, so its framing headers no
        # longer apply.
        framing = {"content-encoding", "content-length", "transfer-encoding"}
        headers = [
            (k, v)
            for k, v in streamed.headers.multi_items()
            if k.lower() not in framing
        ]
        return httpx.Response(
            streamed.status_code,
            headers=headers,
            content=self._memory.getvalue(),
            request=streamed.request,
        )

    def content(self) -> bytes:
        """Return the bytes kept in memory (when there is no :attr:`file`)."""
        return self._memory.getvalue()

    def too_large(self, size: int | None) -> OutputTooLargeError:
        """Return the error for a body over the limit."""
        if self.url.startswith("data:"):
            where = "The data: URI"
        else:
            parts = urlsplit(self.url)
            where = f"{parts.scheme}://{parts.netloc}{parts.path}"[:200]
        return OutputTooLargeError(where, self.limit, size, self.hint)


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
    return is_loopback_host(urlsplit(url).hostname or "")


def _origin(url: str) -> tuple[str, str, int] | None:
    """Return ``(scheme, host, port)`` of an http(s) URL, default ports filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:  # a port that is not a number
        return None
    return scheme, parts.hostname.lower().rstrip("."), port


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"base_url {base_url!r} is not an http(s) URL. Use "
            f"{DEFAULT_BASE_URL!r}, or the local backend's URL such as "
            "'http://127.0.0.1:8000/v1'."
        )
    return base_url.rstrip("/")


def _check_size(name: str, value: int | None, default: int | None = None) -> int:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"{name} must be a positive whole number of bytes, e.g. "
            f"{DEFAULT_MAX_READ_BYTES} (256 MB), not {value!r}."
        )
    return value


def _check_file_url(url: str) -> str:
    if not isinstance(url, str):
        raise TypeError(f"url must be a string, not {type(url).__name__}.")
    if not url.startswith(("http://", "https://", "data:")):
        raise ValueError(
            f"Cannot read {url[:60]!r}: expected an http(s) URL or a data: URI."
        )
    return url


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
        *,
        max_read_bytes: int = DEFAULT_MAX_READ_BYTES,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
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
        self.max_read_bytes = _check_size("max_read_bytes", max_read_bytes)
        """The largest file :meth:`Client.read` holds in memory."""
        self.max_download_bytes = _check_size("max_download_bytes", max_download_bytes)
        """The largest file :meth:`Client.download` writes."""

    @property
    def is_local(self) -> bool:
        """True when the base URL is on this machine (the local backend)."""
        return is_loopback(self.base_url)

    def _token_value(self) -> str | None:
        if self._token is not None:
            return self._token.reveal()
        return _auth.get_token()

    def sends_auth_to(self, url: str) -> bool:
        """Tell whether a request to ``url`` should carry the token.

        The configured API's exact origin (scheme, host, port) does, whatever its
        scheme: a local backend on http://127.0.0.1 is what the user chose. Replicate's
        other hosts do over https only. Nothing else does.
        """
        origin = _origin(url)
        if origin is None:
            return False
        if origin == _origin(self.base_url):
            return True
        scheme, host, _ = origin
        return scheme == "https" and any(
            host == s or host.endswith("." + s) for s in _AUTH_HOST_SUFFIXES
        )

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
        if is_loopback(url) or _origin(url) != _origin(self.base_url):
            # The local backend runs without a token, and output hosts may be public.
            return {}
        raise MissingTokenError(self.base_url)

    def build(
        self, http: httpx.Client | httpx.AsyncClient, call: Call[Any]
    ) -> httpx.Request:
        """Turn ``call`` into a request (checks the token first)."""
        url = self.url_for(call.url)
        headers = {"User-Agent": USER_AGENT, **self.auth_headers(url), **call.headers}
        if _origin(url) == _origin(self.base_url):
            # A widget's run that must end with this process (see _session).
            headers.update(session_headers())
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

    def read_body(self, url: str, max_bytes: int | None) -> Body:
        """Return a body in memory for :meth:`Client.read` (checks ``url``)."""
        return Body(
            _check_file_url(url),
            _check_size("max_bytes", max_bytes, self.max_read_bytes),
            "Save it to disk with client.download(url, path) instead, or pass a "
            "larger max_bytes= to read() (or max_read_bytes= to the client)",
        )

    def download_body(self, url: str, max_bytes: int | None, file: BinaryIO) -> Body:
        """Return a body written to ``file`` for :meth:`Client.download`."""
        return Body(
            _check_file_url(url),
            _check_size("max_bytes", max_bytes, self.max_download_bytes),
            "If a file this size is expected, pass a larger max_bytes= to "
            "download() (or max_download_bytes= to the client)",
            file,
        )

    @staticmethod
    def file_call(body: Body) -> Call[httpx.Response]:
        """Return the request for an output file, its body going into ``body``."""
        # Uncompressed, so that the bytes counted are the bytes kept: a small
        # compressed answer cannot inflate past the cap between two counts.
        headers = {"Accept-Encoding": "identity"}
        return Call("GET", body.url, lambda r: r, headers=headers, body=body)

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
