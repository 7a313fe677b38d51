"""Checks of prediction arguments that fail before any request is sent.

Model references, ``Prefer: wait``, ``Cancel-After``, webhook fields and JSON inputs
are checked here, with messages that say how to fix the value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from .types import Resource

_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
_MODEL_RE = re.compile(rf"^({_NAME})/({_NAME})$")
_VERSIONED_RE = re.compile(rf"^({_NAME})/({_NAME}):([A-Za-z0-9][A-Za-z0-9_.-]*)$")
_VERSION_ID_RE = re.compile(r"^[0-9a-f]{64}$")
WIDGET_REF = re.compile(r"^([\w.-]+)/([\w.-]+)(?::([0-9a-f]{64}))?$")
"""``owner/name`` or ``owner/name:<64 hex digits>``: what the widgets accept."""
SHORT_VERSION = 8
"""Hex digits of a version id shown in titles and messages (enough to tell apart)."""
_REST = 64 - SHORT_VERSION
_FULL_VERSION = re.compile(
    rf"(?<![0-9a-f])([0-9a-f]{{{SHORT_VERSION}}})[0-9a-f]{{{_REST}}}(?![0-9a-f])"
)
_CANCEL_AFTER_RE = re.compile(r"^(?=\d)(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")
WEBHOOK_EVENTS = ("start", "output", "logs", "completed")
MAX_WAIT = 60
_WAIT_MARGIN = 10.0


def short_ref(text: str) -> str:
    """Shorten every 64-digit version id in ``text`` to its first 8 digits.

    Examples
    --------
    >>> short_ref("local/owl:" + "4a122acc" + "0" * 56)
    'local/owl:4a122acc'
    """
    return _FULL_VERSION.sub(r"\1", text)


REF_HELP = (
    "Use 'owner/name' (official models and deployments), 'owner/name:version_id', "
    "or a 64-character version id, e.g. 'stability-ai/sdxl:39ed52f2...'."
)


@dataclass(frozen=True)
class ModelRef:
    """A parsed model reference: ``owner/name``, optionally with a version id."""

    owner: str | None
    name: str | None
    version: str | None

    @property
    def path(self) -> str:
        """``owner/name`` URL-quoted for a path."""
        return f"{quote(self.owner or '')}/{quote(self.name or '')}"


def parse_model(ref: str, *, what: str = "model") -> ModelRef:
    """Parse ``owner/name`` (no version allowed)."""
    if not isinstance(ref, str):
        raise TypeError(
            f"The {what} must be a string 'owner/name', not {type(ref).__name__}."
        )
    match = _MODEL_RE.match(ref.strip())
    if not match:
        hint = " Drop the ':version' part." if ":" in ref else ""
        raise ValueError(
            f"{ref!r} is not a {what} reference; use 'owner/name', e.g. "
            f"'stability-ai/sdxl'.{hint}"
        )
    return ModelRef(match.group(1), match.group(2), None)


def parse_ref(ref: str) -> ModelRef:
    """Parse any prediction target: ``owner/name``, ``owner/name:version``, or an id."""
    if not isinstance(ref, str):
        raise TypeError(
            f"The model reference must be a string, not {type(ref).__name__}. "
            f"{REF_HELP}"
        )
    text = ref.strip()
    if _VERSION_ID_RE.match(text):
        return ModelRef(None, None, text)
    match = _VERSIONED_RE.match(text)
    if match:
        return ModelRef(match.group(1), match.group(2), match.group(3))
    match = _MODEL_RE.match(text)
    if match:
        return ModelRef(match.group(1), match.group(2), None)
    raise ValueError(f"{ref!r} is not a valid model reference. {REF_HELP}")


def check_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or "/" in value:
        raise ValueError(
            f"{what} must be a non-empty id string without '/', got {value!r}."
        )
    return quote(value.strip())


def id_of(obj: str | Resource, what: str) -> str:
    if isinstance(obj, Resource):
        return check_id(str(obj.raw.get("id", "")), what)
    return check_id(obj, what)


def prefer_header(
    wait: bool | int | None,
) -> tuple[dict[str, str], httpx.Timeout | None]:
    """``Prefer: wait[=n]`` and a read timeout longer than the wait."""
    if wait is None or wait is False:
        return {}, None
    if wait is True:
        seconds = MAX_WAIT
        header = "wait"
    elif isinstance(wait, int) and 1 <= wait <= MAX_WAIT:
        seconds, header = wait, f"wait={wait}"
    else:
        raise ValueError(
            f"wait={wait!r} is not allowed; use True (up to 60 s), False, or a whole "
            "number of seconds from 1 to 60."
        )
    return {"Prefer": header}, httpx.Timeout(30.0, read=seconds + _WAIT_MARGIN)


def cancel_after_header(cancel_after: str | float | None) -> dict[str, str]:
    """``Cancel-After`` from seconds or a duration like ``'5m'`` or ``'1h30m'``."""
    if cancel_after is None:
        return {}
    if isinstance(cancel_after, bool):
        raise TypeError("cancel_after must be seconds or a string like '5m'.")
    if isinstance(cancel_after, (int, float)):
        seconds = float(cancel_after)
        text = f"{int(seconds)}s"
    elif isinstance(cancel_after, str):
        text = cancel_after.strip()
        match = _CANCEL_AFTER_RE.match(text)
        if not match:
            raise ValueError(
                f"cancel_after={cancel_after!r} is not a duration; use seconds (30) "
                "or a string such as '30s', '5m' or '1h30m45s'."
            )
        h, m, s = (int(g) if g else 0 for g in match.groups())
        seconds = h * 3600 + m * 60 + s
    else:
        raise TypeError("cancel_after must be seconds or a string like '5m'.")
    if seconds < 5:
        raise ValueError("cancel_after must be at least 5 seconds.")
    return {"Cancel-After": text}


def webhook_fields(webhook: str | None, events: Sequence[str] | None) -> dict[str, Any]:
    """Check and return the webhook part of a create body."""
    body: dict[str, Any] = {}
    if webhook is not None:
        if not isinstance(webhook, str) or not webhook.startswith(
            ("https://", "http://")
        ):
            raise ValueError(f"webhook must be an http(s) URL, got {webhook!r}.")
        body["webhook"] = webhook
    if events is not None:
        if isinstance(events, str):
            raise TypeError("webhook_events_filter must be a list, e.g. ['completed'].")
        unknown = [e for e in events if e not in WEBHOOK_EVENTS]
        if unknown:
            raise ValueError(
                f"Unknown webhook event(s) {unknown}; choose from "
                f"{list(WEBHOOK_EVENTS)}."
            )
        if webhook is None:
            raise ValueError("webhook_events_filter needs a webhook URL as well.")
        body["webhook_events_filter"] = list(events)
    return body


def check_json_input(input: Any) -> dict[str, Any]:
    """Check that ``input`` is a dict of JSON values; raise a clear error otherwise."""
    if not isinstance(input, dict):
        raise TypeError(
            "input must be a dict of input names to values, not "
            f"{type(input).__name__}."
        )
    for key, value in input.items():
        if not isinstance(key, str):
            raise TypeError(f"Input names must be strings, got {key!r}.")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"input[{key!r}] cannot be sent as JSON ({exc}). Use str, int, float, "
                "bool, None, lists and dicts of those, or a Path/bytes/file object for "
                "files."
            ) from None
    return input
