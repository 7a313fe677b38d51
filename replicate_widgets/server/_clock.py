"""Timestamps in the API's format (ISO 8601, microseconds, ``Z``)."""

from __future__ import annotations

from datetime import datetime, timezone


def now_iso() -> str:
    """Return the current UTC time, e.g. ``2024-04-22T11:15:15.329000Z``."""
    return iso(datetime.now(timezone.utc))


def iso(moment: datetime) -> str:
    """Format an aware datetime the way every stored timestamp is formatted.

    A fixed width keeps string order equal to time order, which the store's
    cursors and ``created_after``/``created_before`` filters rely on
    (``isoformat`` pads the year to four digits, as ``strftime`` does not on
    Linux, and takes half its time: every prediction stamps three times).
    """
    utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 timestamp; naive ones are taken as UTC.

    Raises
    ------
    ValueError
        When ``value`` is not ISO 8601.
    """
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def seconds_between(start: str, end: str) -> float:
    """Return the seconds from one stored timestamp to another."""
    return (parse_iso(end) - parse_iso(start)).total_seconds()
