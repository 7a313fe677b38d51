"""Which rows History shows: filters over the runs fetched, a page at a time.

Replicate's ``GET /v1/predictions`` lists runs newest first, one cursor page at a
time, with date filters only: no model, status or text filter. So History filters
here, over the runs fetched so far, and says how many runs that is. Kept records
and this notebook's runs come from their own sources; a row older than the oldest
run the API has sent so far (the *frontier*) is held back until the API was read
past it, because a run not fetched yet may belong before it.

A page is anchored to a row, not to an offset: the rows older than the anchor. Runs
started meanwhile join the top without shifting the page being read.

Nothing here draws or touches the network.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from replicate_widgets._schema.secrets import has_mask

from .entries import HistoryEntry, row_key

__all__ = [
    "STATUSES",
    "Filters",
    "View",
    "models_of",
    "newer_anchor",
    "older_anchor",
    "page_view",
    "searchable_text",
    "summary",
]

RowKey = tuple[dt.datetime, str]

STATUSES = ("starting", "processing", "succeeded", "failed", "canceled", "aborted")
"""The statuses a run can have, in the order the status filter offers them."""


def searchable_text(inputs: Mapping[str, Any]) -> str:
    """Return the text a search looks in: input values, lower-cased, one per line.

    ``data:`` URIs (a file's bytes, not words anyone types) and masked secrets are
    left out.
    """
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if not value.startswith("data:") and not has_mask(value):
                found.append(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif value is not None:
            found.append(str(value))

    walk(dict(inputs))
    return "\n".join(found).casefold()


@dataclasses.dataclass(frozen=True)
class Filters:
    """What the person narrowed the table to; empty fields do not filter."""

    model: str = ""
    """Part of ``owner/name``, any case (``"fractal"`` finds ``demo/fractal``)."""
    status: str = ""
    """One of :data:`STATUSES`, exactly."""
    text: str = ""
    """Words that must all appear in the run's input values, any case."""

    def __post_init__(self) -> None:
        for name in ("model", "status", "text"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"{name} must be text, got {type(value).__name__}")
            object.__setattr__(self, name, value.strip())
        if self.status and self.status not in STATUSES:
            raise ValueError(
                f"status={self.status!r} is not a run status: use one of "
                f"{', '.join(STATUSES)}, or '' for all."
            )

    @property
    def active(self) -> bool:
        """True when any filter is set."""
        return bool(self.model or self.status or self.text)

    def matches(self, entry: HistoryEntry) -> bool:
        """Tell whether ``entry`` passes every filter that is set."""
        if self.model and self.model.casefold() not in entry.model.casefold():
            return False
        if self.status and entry.status != self.status:
            return False
        if self.text:
            haystack = searchable_text(entry.input)
            return all(word in haystack for word in self.text.casefold().split())
        return True

    def describe(self) -> str:
        """Say what is filtered, e.g. ``model “echo”, inputs containing “cat”``."""
        parts = []
        if self.model:
            parts.append(f"model “{self.model}”")
        if self.status:
            parts.append(f"status {self.status}")
        if self.text:
            parts.append(f"inputs containing “{self.text}”")
        return ", ".join(parts)


@dataclasses.dataclass(frozen=True)
class View:
    """One page of the table, and what the pager and summary need to know."""

    rows: tuple[HistoryEntry, ...]
    """The rows shown, newest first."""
    anchor: RowKey | None
    """The page shows matching rows older than this row; ``None``: the newest page
    (also when no match lies above the row asked for)."""
    first: int
    """The position of the first row among the matches, counted from 1."""
    searched: int
    """How many runs the filters were checked against (all runs known and settled)."""
    more: bool
    """A settled match lies beyond this page."""
    complete: bool
    """The backend's whole list was read (or is not listed)."""

    @property
    def older(self) -> bool:
        """Whether Older can show anything (or search further back)."""
        return self.more or not self.complete

    @property
    def newer(self) -> bool:
        """Whether this is not the newest page."""
        return self.anchor is not None

    @property
    def full(self) -> bool:
        """Whether enough was fetched to draw this page and know what follows."""
        return self.more or self.complete


EMPTY_VIEW = View((), None, 1, 0, False, True)
"""The view of a table with no rows, before anything was loaded."""


def _settled(
    entries: Iterable[HistoryEntry], frontier: RowKey | None, complete: bool
) -> list[HistoryEntry]:
    ordered = sorted(entries, key=row_key, reverse=True)
    if complete:
        return ordered
    if frontier is None:
        return []
    return [e for e in ordered if row_key(e) >= frontier]


def page_view(
    entries: Iterable[HistoryEntry],
    filters: Filters,
    anchor: RowKey | None,
    size: int,
    frontier: RowKey | None,
    complete: bool,
) -> View:
    """Return the page of matching rows older than ``anchor`` (at most ``size``).

    Parameters
    ----------
    entries
        Every run known, from all sources.
    filters
        What the rows must match.
    anchor
        Rows older than this one are shown; ``None`` for the newest page.
    size
        Rows per page.
    frontier
        The key of the oldest run the API has sent (``None``: none yet).
    complete
        Whether the API has nothing older left to send.
    """
    settled = _settled(entries, frontier, complete)
    matches = [e for e in settled if filters.matches(e)]
    if anchor is None:
        newer: list[HistoryEntry] = []
        older = matches
    else:
        newer = [e for e in matches if row_key(e) >= anchor]
        older = [e for e in matches if row_key(e) < anchor]
        if not newer:
            anchor = None  # nothing matches above: this is the newest page
    return View(
        rows=tuple(older[:size]),
        anchor=anchor,
        first=len(newer) + 1,
        searched=len(settled),
        more=len(older) > size,
        complete=complete,
    )


def newer_anchor(
    entries: Iterable[HistoryEntry],
    filters: Filters,
    view: View,
    size: int,
    frontier: RowKey | None,
) -> RowKey | None:
    """Return the anchor of the page before ``view`` (``None``: the newest page)."""
    if view.anchor is None:
        return None
    settled = _settled(entries, frontier, view.complete)
    newer = [e for e in settled if filters.matches(e) and row_key(e) >= view.anchor]
    if len(newer) <= size:
        return None
    return row_key(newer[-size - 1])


def older_anchor(view: View, frontier: RowKey | None) -> RowKey | None:
    """Return the anchor of the page after ``view``.

    After a page with no rows (a search that found nothing yet), everything down to
    the frontier was searched, so the next search starts there.
    """
    if view.rows:
        return row_key(view.rows[-1])
    if frontier is not None and (view.anchor is None or frontier < view.anchor):
        return frontier
    return view.anchor


def summary(view: View, filters: Filters) -> str:
    """Say which rows are shown and what was searched, in one sentence."""
    runs = (
        f"all {view.searched} runs"
        if view.complete
        else f"the {view.searched} most recent runs"
    )
    further = "" if view.complete else "; Older searches further back"
    if filters.active:
        if not view.rows:
            return f"No run with {filters.describe()} among {runs}{further}."
        last = view.first + len(view.rows) - 1
        return (
            f"Runs {view.first} to {last} with {filters.describe()}, "
            f"searching {runs}{further}."
        )
    if not view.rows:
        return "" if view.complete else f"No runs among {runs}{further}."
    last = view.first + len(view.rows) - 1
    if view.complete:
        return f"Runs {view.first} to {last} of {view.searched}."
    return (
        f"Runs {view.first} to {last} of the {view.searched} most recent; Older loads "
        "more from the backend."
    )


def models_of(entries: Sequence[HistoryEntry], also: Iterable[str] = ()) -> list[str]:
    """Return the distinct model names of ``entries`` (and ``also``), sorted."""
    return sorted({e.model for e in entries if e.model} | {m for m in also if m})
