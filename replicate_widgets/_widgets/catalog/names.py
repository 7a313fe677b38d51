"""Checking what a person types for a model: its owner and name, and its links.

The names are checked before the request is sent, so a person sees what to change
instead of a 422 after a round trip. Replicate's OpenAPI document only says a
model's ``name`` must be unique for its owner; the rules the service (and the local
backend) enforce are: lowercase letters, digits, ``-``, ``_`` and ``.``, starting
and ending with a letter or a digit (:mod:`replicate_widgets._model_names`). Links
must be ``http(s)``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from replicate_widgets._model_names import is_model_name

__all__ = ["check_model_name", "check_url", "suggest_name"]


def suggest_name(text: str) -> str:
    """Turn free text into a valid name (``"My Model!"`` -> ``my-model``).

    Parameters
    ----------
    text
        What the person typed.

    Returns
    -------
    str
        Lowercase, runs of other characters replaced by ``-``, trimmed so it starts
        and ends with a letter or digit; ``""`` when nothing usable is left.
    """
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.strip().lower())
    return re.sub(r"^[._-]+|[._-]+$", "", slug)


def check_model_name(value: str, what: str = "name") -> str | None:
    """Check an owner or model name against Replicate's rules.

    Parameters
    ----------
    value
        The name to check.
    what
        ``"name"`` or ``"owner"``, used in the message.

    Returns
    -------
    str or None
        ``None`` when the name is fine, else a message saying what to change.
    """
    if not value:
        return f"The {what} is required."
    if is_model_name(value):
        return None
    hint = suggest_name(value)
    tip = f" Try {hint!r}." if is_model_name(hint) else ""
    if value != value.lower():
        return f"The {what} must be lowercase.{tip}"
    if not value[0].isalnum() or not value[-1].isalnum():
        return f"The {what} must start and end with a letter or a digit.{tip}"
    bad = sorted({c for c in value if not (c.isalnum() or c in "-_.")})
    shown = " ".join(repr(c) for c in bad)
    return (
        f"The {what} may only use lowercase letters, digits, '-', '_' and '.'; "
        f"remove {shown}.{tip}"
    )


def check_url(value: str, label: str = "URL") -> str | None:
    """Check an optional link: empty, or an ``http(s)`` URL with a host.

    Returns
    -------
    str or None
        ``None`` when fine, else what to change.
    """
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https"):
        return f"{label} must start with https:// (or http://), e.g. https://github.com/you/model."
    if not parts.netloc:
        return f"{label} has no host name after {parts.scheme}://."
    return None
