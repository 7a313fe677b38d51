"""Errors raised by the Replicate client.

Error bodies from the API are RFC 7807 problem details (``title``, ``detail``,
``status``, any of which may be missing); :func:`error_from_response` turns them into
this tree::

    ReplicateError
    ├── APIError(status, title, detail)          any other non-2xx response
    │   ├── AuthenticationError                  401
    │   │   └── MissingTokenError                no token, raised before any request
    │   ├── PermissionDeniedError                403
    │   ├── NotFoundError                        404
    │   ├── InvalidInputError(errors)            422 (and 400), with field details
    │   ├── FileTooLargeError                    413
    │   ├── RateLimitError(retry_after)          429
    │   └── ServerError                          5xx
    ├── APIConnectionError                       the server could not be reached
    │   └── APITimeoutError                      no answer in time
    ├── OutputTooLargeError(limit, size)         a file over the read/download cap
    └── ModelError(prediction, logs)             failed, canceled or aborted

An interrupted ``run()`` raises a plain ``KeyboardInterrupt`` that says what became
of its predictions (:func:`run_interrupted`).

Every message says what happened and what the person can do next; none contains the
API token.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .types import Prediction, Training

_HOW_TO_AUTHENTICATE = (
    "Set the REPLICATE_API_TOKEN environment variable, call "
    "replicate_widgets.login(), or pass api_token= to the client. Tokens are at "
    "https://replicate.com/account/api-tokens. To work offline, start the local "
    "backend (python -m replicate_widgets.server) and pass its URL as base_url= or "
    "REPLICATE_BASE_URL."
)


class ReplicateError(Exception):
    """Base class of every error this client raises."""


class APIError(ReplicateError):
    """The API answered with an error status.

    Parameters
    ----------
    status
        The HTTP status code.
    title
        The problem's short summary (RFC 7807 ``title``), if any.
    detail
        The problem's explanation (RFC 7807 ``detail``), if any.
    body
        The decoded response body (a dict for JSON bodies).
    hint
        What the person can do about it; appended to the message.
    """

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        body: Any = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        """The HTTP status code."""
        self.title = title
        """RFC 7807 ``title``."""
        self.detail = detail
        """RFC 7807 ``detail``."""
        self.body = body
        """The decoded response body."""
        self.hint = hint
        """What to do about it."""
        super().__init__(self._message())

    def _message(self) -> str:
        head = f"HTTP {self.status}"
        if self.title:
            head += f" {self.title}"
        # Details often end in a newline (Replicate's 422 lists fields line by
        # line); strip it so the hint does not start a line with a lone ".".
        detail = (self.detail or "").strip()
        parts = [head + (f": {detail}" if detail else "")]
        if self.hint:
            parts.append(self.hint)
        return ". ".join(p.strip().rstrip(".") for p in parts) + "."


class AuthenticationError(APIError):
    """The token is missing, wrong or revoked (401)."""


class MissingTokenError(AuthenticationError):
    """No token was given for a server that needs one; raised before any request."""

    def __init__(self, base_url: str) -> None:
        super().__init__(
            401,
            "No API token",
            f"{base_url} needs a Replicate API token and none is set",
            hint=_HOW_TO_AUTHENTICATE,
        )

    def _message(self) -> str:
        # Nothing was sent, so no "HTTP 401": just what is missing and what to do.
        return f"{self.detail}. {self.hint}"


class PermissionDeniedError(APIError):
    """The token is valid but may not do this (403)."""


class NotFoundError(APIError):
    """The model, version, prediction or file does not exist, or is private (404)."""


class InvalidInputError(APIError):
    """The request was understood but its content is invalid (422 or 400).

    ``errors`` lists field-level details when the server sends them (e.g.
    ``[{"field": "prompt", "message": "..."}]`` or a ``{field: message}`` mapping).
    """

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        body: Any = None,
        hint: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        self.errors: list[dict[str, Any]] = errors or []
        """Field-level details, if the server gave any."""
        super().__init__(status, title, detail, body=body, hint=hint)


class FileTooLargeError(APIError):
    """A file is larger than the Files API accepts (100 MB)."""


class RateLimitError(APIError):
    """Too many requests (429); nothing was created, so retrying is safe.

    ``retry_after`` is the number of seconds the server asked to wait, if it said.
    """

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        body: Any = None,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        """Seconds to wait before trying again, from ``Retry-After`` or the body."""
        super().__init__(status, title, detail, body=body, hint=hint)


class ServerError(APIError):
    """The server failed (5xx); usually temporary."""


class APIConnectionError(ReplicateError):
    """The server could not be reached (DNS, refused connection, dropped connection)."""


class APITimeoutError(APIConnectionError):
    """The server did not answer within the client's timeout."""


def _size(n: int) -> str:
    if n >= 1024**3:
        return f"{n / 1024**3:.1f} GB"
    if n >= 1024**2:
        return f"{n / 1024**2:.1f} MB"
    return f"{n:,} bytes"


class OutputTooLargeError(ReplicateError):
    """A file is larger than the client accepts; the rest of it was not read.

    Parameters
    ----------
    where
        The file, as shown in the message (a URL without its query).
    limit
        The cap in bytes.
    size
        The size the server declared, if it did.
    hint
        What the person can do about it.
    """

    def __init__(self, where: str, limit: int, size: int | None, hint: str) -> None:
        self.limit = limit
        """The cap, in bytes."""
        self.size = size
        """The size the server declared (``Content-Length``), if any."""
        told = f"is {_size(size)}, over" if size is not None else "is over"
        super().__init__(f"{where} {told} the {_size(limit)} limit. {hint}.")


class ModelError(ReplicateError):
    """A prediction (or training) ended without succeeding.

    Parameters
    ----------
    prediction
        The prediction in its final state (``failed``, ``canceled`` or ``aborted``).
    """

    def __init__(self, prediction: Prediction | Training) -> None:
        self.prediction = prediction
        """The prediction in its final state."""
        self.logs = prediction.logs or ""
        """The model's logs, which usually show why it failed."""
        pid, status = prediction.id, prediction.status
        if status == "failed":
            msg = f"Prediction {pid} failed: {prediction.error or 'no error message'}."
            msg += " Check the input values and the logs (exc.logs)."
        elif status == "aborted":
            msg = (
                f"Prediction {pid} was aborted: its deadline passed before it started. "
                "Try again later or with a longer Cancel-After."
            )
        else:
            msg = f"Prediction {pid} was canceled before it finished."
        super().__init__(msg)


PREDICTION_IDS = "prediction_ids"
"""The attribute of an interrupted run's KeyboardInterrupt naming its predictions."""


def run_interrupted(message: str, prediction_ids: tuple[str, ...]) -> KeyboardInterrupt:
    """Return the ``KeyboardInterrupt`` a blocking ``run()`` raises when interrupted.

    A plain ``KeyboardInterrupt`` (notebooks and ``except KeyboardInterrupt`` treat
    it as any other), whose message says what became of the predictions the call
    had started; their ids are in its ``prediction_ids`` attribute.
    """
    error = KeyboardInterrupt(message)
    setattr(error, PREDICTION_IDS, prediction_ids)
    return error


def is_run_interrupted(error: BaseException) -> bool:
    """Tell whether ``error`` came from :func:`run_interrupted`."""
    return isinstance(error, KeyboardInterrupt) and hasattr(error, PREDICTION_IDS)


_HINTS: dict[int, str] = {
    401: "The API token was rejected. " + _HOW_TO_AUTHENTICATE,
    403: "This token may not do that; check the model's owner and visibility",
    404: "Check the spelling of the owner/name (and version id); private models "
    "need a token from an account that can see them",
    413: "Files must be smaller than 100 MB; pass a URL to the file instead",
    429: "Too many requests; wait and try again (the client retries automatically)",
}


def _problem(body: Any) -> tuple[str | None, str | None]:
    if not isinstance(body, dict):
        return None, None
    title = body.get("title")
    detail = body.get("detail")
    if not isinstance(detail, str) and detail is not None:
        # Some servers (FastAPI-style) put a list of field errors in ``detail``.
        detail = json.dumps(detail)
    return (title if isinstance(title, str) else None), detail


def _field_errors(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return []
    raw = body.get("invalid_fields", body.get("errors"))
    if raw is None and isinstance(body.get("detail"), list):
        raw = body["detail"]
    if isinstance(raw, dict):
        return [{"field": str(k), "message": str(v)} for k, v in raw.items()]
    if isinstance(raw, list):
        return [e if isinstance(e, dict) else {"message": str(e)} for e in raw]
    return []


def parse_retry_after(response: httpx.Response, body: Any = None) -> float | None:
    """Return seconds to wait from ``Retry-After`` or the body's ``retry_after``."""
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                when = parsedate_to_datetime(header)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                from datetime import datetime, timezone

                now = datetime.now(timezone.utc)
                return max(0.0, (when - now).total_seconds())
    if isinstance(body, dict):
        value = body.get("retry_after")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return max(0.0, float(value))
    return None


def decode_body(response: httpx.Response) -> Any:
    """Return the response body as JSON if it is JSON, else as text (never raises)."""
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        try:
            return response.text
        except UnicodeDecodeError:  # pragma: no cover - binary error bodies are rare
            return None


def error_from_response(response: httpx.Response) -> APIError:
    """Build the most specific :class:`APIError` for an error response.

    The response body must already be read.
    """
    status = response.status_code
    body = decode_body(response)
    title, detail = _problem(body)
    if detail is None and isinstance(body, str) and body.strip():
        # Cut long HTML error pages from proxies down to something readable.
        detail = body.strip()[:300]
    if title is None:
        title = response.reason_phrase or None
    hint = _HINTS.get(status)
    if status >= 500:
        return ServerError(
            status, title, detail, body=body, hint="The server failed; try again later"
        )
    if status == 401:
        return AuthenticationError(status, title, detail, body=body, hint=hint)
    if status == 403:
        return PermissionDeniedError(status, title, detail, body=body, hint=hint)
    if status == 404:
        return NotFoundError(status, title, detail, body=body, hint=hint)
    if status == 413:
        return FileTooLargeError(status, title, detail, body=body, hint=hint)
    if status == 429:
        return RateLimitError(
            status,
            title,
            detail,
            body=body,
            hint=hint,
            retry_after=parse_retry_after(response, body),
        )
    if status in (400, 422):
        return InvalidInputError(
            status,
            title,
            detail,
            body=body,
            hint="Fix the input values named above and try again",
            errors=_field_errors(body),
        )
    return APIError(status, title, detail, body=body, hint=hint)
