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
import concurrent.futures
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets

from ._history_model import (
    HistoryEntry,
    clean_inputs,
    default_keeper,
    first_image_url,
    kept_prediction,
    listen,
    load_into_form,
    parse_bound,
    record,
    recorded,
    unlisten,
)
from ._history_rows import RowActions, RowTable
from ._history_sync import HistorySync
from ._html import tag
from ._loop import io_loop, on_io_thread, submit
from ._types import Page, Prediction

if TYPE_CHECKING:
    from ._client import Client
    from ._keep import Keeper
    from ._panel import PredictionPanel

# Re-exported: callers import these from here.
__all__ = [
    "History",
    "HistoryEntry",
    "clean_inputs",
    "first_image_url",
    "parse_bound",
    "record",
    "recorded",
]

TweakCallback = Callable[[dict[str, Any]], object]

_UNSET: Any = object()


class History(HistorySync, ipywidgets.VBox):  # type: ignore[misc]
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
        self.keeper: Keeper | None = default_keeper() if keeper is _UNSET else keeper
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
        listen(self)
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
        self._rows = RowTable(
            RowActions(open=self._safe_open, tweak=self._safe_tweak, cancel=self.cancel)
        )
        self._table = self._rows.box
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
            notes = load_into_form(self.playground.form, inputs)
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
            target = kept_prediction(entry.kept)
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
        unlisten(self)
        self._unwatch()
        if self._job is not None:
            self._job.cancel()
        if self._panel is not None:
            self._panel.close()
        self._rows.close()
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

    # -- drawing (io loop) -------------------------------------------------------------

    def _render(self) -> None:
        self._rows.render(self._sorted(), self._thumbs)

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
        value = tag("span", text, style=style or None) if text else ""
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
