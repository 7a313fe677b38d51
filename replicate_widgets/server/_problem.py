"""RFC 7807 problem details, the error shape of every non-2xx answer.

Replicate answers errors with ``application/problem+json`` bodies (``title``,
``status``, ``detail`` and sometimes extra members such as ``invalid_fields`` or
``retry_after``). Code anywhere in the server raises :class:`Problem`; the app
turns it into a response, so no handler builds error bodies by hand and no stack
trace can reach a client.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from starlette.responses import JSONResponse

__all__ = ["Problem", "check_body"]

_TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request entity too large",
    415: "Unsupported media type",
    422: "Unprocessable entity",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(Exception):
    """An HTTP error that is rendered as ``application/problem+json``.

    Parameters
    ----------
    status
        The HTTP status code.
    detail
        A sentence for a person: what went wrong and what to do about it.
    title
        A short summary; defaults to the standard phrase for ``status``.
    headers
        Extra response headers (``Retry-After``, ``WWW-Authenticate``).
    **extra
        Extra members of the body, such as ``invalid_fields``.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """Return the JSON body of the problem document."""
        return {
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


def problem_response(problem: Problem) -> JSONResponse:
    """Render ``problem`` as a ``application/problem+json`` response."""
    return JSONResponse(
        problem.body(),
        status_code=problem.status,
        headers=problem.headers,
        media_type="application/problem+json",
    )


def check_body(body: Any, allowed: Collection[str]) -> dict[str, Any]:
    """Return ``body`` when it is a JSON object whose keys are all ``allowed``.

    The one check of every ``POST``/``PATCH`` body the server reads, so each
    endpoint answers the same way: 400 for a body that is not an object, 422
    naming the unknown fields and the allowed ones.

    Raises
    ------
    Problem
        400 or 422, as above.
    """
    names = ", ".join(sorted(allowed))
    if not isinstance(body, dict):
        raise Problem(
            400, f"The request body must be a JSON object with any of: {names}."
        )
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise Problem(422, f"Unknown field(s) {', '.join(unknown)}; allowed: {names}.")
    return body
