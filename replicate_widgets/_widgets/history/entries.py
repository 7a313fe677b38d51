"""History's rows: the registry of runs recorded in this process, and table entries.

Nothing here draws a widget or touches the network, so :mod:`.history` (the widget)
and its tests can lean on these without a kernel or a backend.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from replicate_widgets._client.files import data_url
from replicate_widgets._client.types import TERMINAL_STATUSES, Prediction
from replicate_widgets._schema.secrets import has_mask
from replicate_widgets._widgets.html import Markup, join, tag
from replicate_widgets._widgets.media import media_kind

if TYPE_CHECKING:
    from replicate_widgets._client.client import Client
    from replicate_widgets._widgets.keep import Keeper, KeptRecord

__all__ = [
    "HistoryEntry",
    "clean_inputs",
    "first_image_url",
    "parse_bound",
    "record",
    "recorded",
]

Origin = Literal["notebook", "api", "kept"]

_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
_REMOVED_TIP = (
    "Replicate deletes the inputs, outputs and logs of API predictions an hour "
    "after they finish."
)


class RecordListener(Protocol):
    """Told (on any thread) that :func:`record` saw a new or newer prediction."""

    def recorded_changed(self) -> None:
        """Merge :func:`recorded_pairs` into what is shown, on the listener's thread."""


_lock = threading.Lock()
_recorded: dict[str, tuple[Prediction, Any]] = {}
_listeners: weakref.WeakSet[RecordListener] = weakref.WeakSet()


def record(prediction: Prediction, client: Client | None = None) -> None:
    """Remember a prediction started in this process, so every History shows it.

    Call it again with a newer state of the same prediction to update the row.

    Parameters
    ----------
    prediction
        The prediction, as returned by ``client.predictions.create`` (or later).
    client
        The client it was created with; History uses it to open, cancel and read the
        prediction's files.
    """
    if not isinstance(prediction, Prediction) or not prediction.id:
        raise TypeError(
            "record() takes a Prediction from client.predictions.create(...), not "
            f"{type(prediction).__name__}."
        )
    with _lock:
        old = _recorded.pop(prediction.id, None)
        _recorded[prediction.id] = (prediction, client or (old[1] if old else None))
        listeners = list(_listeners)
    for listener in listeners:
        listener.recorded_changed()


def recorded() -> list[Prediction]:
    """Return the predictions recorded in this process, newest first."""
    with _lock:
        return [p for p, _ in reversed(_recorded.values())]


def recorded_pairs() -> list[tuple[Prediction, Any]]:
    """Return ``(prediction, client)`` pairs recorded in this process, oldest first."""
    with _lock:
        return list(_recorded.values())


def listen(listener: RecordListener) -> None:
    """Tell ``listener`` about every later :func:`record` (held weakly)."""
    with _lock:
        _listeners.add(listener)


def unlisten(listener: RecordListener) -> None:
    """Stop telling ``listener`` about records."""
    with _lock:
        _listeners.discard(listener)


# -- entries --------------------------------------------------------------------------


@dataclasses.dataclass
class HistoryEntry:
    """One row of the table: what is known about one prediction."""

    id: str
    """The prediction id."""
    model: str = ""
    """``owner/name`` (or the version id when the model is unknown)."""
    version: str = ""
    """The version id, when the backend said."""
    status: str = ""
    """The last status seen."""
    created_at: str | None = None
    """When it was created (ISO 8601)."""
    input: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Its inputs as stored by the backend (secrets masked)."""
    data_removed: bool = False
    """True when the backend no longer has its inputs, outputs and logs."""
    origins: set[Origin] = dataclasses.field(default_factory=set)
    """Where it was seen: ``notebook``, ``api`` and/or ``kept``."""
    prediction: Prediction | None = dataclasses.field(default=None, repr=False)
    """The latest state from the backend, if the backend was asked."""
    client: Any = dataclasses.field(default=None, repr=False)
    """The client to reach it with."""
    kept: KeptRecord | None = dataclasses.field(default=None, repr=False)
    """The Keep-outputs record, if one was saved."""

    @property
    def running(self) -> bool:
        """True while the prediction can still be canceled."""
        return bool(self.status) and self.status not in TERMINAL_STATUSES

    @property
    def when(self) -> dt.datetime | None:
        """``created_at`` as an aware datetime (``None`` when missing or unreadable)."""
        return _parse_time(self.created_at)


def _parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python 3.10 reads at most six digits of a fraction
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def parse_bound(value: Any, name: str) -> dt.datetime | None:
    """Read a date filter: ``None``, a date, a datetime or an ISO 8601 string.

    Raises
    ------
    ValueError
        Saying what to type instead, for anything else.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    parsed = _parse_time(value)
    if parsed is None:
        raise ValueError(
            f"{name}={value!r} is not a date: use a date or datetime, or text such "
            "as '2026-11-22' or '2026-11-22T08:00:00Z'."
        )
    return parsed


def clean_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Drop inputs holding a masked secret anywhere; the mask is not the secret.

    A list of secrets or an object with a secret inside cannot be recovered, and
    loading it back would send the mask as the secret.
    """
    return {name: value for name, value in inputs.items() if not has_mask(value)}


def first_image_url(output: Any) -> str | None:
    """Return the first output value that looks like an image URL, if any."""
    if isinstance(output, str):
        lowered = output.lower().split("?", 1)[0]
        if output.startswith("data:image/") or (
            output.startswith(("http://", "https://")) and lowered.endswith(_IMAGE_EXT)
        ):
            return output
        return None
    values: Iterable[Any] = ()
    if isinstance(output, list):
        values = reversed(output)  # an iterator's last image is its final one
    elif isinstance(output, dict):
        values = output.values()
    for value in values:
        found = first_image_url(value)
        if found:
            return found
    return None


# -- merging what each source says ----------------------------------------------------


def in_range(
    bounds: tuple[dt.datetime | None, dt.datetime | None], created_at: Any
) -> bool:
    """Tell whether ``created_at`` lies strictly between the date filters ``bounds``."""
    after, before = bounds
    when = _parse_time(created_at)
    if when is None:
        return after is None and before is None
    # Both bounds exclude the instant itself, as the API's filters do.
    return (after is None or when > after) and (before is None or when < before)


def update_entry(
    entries: dict[str, HistoryEntry], p: Prediction, origin: Origin, client: Any
) -> HistoryEntry:
    """Fold the backend's (or this notebook's) state of ``p`` into its entry."""
    entry = entries.setdefault(p.id, HistoryEntry(p.id))
    entry.model = p.model or p.version or entry.model
    entry.version = p.version or entry.version
    entry.status = p.status
    entry.created_at = p.created_at or entry.created_at
    if p.input:
        entry.input = dict(p.input)
    entry.data_removed = bool(p.data_removed)
    entry.prediction = p
    entry.client = entry.client or client
    entry.origins.add(origin)
    return entry


def take_kept(entries: dict[str, HistoryEntry], rec: KeptRecord) -> None:
    """Fold a Keep-outputs record into its entry; the API's word wins where it spoke."""
    entry = entries.setdefault(rec.id, HistoryEntry(rec.id))
    entry.kept = rec
    entry.origins.add("kept")
    entry.version = entry.version or rec.version or ""
    if "api" not in entry.origins:
        entry.model = rec.model or rec.version or ""
        entry.status = rec.status
        entry.created_at = rec.created_at
    if not entry.input:
        entry.input = dict(rec.input)


_EPOCH = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def row_key(entry: HistoryEntry) -> tuple[dt.datetime, str]:
    """Sort key of a row: creation time, then id, as the API orders its list."""
    return (entry.when or _EPOCH, entry.id)


def newest_first(entries: Iterable[HistoryEntry]) -> list[HistoryEntry]:
    """Sort entries by creation time, newest first; undated ones last."""
    return sorted(entries, key=row_key, reverse=True)


# -- kept records ---------------------------------------------------------------------


def kept_image(rec: KeptRecord) -> bytes | None:
    """Return the bytes of the record's first output image, if it kept one."""
    for item in rec.files:
        if item.role == "output" and media_kind(item.mime) == "image":
            return item.read()
    return None


def kept_prediction(rec: KeptRecord) -> Prediction:
    """Rebuild a kept prediction with its files inlined as ``data:`` URIs.

    Its URLs may have expired with the data; the panel reads ``data:`` URIs
    without the network.
    """
    files = rec.read_files()

    def inline(value: Any) -> Any:
        if isinstance(value, str) and value in files:
            return data_url(*files[value])
        if isinstance(value, list):
            return [inline(v) for v in value]
        if isinstance(value, dict):
            return {k: inline(v) for k, v in value.items()}
        return value

    prediction = rec.prediction()
    prediction.output = inline(prediction.output)
    return prediction


def default_keeper() -> Keeper | None:
    """Open the Keep-outputs store in the default place; ``None`` when unusable."""
    from replicate_widgets._widgets.keep import Keeper

    try:
        return Keeper()
    except (TypeError, ValueError, OSError):  # an unusable $REPLICATE_WIDGETS_OUTPUTS
        return None


# -- rows -----------------------------------------------------------------------------


def row_html(entry: HistoryEntry) -> Markup:
    """Render the status, model, id and time cells of a row as HTML.

    The cells are laid out by the view's stylesheet (``rw-history-cell-*``), which
    lets them wrap in a narrow output area.
    """
    badges = [tag("span", entry.status or "?", class_="rw-history-status")]
    if entry.data_removed:
        kept = " · kept locally" if entry.kept is not None else ""
        badges.append(
            tag(
                "span",
                f"data removed{kept}",
                class_="rw-history-removed",
                title=_REMOVED_TIP,
            )
        )
    elif "kept" in entry.origins:
        badges.append(tag("span", "kept", class_="rw-history-kept"))
    when = entry.when
    shown = when.astimezone().strftime("%Y-%m-%d %H:%M:%S") if when else ""
    return tag(
        "div",
        tag("span", join(badges, tag("br")), class_="rw-history-cell-status"),
        tag(
            "span",
            tag("span", entry.model, class_="rw-history-model"),
            tag("br"),
            tag("code", entry.id, class_="rw-history-id"),
            class_="rw-history-cell-model",
        ),
        tag("span", shown, class_="rw-history-cell-created"),
        class_="rw-history-cells",
    )
