"""``History``: this notebook's predictions, the API's list and kept records.

Three sources are merged by prediction id, newest first:

- predictions started in this process, handed to :func:`record` (Playground and
  :class:`~._compare.Sweep` call it);
- ``GET /v1/predictions`` of the backend, one page at a time, with date filters;
- records saved by the Keep-outputs store (:mod:`._keep`), so finished work survives
  Replicate's one-hour data removal and kernel restarts.

Threads: the table's widgets are written only on the background loop of
:mod:`._loop` (one writer, live while other cells block). Button clicks arrive on the
kernel's main thread and are handed over. Tweak writes the *form*, a different
widget, from the caller's thread, as a person typing would.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import dataclasses
import datetime as dt
import html
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import ipywidgets

from ._loop import io_loop, on_io_thread, submit
from ._media import media_kind, prepare_image
from ._schema_types import SECRET_MASK
from ._types import TERMINAL_STATUSES, Page, Prediction

if TYPE_CHECKING:
    from ._client import Client
    from ._keep import Keeper, KeptRecord
    from ._panel import PredictionPanel

__all__ = ["History", "HistoryEntry", "record", "recorded"]

Origin = Literal["notebook", "api", "kept"]
TweakCallback = Callable[[dict[str, Any]], object]

_UNSET: Any = object()
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")
_CANCEL_POLLS = 60  # half-seconds to wait for a canceled prediction to stop
_COLUMNS = (("Status", "140px"), ("Model", "230px"), ("Created", "150px"))
_REMOVED_TIP = (
    "Replicate deletes the inputs, outputs and logs of API predictions an hour "
    "after they finish."
)

# -- the process-wide registry --------------------------------------------------------

_lock = threading.Lock()
_recorded: dict[str, tuple[Prediction, Any]] = {}
_listeners: weakref.WeakSet[History] = weakref.WeakSet()


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
    for history in listeners:
        history._schedule(history._merge_recorded)


def recorded() -> list[Prediction]:
    """Return the predictions recorded in this process, newest first."""
    with _lock:
        return [p for p, _ in reversed(_recorded.values())]


def _recorded_pairs() -> list[tuple[Prediction, Any]]:
    with _lock:
        return list(_recorded.values())


# -- entries --------------------------------------------------------------------------


@dataclasses.dataclass
class HistoryEntry:
    """One row of the table: what is known about one prediction."""

    id: str
    """The prediction id."""
    model: str = ""
    """``owner/name`` (or the version id when the model is unknown)."""
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
    """Drop masked secrets from stored inputs; the mask is not the secret."""
    out: dict[str, Any] = {}
    for name, value in inputs.items():
        if value == SECRET_MASK:
            continue
        if isinstance(value, list) and SECRET_MASK in value:
            continue  # a list of secrets: none of them can be recovered
        out[name] = value
    return out


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


# -- the widget -----------------------------------------------------------------------


class History(ipywidgets.VBox):  # type: ignore[misc]
    """A table of predictions: status, model, time and thumbnail; open, tweak, cancel.

    Parameters
    ----------
    client
        The client whose ``GET /v1/predictions`` is listed; default: the
        Playground's, else chosen by ``backend`` / the environment.
    backend
        ``"local"``, ``"cloud"`` or a base URL, when neither ``client`` nor
        ``playground`` is given.
    playground
        Tweak loads a prediction's inputs into this Playground's form.
    keeper
        The Keep-outputs store to read saved records from; default: the one in
        ``replicate-outputs/`` (or ``$REPLICATE_WIDGETS_OUTPUTS``); ``None``: none.
    created_after, created_before
        Date filters (date, datetime or ISO 8601 text); also editable in the widget.
    include_api
        List the backend's predictions, not only this notebook's and kept ones.
    thumbnail_size
        Longest edge of thumbnails, in pixels.

    Examples
    --------
    >>> History(playground=pg)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        client: Client | None = None,
        backend: str | None = None,
        playground: Any = None,
        keeper: Keeper | None = _UNSET,
        created_after: Any = None,
        created_before: Any = None,
        include_api: bool = True,
        thumbnail_size: int = 64,
        **kwargs: Any,
    ) -> None:
        if thumbnail_size <= 0:
            raise ValueError(
                f"thumbnail_size must be a positive number of pixels, got "
                f"{thumbnail_size}"
            )
        after = parse_bound(created_after, "created_after")
        before = parse_bound(created_before, "created_before")
        if client is None and playground is not None:
            client = playground.client
        if client is None and include_api:
            from ._backend import resolve_client

            client = resolve_client(backend)
        self.client = client
        """The client listed and used for this notebook's predictions."""
        self.playground = playground
        """The Playground Tweak loads inputs into (or ``None``)."""
        self.keeper: Keeper | None = _default_keeper() if keeper is _UNSET else keeper
        """The Keep-outputs store read for saved records (or ``None``)."""
        self._include_api = include_api
        self._thumb_edge = thumbnail_size
        self._callbacks: list[TweakCallback] = []
        self._entries: dict[str, HistoryEntry] = {}
        self._thumbs: dict[str, tuple[bytes, str] | None] = {}
        self._page: Page[Prediction] | None = None
        self._bounds = (after, before)
        self._job: concurrent.futures.Future[None] | None = None
        self._panel: PredictionPanel | None = None
        self._thumb_task: asyncio.Future[None] | None = None
        self._unwatch: Callable[[], object] = lambda: None
        self._build_ui(after, before)
        super().__init__(
            children=[self._toolbar, self._message, self._table, self._detail],
            **kwargs,
        )
        self.add_class("rw-history")
        with _lock:
            _listeners.add(self)
        self._watch_playground(playground)
        self.refresh()

    # -- layout ------------------------------------------------------------------------

    def _build_ui(self, after: dt.datetime | None, before: dt.datetime | None) -> None:
        def box(value: dt.datetime | None, label: str) -> ipywidgets.Text:
            text = ipywidgets.Text(
                value=value.isoformat() if value else "",
                placeholder="YYYY-MM-DD",
                description=label,
                layout=ipywidgets.Layout(width="220px"),
            )
            text.continuous_update = False
            return text

        self._after = box(after, "After")
        self._before = box(before, "Before")
        self._after.add_class("rw-history-after")
        self._before.add_class("rw-history-before")
        self._refresh_btn = ipywidgets.Button(description="Refresh", icon="refresh")
        self._refresh_btn.add_class("rw-history-refresh")
        self._more_btn = ipywidgets.Button(description="Load more", disabled=True)
        self._more_btn.add_class("rw-history-more")
        self._refresh_btn.on_click(lambda _b: self._apply_filters())
        self._more_btn.on_click(lambda _b: self.load_more())
        self._toolbar = ipywidgets.HBox(
            [self._refresh_btn, self._after, self._before, self._more_btn]
        )
        self._message = ipywidgets.HTML()
        self._message.add_class("rw-history-message")
        self._head = self._header()
        self._empty = ipywidgets.HTML("<i>No predictions yet.</i>")
        self._rows: dict[str, tuple[tuple[Any, ...], ipywidgets.HBox]] = {}
        self._table = ipywidgets.VBox()
        self._table.add_class("rw-history-table")
        self._detail = ipywidgets.VBox()
        self._detail.add_class("rw-history-detail")

    # -- public API --------------------------------------------------------------------

    @property
    def entries(self) -> list[HistoryEntry]:
        """The rows shown, newest first (a snapshot)."""
        return self._sorted()

    def entry(self, prediction_id: str) -> HistoryEntry:
        """Return the row of ``prediction_id``.

        Raises
        ------
        KeyError
            When the table has no such prediction (refresh, or widen the dates).
        """
        try:
            return self._entries[prediction_id]
        except KeyError:
            raise KeyError(
                f"{prediction_id!r} is not in this History; refresh() or widen the "
                "date filters."
            ) from None

    def refresh(self) -> concurrent.futures.Future[None]:
        """Reload everything (first page of the API list, kept records, this notebook).

        Returns
        -------
        concurrent.futures.Future
            Done when the table is redrawn; thumbnails may still be arriving.
        """
        self._job = submit(self._reload())
        return self._job

    def load_more(self) -> concurrent.futures.Future[None]:
        """Fetch the next page of the backend's list and add it to the table."""
        self._job = submit(self._next_page())
        return self._job

    def wait(self, timeout: float | None = None) -> None:
        """Block until the last refresh or page load, and its thumbnails, finished."""
        if on_io_thread():
            raise RuntimeError("wait() would block the widgets' own loop; await.")
        if self._job is not None:
            self._job.result(timeout)

    def set_dates(self, created_after: Any = None, created_before: Any = None) -> None:
        """Set the date filters and refresh.

        Raises
        ------
        ValueError
            When a value is not a date (the message says what to type).
        """
        after = parse_bound(created_after, "created_after")
        before = parse_bound(created_before, "created_before")
        self._after.value = after.isoformat() if after else ""
        self._before.value = before.isoformat() if before else ""
        self._bounds = (after, before)
        self.refresh()

    def on_tweak(self, callback: TweakCallback, remove: bool = False) -> None:
        """Call ``callback(inputs)`` when a row's Tweak is pressed.

        ``inputs`` are the prediction's stored inputs without masked secrets.
        """
        if remove:
            self._callbacks = [c for c in self._callbacks if c != callback]
        else:
            self._callbacks.append(callback)

    def tweak(self, prediction_id: str) -> dict[str, Any]:
        """Load the prediction's inputs into the Playground's form and callbacks.

        Secrets are stored masked, so they are never loaded back: the form keeps
        whatever secret it holds. Inputs the form does not have are skipped and named
        in the widget's message; inputs the prediction did not set go back to their
        defaults.

        Returns
        -------
        dict
            The inputs loaded.

        Raises
        ------
        ValueError
            When the backend no longer has the inputs and no record was kept.
        """
        entry = self.entry(prediction_id)
        stored = entry.input or (dict(entry.kept.input) if entry.kept else {})
        if not stored and entry.data_removed:
            raise ValueError(
                f"The inputs of {prediction_id} were removed by the backend and no "
                "record was kept, so there is nothing to load. Keep outputs "
                "(replicate-outputs/) to tweak old predictions."
            )
        inputs = clean_inputs(stored)
        notes: list[str] = []
        if self.playground is not None and self.playground.form is not None:
            notes = _load_into_form(self.playground.form, inputs)
        for callback in list(self._callbacks):
            try:
                callback(dict(inputs))
            except Exception as exc:  # a callback's bug must not break the widget
                notes.append(f"the tweak callback failed: {type(exc).__name__}: {exc}")
        self._say(
            f"Loaded the inputs of {prediction_id}."
            + (" " + "; ".join(notes) + "." if notes else ""),
        )
        return inputs

    def cancel(self, prediction_id: str) -> concurrent.futures.Future[None]:
        """Ask the backend to cancel a running prediction; the row then updates."""
        return submit(self._cancel(prediction_id))

    def show(self, prediction_id: str) -> PredictionPanel:
        """Show the prediction in a PredictionPanel under the table and return it.

        A kept record whose data the backend removed is shown from the saved files.
        """
        from ._panel import PredictionPanel

        entry = self.entry(prediction_id)
        client = entry.client or self.client
        panel = PredictionPanel(client=client)
        target: str | Prediction = prediction_id
        if entry.kept is not None and (entry.data_removed or client is None):
            target = self._kept_prediction(entry.kept)
        panel.follow(target)
        old = self._panel
        self._panel = panel
        self._schedule(lambda: self._show_panel(panel, old))
        return panel

    def close(self) -> None:
        """Stop updating and close the widget and its rows."""
        if not hasattr(self, "_table"):  # __del__ of an instance __init__ refused
            super().close()
            return
        with _lock:
            _listeners.discard(self)
        self._unwatch()
        if self._job is not None:
            self._job.cancel()
        if self._panel is not None:
            self._panel.close()
        for _, row in self._rows.values():
            _close_tree(row)
        self._head.close()
        self._empty.close()
        super().close()

    def _watch_playground(self, playground: Any) -> None:
        """Record the attached Playground's runs, even without its own hook.

        Its panel's traits change on the io loop, so the record happens there too.
        """
        panel = getattr(playground, "panel", None)
        if panel is None or not hasattr(panel, "observe"):
            return

        def seen(_change: Any) -> None:
            prediction = panel.prediction
            if prediction is not None and prediction.id:
                record(prediction, playground.client)

        panel.observe(seen, names=["status"])
        self._unwatch = lambda: panel.unobserve(seen, names=["status"])

    # -- background work (io loop) -----------------------------------------------------

    async def _reload(self) -> None:
        after, before = self._bounds
        self._entries = {}
        self._page = None
        problems: list[str] = []
        if self._include_api and self.client is not None:
            try:
                page = await asyncio.to_thread(
                    self.client.predictions.list,
                    after.isoformat() if after else None,
                    before.isoformat() if before else None,
                )
                self._take_page(page)
            except Exception as exc:
                problems.append(f"Could not list the backend's predictions: {exc}")
        if self.keeper is not None:
            try:
                kept = await asyncio.to_thread(self.keeper.list)
                for rec in kept:
                    self._take_kept(rec)
            except Exception as exc:
                problems.append(f"Could not read kept records: {exc}")
        self._merge_recorded(render=False)
        self._render()
        self._say(" ".join(problems), error=bool(problems))
        await self._load_thumbs()

    async def _next_page(self) -> None:
        if self._page is None or not self._page.has_next():
            self._say("No more predictions to load.")
            return
        try:
            page = await asyncio.to_thread(self._page.next_page)
        except Exception as exc:
            self._say(f"Could not load the next page: {exc}", error=True)
            return
        if page is not None:
            self._take_page(page)
        self._render()
        await self._load_thumbs()

    async def _cancel(self, prediction_id: str) -> None:
        entry = self.entry(prediction_id)
        client = entry.client or self.client
        try:
            if client is None:
                raise RuntimeError("no client knows this prediction")
            latest = await asyncio.to_thread(client.predictions.cancel, prediction_id)
            self._update(latest, "api", client)
            self._render()
            self._say(f"Cancel sent for {prediction_id}.")
            # A model may take a moment to stop; follow it so the row ends right.
            for _ in range(_CANCEL_POLLS):
                if latest.is_terminal:
                    break
                await asyncio.sleep(0.5)
                latest = await asyncio.to_thread(client.predictions.get, prediction_id)
            self._update(latest, "api", client)
            self._render()
        except Exception as exc:
            self._say(f"Could not cancel {prediction_id}: {exc}", error=True)
            raise

    async def _load_thumbs(self) -> None:
        for entry in self._sorted():
            if entry.id in self._thumbs:
                continue
            self._thumbs[entry.id] = None  # claimed: no second fetch meanwhile
            try:
                data = await asyncio.to_thread(self._thumbnail, entry)
            except Exception:  # a thumbnail that cannot be made is shown as none
                data = None
            self._thumbs[entry.id] = data
            if data is not None:
                self._render()

    def _thumbnail(self, entry: HistoryEntry) -> tuple[bytes, str] | None:
        if entry.status != "succeeded":
            return None
        data: bytes | None = None
        if entry.kept is not None:
            data = self._kept_image(entry.kept)
        if data is None and not entry.data_removed and entry.prediction is not None:
            url = first_image_url(entry.prediction.output)
            client = entry.client or self.client
            if url and client is not None:
                data = client.read(url).data
        if data is None:
            return None
        small = prepare_image(data, self._thumb_edge)
        return small.data, small.mime

    # -- merging -----------------------------------------------------------------------

    def _take_page(self, page: Page[Prediction]) -> None:
        self._page = page
        self._more_btn.disabled = not page.has_next()
        for prediction in page.results:
            self._update(prediction, "api", self.client)

    def _update(self, p: Prediction, origin: Origin, client: Any) -> None:
        entry = self._entries.setdefault(p.id, HistoryEntry(p.id))
        entry.model = p.model or p.version or entry.model
        entry.status = p.status
        entry.created_at = p.created_at or entry.created_at
        if p.input:
            entry.input = dict(p.input)
        entry.data_removed = bool(p.data_removed)
        entry.prediction = p
        entry.client = entry.client or client
        entry.origins.add(origin)
        if self._thumbs.get(entry.id) is None:
            self._thumbs.pop(entry.id, None)  # it may have an image now

    def _take_kept(self, rec: KeptRecord) -> None:
        if not self._in_range(rec.created_at):
            return
        entry = self._entries.setdefault(rec.id, HistoryEntry(rec.id))
        entry.kept = rec
        entry.origins.add("kept")
        if "api" not in entry.origins:
            entry.model = rec.model or rec.version or ""
            entry.status = rec.status
            entry.created_at = rec.created_at
        if not entry.input:
            entry.input = dict(rec.input)

    def _merge_recorded(self, render: bool = True) -> None:
        mine = getattr(self.client, "base_url", None)
        for prediction, client in _recorded_pairs():
            if not self._in_range(prediction.created_at):
                continue
            if mine and client is not None and client.base_url != mine:
                continue  # another backend's prediction: its ids mean nothing here
            known = self._entries.get(prediction.id)
            if (
                known is not None
                and known.prediction is not None
                and known.prediction.is_terminal
            ):
                # The backend's final word wins (it may say the data is gone).
                known.origins.add("notebook")
                known.client = known.client or client
                known.input = known.input or dict(prediction.input)
                continue
            self._update(prediction, "notebook", client)
        if render:
            self._render()
            # thumbnails of newly finished predictions
            self._thumb_task = asyncio.ensure_future(self._load_thumbs())

    def _in_range(self, created_at: Any) -> bool:
        after, before = self._bounds
        when = _parse_time(created_at)
        if when is None:
            return after is None and before is None
        # Both bounds exclude the instant itself, as the API's filters do.
        return (after is None or when > after) and (before is None or when < before)

    def _sorted(self) -> list[HistoryEntry]:
        epoch = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        return sorted(
            self._entries.values(), key=lambda e: e.when or epoch, reverse=True
        )

    # -- kept records ------------------------------------------------------------------

    @staticmethod
    def _kept_image(rec: KeptRecord) -> bytes | None:
        for item in rec.files:
            if item.role == "output" and media_kind(item.mime) == "image":
                return item.read()
        return None

    @staticmethod
    def _kept_prediction(rec: KeptRecord) -> Prediction:
        """Rebuild a kept prediction with its files inlined as ``data:`` URIs.

        Its URLs may have expired with the data; the panel reads ``data:`` URIs
        without the network.
        """
        files = rec.read_files()

        def inline(value: Any) -> Any:
            if isinstance(value, str) and value in files:
                data, mime = files[value]
                return f"data:{mime};base64,{base64.b64encode(data).decode()}"
            if isinstance(value, list):
                return [inline(v) for v in value]
            if isinstance(value, dict):
                return {k: inline(v) for k, v in value.items()}
            return value

        prediction = rec.prediction()
        prediction.output = inline(prediction.output)
        return prediction

    # -- drawing (io loop) -------------------------------------------------------------

    def _render(self) -> None:
        # Rows whose content did not change are reused: a thumbnail arriving must
        # not rebuild (and resend) every other row's widgets.
        rows: dict[str, tuple[tuple[Any, ...], ipywidgets.HBox]] = {}
        for entry in self._sorted():
            key = _signature(entry, self._thumbs.get(entry.id))
            cached = self._rows.get(entry.id)
            rows[entry.id] = (
                cached if cached and cached[0] == key else (key, self._row(entry))
            )
        body: list[ipywidgets.Widget] = [row for _, row in rows.values()]
        if not body:
            body = [self._empty]
        self._table.children = [self._head, *body]
        kept = {id(row) for row in body}
        for _, row in self._rows.values():
            if id(row) not in kept:
                _close_tree(row)
        self._rows = rows

    def _header(self) -> ipywidgets.HTML:
        cells = "".join(f'<b style="flex:0 0 {w}">{t}</b>' for t, w in _COLUMNS)
        return ipywidgets.HTML(
            f'<div style="display:flex;gap:8px;padding-left:74px">{cells}</div>'
        )

    def _row(self, entry: HistoryEntry) -> ipywidgets.HBox:
        thumb = self._thumbs.get(entry.id)
        children: list[ipywidgets.Widget] = []
        if thumb:
            # ipywidgets.Image sends its bytes as a binary buffer, not base64.
            image = ipywidgets.Image(
                value=thumb[0],
                format=thumb[1].split("/")[-1],
                layout=ipywidgets.Layout(max_width="64px", max_height="64px"),
            )
            image.add_class("rw-history-thumb")
            children.append(image)
        cell = ipywidgets.Box(
            children,
            layout=ipywidgets.Layout(
                flex="0 0 72px", height="66px", justify_content="center"
            ),
        )
        info = ipywidgets.HTML(_row_html(entry))
        open_btn = _button("Open", "rw-history-open", lambda: self._safe_open(entry.id))
        tweak_btn = _button(
            "Tweak", "rw-history-tweak", lambda: self._safe_tweak(entry.id)
        )
        tweak_btn.disabled = not (entry.input or entry.kept is not None)
        cancel_btn = _button(
            "Cancel", "rw-history-cancel", lambda: self.cancel(entry.id)
        )
        cancel_btn.disabled = not entry.running
        row = ipywidgets.HBox(
            [cell, info, open_btn, tweak_btn, cancel_btn],
            layout=ipywidgets.Layout(align_items="center"),
        )
        row.add_class("rw-history-row")
        row.add_class(f"rw-status-{entry.status or 'unknown'}")
        return row

    def _show_panel(self, panel: PredictionPanel, old: PredictionPanel | None) -> None:
        self._detail.children = [panel]
        if old is not None and old is not panel:
            old.close()

    def _safe_open(self, prediction_id: str) -> None:
        try:
            self.show(prediction_id)
        except Exception as exc:
            self._say(f"Could not open {prediction_id}: {exc}", error=True)

    def _safe_tweak(self, prediction_id: str) -> None:
        try:
            self.tweak(prediction_id)
        except Exception as exc:
            self._say(f"Could not load the inputs: {exc}", error=True)

    def _say(self, text: str, error: bool = False) -> None:
        style = "color:var(--jp-error-color1,#c62828)" if error else ""
        value = f'<span style="{style}">{html.escape(text)}</span>' if text else ""
        self._schedule(lambda: setattr(self._message, "value", value))

    def _schedule(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the io loop (now, if already there): the one writer."""
        if on_io_thread():
            fn()
        else:
            io_loop().call_soon_threadsafe(fn)

    def _apply_filters(self) -> None:
        try:
            self._bounds = (
                parse_bound(self._after.value, "After"),
                parse_bound(self._before.value, "Before"),
            )
        except ValueError as exc:
            self._say(str(exc), error=True)
            return
        self.refresh()


def _row_html(entry: HistoryEntry) -> str:
    status = html.escape(entry.status or "?")
    badges = [f'<span class="rw-history-status">{status}</span>']
    if entry.data_removed:
        kept = " · kept locally" if entry.kept is not None else ""
        badges.append(
            f'<span class="rw-history-removed" title="{html.escape(_REMOVED_TIP)}" '
            'style="color:var(--jp-warn-color0,#b26a00)">'
            f"data removed{kept}</span>"
        )
    elif "kept" in entry.origins:
        badges.append('<span class="rw-history-kept">kept</span>')
    when = entry.when
    shown = when.astimezone().strftime("%Y-%m-%d %H:%M:%S") if when else ""
    (_, w_status), (_, w_model), (_, w_time) = _COLUMNS
    return (
        '<div style="display:flex;gap:8px;align-items:center;line-height:1.3">'
        f'<span style="flex:0 0 {w_status}">{"<br>".join(badges)}</span>'
        f'<span style="flex:0 0 {w_model};overflow:hidden">'
        f'<span class="rw-history-model">{html.escape(entry.model)}</span><br>'
        f'<code class="rw-history-id" style="font-size:10px;opacity:.75">'
        f"{html.escape(entry.id)}</code></span>"
        f'<span style="flex:0 0 {w_time}">{shown}</span></div>'
    )


def _button(label: str, css: str, action: Callable[[], object]) -> ipywidgets.Button:
    button = ipywidgets.Button(
        description=label, layout=ipywidgets.Layout(width="auto", min_width="64px")
    )
    button.add_class(css)
    button.on_click(lambda _b: action())
    return button


def _signature(entry: HistoryEntry, thumb: Any) -> tuple[Any, ...]:
    """Everything a row shows; a row is rebuilt only when this changes."""
    return (
        entry.status,
        entry.model,
        entry.created_at,
        entry.data_removed,
        entry.kept is not None,
        bool(entry.input),
        tuple(sorted(entry.origins)),
        id(thumb[0]) if thumb else None,
    )


def _close_tree(widget: Any) -> None:
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()


def _load_into_form(form: Any, inputs: Mapping[str, Any]) -> list[str]:
    """Set the form to ``inputs``; fields not in them go back to their defaults."""
    schema = form.schema
    known = {f.name: f for f in schema.inputs}
    skipped = sorted(k for k in inputs if k not in known)
    defaults = schema.defaults()
    values: dict[str, Any] = {}
    for name, field in known.items():
        if field.kind == "secret" or (
            field.items is not None and field.items.kind == "secret"
        ):
            if name in inputs:
                values[name] = inputs[name]  # only when stored unmasked
            continue
        values[name] = inputs.get(name, defaults.get(name))
    form.set(**values)
    if skipped:
        return [f"this form has no input {', '.join(map(repr, skipped))}, skipped"]
    return []


def _default_keeper() -> Keeper | None:
    from ._keep import Keeper

    try:
        return Keeper()
    except (TypeError, ValueError, OSError):  # an unusable $REPLICATE_WIDGETS_OUTPUTS
        return None
