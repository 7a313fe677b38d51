"""Where the API token lives: in this process's memory only.

The token given to :func:`replicate_widgets.login` is kept in a module global,
never in a widget trait, a file, an environment variable inherited by model
subprocesses, or any output, so a saved notebook cannot contain it.
"""

from __future__ import annotations

import os
import threading

_lock = threading.Lock()
_token: str | None = None


def set_token(token: str | None) -> None:
    """Keep ``token`` in memory for this process (``None`` forgets it)."""
    global _token
    with _lock:
        _token = token or None


def get_token() -> str | None:
    """Return the token from :func:`login`, else ``REPLICATE_API_TOKEN``, or None."""
    with _lock:
        if _token:
            return _token
    return os.environ.get("REPLICATE_API_TOKEN") or None


def has_token() -> bool:
    """Tell whether a token is set (by :func:`login` or ``REPLICATE_API_TOKEN``).

    The public way for a notebook to choose between cloud and local cells: it
    answers yes or no and never hands the token itself to notebook code.
    """
    return get_token() is not None


def check_token(token: str) -> str | None:
    """Return what is wrong with ``token``, or ``None`` if it looks usable."""
    if not token.strip():
        return "The token is empty. Paste the token from https://replicate.com/account/api-tokens."
    if token != token.strip() or any(c.isspace() for c in token):
        return "The token contains spaces or line breaks; paste only the token itself."
    if not token.isascii() or not token.isprintable():
        return (
            "The token contains characters a Replicate token never has; paste it again."
        )
    return None
