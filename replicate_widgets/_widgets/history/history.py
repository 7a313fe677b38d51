"""``History``: this notebook's predictions, the API's list and kept records.

Three sources are merged by prediction id, newest first:

- predictions started in this process, handed to :func:`record` (Playground and
  :class:`~replicate_widgets._widgets.compare.compare.Sweep` call it);
- ``GET /v1/predictions`` of the backend, one page at a time as the table pages
  back, with date filters;
- records saved by the Keep-outputs store (:mod:`replicate_widgets._widgets.keep`),
  so finished work survives Replicate's one-hour data removal and kernel restarts.

The table shows one page of rows (Newer, Older), filtered by model, status and words
in the inputs (:mod:`.pages`). Open shows a run under its row: inputs with
secrets masked, and a live panel with output, logs and metrics. Tweak loads a run's
inputs into a Playground of the run's model: the attached one if it runs that model,
else one History opens below the table, so no form is overwritten with another
model's inputs.

History is one :class:`~replicate_widgets._widgets.composite.Composite` anywidget
(``js/src/history.ts``): the rows are plain synced JSON (:mod:`.rows`), the opened run's
panel and the Playgrounds Tweak opened are its parts, and the view's buttons send
actions.

Threads: the table's traits are written only on the background loop of
:mod:`replicate_widgets._widgets.loop` (one writer, live while other cells block).
Everything that fills the table runs there too: listing the backend's predictions page
by page (only as far as the page shown needs), reading kept records, merging predictions
recorded in this process, fetching the thumbnails of the rows shown, reading a model's
schema for an opened run and following a cancel to its end. Actions and the filter boxes
the view sets arrive on the kernel's main thread and are handed over. Tweak writes the
*form*, a different widget, from the caller's thread, as a person typing would.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import traitlets

from replicate_widgets._client.types import Page, Prediction
from replicate_widgets._widgets.composite import Composite, MarkupTrait, widget_refs
from replicate_widgets._widgets.host_context import as_cell, current_cell
from replicate_widgets._widgets.html import tag
from replicate_widgets._widgets.loop import io_loop, on_io_thread, submit
from replicate_widgets._widgets.media import prepare_image
from replicate_widgets._widgets.model_lookup import find_model
from replicate_widgets._widgets.stopping import watch_cell
from replicate_widgets._widgets.view import STATIC

from .entries import (
    HistoryEntry,
    Origin,
    clean_inputs,
    default_keeper,
    first_image_url,
    in_range,
    kept_image,
    kept_prediction,
    listen,
    parse_bound,
    record,
    recorded_pairs,
    row_key,
    take_kept,
    unlisten,
    update_entry,
)
from .pages import (
    EMPTY_VIEW,
    STATUSES,
    Filters,
    RowKey,
    View,
    models_of,
    newer_anchor,
    older_anchor,
    page_view,
    summary,
)
from .rows import detail_heading, inputs_html, row_data, thumbs_data
from .tweak import Workbench, load_into_form, runs_model

if TYPE_CHECKING:
    from replicate_widgets._client.client import Client
    from replicate_widgets._schema.model_schema import ModelSchema
    from replicate_widgets._widgets.keep import Keeper, KeptRecord
    from replicate_widgets._widgets.panel.panel import PredictionPanel

__all__ = ["SEARCH_PAGES", "History", "fetch_schema"]

TweakCallback = Callable[[dict[str, Any]], object]

_UNSET: Any = object()
_BOX_LIMIT = 500  # characters kept of what the view types into a filter box
_CANCEL_POLLS = 60  # half-seconds to wait for a canceled prediction to stop
SEARCH_PAGES = 5
"""API pages read at most per click while a filter looks for a page of matches
(Replicate's are 100 runs each): a search over years of runs goes on when asked."""
_THUMB_BATCH = 0.3  # seconds between redraws while thumbnails arrive
_VERSION_ID = re.compile(r"[0-9a-f]{64}")


def fetch_schema(client: Client, model: str, version: str) -> ModelSchema | None:
    """Read the input schema of ``model`` at ``version`` (else its latest version).

    Raises
    ------
    ReplicateError
        When the backend cannot say.
    """
    from replicate_widgets._schema.model_schema import parse

    ref = f"{model}:{version}" if _VERSION_ID.fullmatch(version) else model
    # A deleted version's run still shows: the latest version's schema will do.
    doc = find_model(client, ref, any_version=True).doc
    return parse(doc) if doc else None


class _BoxText(traitlets.Unicode[str, str]):
    """A filter box's text, which the view sets: a string, cut to a sane length."""

    def validate(self, obj: Any, value: Any) -> str:
        return str(super().validate(obj, value))[:_BOX_LIMIT]


class History(Composite):
    """A table of predictions, a page at a time: open, tweak, cancel; filter, page.

    Parameters
    ----------
    client
        The client whose ``GET /v1/predictions`` is listed; default: the
        Playground's, else chosen by ``backend`` / the environment.
    backend
        ``"local"``, ``"cloud"`` or a base URL, when neither ``client`` nor
        ``playground`` is given.
    playground
        Tweak loads the inputs of this Playground's model's runs into its form.
        Runs of other models open a Playground of their own below the table.
    keeper
        The Keep-outputs store to read saved records from (and Playgrounds opened
        by Tweak save to); default: the one in ``replicate-outputs/`` (or
        ``$REPLICATE_WIDGETS_OUTPUTS``); ``None``: none.
    created_after, created_before
        Date filters (date, datetime or ISO 8601 text); also editable in the widget.
    include_api
        List the backend's predictions, not only this notebook's and kept ones.
    thumbnail_size
        Longest edge of thumbnails, in pixels.
    page_size
        Rows per page.

    Examples
    --------
    >>> History(playground=pg)  # doctest: +SKIP
    """

    _esm = STATIC / "history.js"

    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    """The rows of the page shown (:func:`~.rows.row_data`), newest first."""
    thumbs = traitlets.Dict().tag(sync=True)
    """The thumbnails of those rows by prediction id: ``{"data": bytes, "mime"}``."""
    summary = MarkupTrait("").tag(sync=True)
    """Markup of the sentence above the table: which rows, what was searched."""
    message = MarkupTrait("").tag(sync=True)
    """Markup of the last message (what Tweak loaded, what went wrong)."""
    can_newer = traitlets.Bool(False).tag(sync=True)
    """Whether Newer can show anything."""
    can_older = traitlets.Bool(False).tag(sync=True)
    """Whether Older can show (or search for) anything."""
    opened = traitlets.Unicode("").tag(sync=True)
    """The id of the run opened under its row (``""``: none)."""
    detail_head = MarkupTrait("").tag(sync=True)
    """Markup of the opened run's heading (version, time, data removed)."""
    detail_inputs = MarkupTrait("").tag(sync=True)
    """Markup of the opened run's inputs, secrets masked."""
    models = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """The models seen, offered by the model filter box."""
    statuses = traitlets.List(traitlets.Unicode(), list(STATUSES)).tag(sync=True)
    """The statuses the status filter offers."""
    tweaked = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """Why each Playground Tweak opened is there (the order of ``parts``)."""
    model_filter = _BoxText("").tag(sync=True)
    """The model filter box (the view sets it on Enter)."""
    status_filter = _BoxText("").tag(sync=True)
    """The status filter menu."""
    text_filter = _BoxText("").tag(sync=True)
    """The input-text search box (the view sets it on Enter)."""
    date_after = _BoxText("").tag(sync=True)
    """The After date box, as typed (``YYYY-MM-DD`` or ISO 8601)."""
    date_before = _BoxText("").tag(sync=True)
    """The Before date box, as typed."""

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
        page_size: int = 20,
        **kwargs: Any,
    ) -> None:
        if thumbnail_size <= 0:
            raise ValueError(
                f"thumbnail_size must be a positive number of pixels, got "
                f"{thumbnail_size}"
            )
        if isinstance(page_size, bool) or not isinstance(page_size, int):
            raise TypeError("page_size must be a whole number of rows, e.g. 20")
        if page_size <= 0:
            raise ValueError(f"page_size must be at least 1 row, got {page_size}")
        after = parse_bound(created_after, "created_after")
        before = parse_bound(created_before, "created_before")
        if client is None and playground is not None:
            client = playground.client
        if client is None and include_api:
            from replicate_widgets._widgets.backend import resolve_client

            client = resolve_client(backend)
        self.client: Client | None = client
        """The client listed and used for this notebook's predictions."""
        self.playground = playground
        """The Playground Tweak loads its model's runs into (or ``None``)."""
        self.keeper: Keeper | None = default_keeper() if keeper is _UNSET else keeper
        """The Keep-outputs store read for saved records (or ``None``)."""
        self._include_api = include_api
        self._thumb_edge = thumbnail_size
        self._page_size = page_size
        self._callbacks: list[TweakCallback] = []
        self._entries: dict[str, HistoryEntry] = {}
        self._thumbs: dict[str, tuple[bytes, str] | None] = {}
        self._page: Page[Prediction] | None = None  # the API page read last
        # The key of the oldest run the API has sent: older rows wait until it is
        # read past them (see _history_pages).
        self._frontier: RowKey | None = None
        self._complete = True  # the API has nothing older left to send
        self._anchor: RowKey | None = None  # the page shows rows older than this
        self._filters = Filters()
        self._view: View = EMPTY_VIEW
        self._bounds: tuple[dt.datetime | None, dt.datetime | None] = (after, before)
        self._job: concurrent.futures.Future[None] | None = None
        self._panel: PredictionPanel | None = None
        self._opened: str | None = None
        self._schemas: dict[tuple[str, str], ModelSchema | None] = {}
        self._serial: asyncio.Lock | None = None  # made on the io loop, see _lock
        self._quiet = False
        self._thumb_task: asyncio.Future[None] | None = None
        self._unwatch: Callable[[], object] = lambda: None
        self._cell = current_cell()
        self._bench = Workbench(self._show_parts, self._schedule)
        super().__init__(
            date_after=after.isoformat() if after else "",
            date_before=before.isoformat() if before else "",
            **kwargs,
        )
        watch_cell(self)
        self.parts = {"panel": None, "playgrounds": []}
        self.observe(
            lambda _c: self._filters_changed(),
            names=["model_filter", "status_filter", "text_filter"],
        )
        # The API filters dates: a new date reloads.
        self.observe(
            lambda _c: self._dates_changed(), names=["date_after", "date_before"]
        )
        self.on_action("refresh", lambda _v: self._apply_filters())
        self.on_action("older", lambda _v: self.older())
        self.on_action("newer", lambda _v: self.newer())
        self.on_action("open", self._on_row(self._safe_open))
        self.on_action("tweak", self._on_row(self._safe_tweak))
        self.on_action("cancel", self._on_row(self.cancel))
        self.on_action("hide", lambda _v: self.hide())
        self.on_action("close_playground", self._close_playground)
        listen(self)
        self._watch_playground(playground)
        self.refresh()

    def _on_row(self, handler: Callable[[str], object]) -> Callable[[Any], None]:
        """Call ``handler`` with the prediction id the view sent, if it is one shown."""

        def run(value: Any) -> None:
            if isinstance(value, str) and value in self._entries:
                handler(value)

        return run

    def _close_playground(self, value: Any) -> None:
        for playground in self._bench.playgrounds:
            if widget_refs(playground) == value:
                self._bench.close_one(playground)

    # -- public API --------------------------------------------------------------------

    @property
    def entries(self) -> list[HistoryEntry]:
        """The rows shown on this page, newest first (a snapshot)."""
        return list(self._view.rows)

    @property
    def filters(self) -> Filters:
        """The model, status and input-text filters in use."""
        return self._filters

    @property
    def playgrounds(self) -> list[Any]:
        """The Playgrounds Tweak opened below the table, oldest first."""
        return self._bench.playgrounds

    def entry(self, prediction_id: str) -> HistoryEntry:
        """Return the row of ``prediction_id`` (on any page loaded so far).

        Raises
        ------
        KeyError
            When the table has no such prediction (refresh, page back, or widen
            the dates).
        """
        try:
            return self._entries[prediction_id]
        except KeyError:
            raise KeyError(
                f"{prediction_id!r} is not in this History; refresh(), older() or "
                "widen the date filters."
            ) from None

    def refresh(self) -> concurrent.futures.Future[None]:
        """Reload everything and show the newest page.

        Returns
        -------
        concurrent.futures.Future
            Done when the table is redrawn and its thumbnails arrived.
        """
        self._job = submit(self._reload())
        return self._job

    def older(self) -> concurrent.futures.Future[None]:
        """Show the next page of older runs, reading the backend's list as needed.

        With a filter set, at most a few API pages are searched per call; call
        again to search further back.
        """
        self._job = submit(self._turn(older=True))
        return self._job

    def newer(self) -> concurrent.futures.Future[None]:
        """Show the page of runs before this one (newer)."""
        self._job = submit(self._turn(older=False))
        return self._job

    def set_filters(
        self,
        model: str | None = None,
        status: str | None = None,
        text: str | None = None,
    ) -> concurrent.futures.Future[None]:
        """Show only runs of a model, with a status, or with words in their inputs.

        Parameters
        ----------
        model
            Part of ``owner/name``, any case; ``""`` for all. ``None`` keeps it.
        status
            ``succeeded``, ``failed`` ... ; ``""`` for all. ``None`` keeps it.
        text
            Words that must all appear in the run's input values, any case;
            ``""`` for all. ``None`` keeps it.

        Raises
        ------
        ValueError
            For a status that is not one (the message lists them).
        """
        old = self._filters
        filters = Filters(
            old.model if model is None else model,
            old.status if status is None else status,
            old.text if text is None else text,
        )
        self._quiet = True  # one reload, not one per box
        try:
            self.model_filter = filters.model
            self.status_filter = filters.status
            self.text_filter = filters.text
        finally:
            self._quiet = False
        self._job = submit(self._refilter(filters))
        return self._job

    def wait(self, timeout: float | None = None) -> None:
        """Block until the last refresh, page or filter and its thumbnails finished."""
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
        self._quiet = True  # one reload, not one per box
        try:
            self.date_after = after.isoformat() if after else ""
            self.date_before = before.isoformat() if before else ""
        finally:
            self._quiet = False
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
        """Load a run's inputs into a Playground of its model, and call callbacks.

        The Playground is the attached one when it runs the run's model; otherwise
        a Playground for that model opens below the table (one per model, reused),
        so no form is ever overwritten with another model's inputs. Inputs the form
        has no field for are listed in the form and in the table's message, with
        their values; secrets are stored masked, so the form keeps its own. Inputs
        the run did not set go back to their defaults.

        Returns
        -------
        dict
            The run's inputs (secrets left out).

        Raises
        ------
        ValueError
            When the backend no longer has the inputs and no record was kept, or
            no Playground can be opened for the run's model.
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
        playground, where = self._playground_for(entry)
        text = f"Loaded the inputs of {prediction_id} into {where}."
        if playground.form is not None:
            notes = load_into_form(playground.form, stored)
            if notes:
                text += " Not loaded: " + "; ".join(notes) + "."
            playground.form.message = text
        problems: list[str] = []
        for callback in list(self._callbacks):
            try:
                callback(dict(inputs))
            except Exception as exc:  # a callback's bug must not break the widget
                problems.append(
                    f"The tweak callback failed: {type(exc).__name__}: {exc}."
                )
        self._say(" ".join([text, *problems]), error=bool(problems))
        return inputs

    def cancel(self, prediction_id: str) -> concurrent.futures.Future[None]:
        """Ask the backend to cancel a running prediction; the row then updates."""
        return submit(self._cancel(prediction_id))

    def show(self, prediction_id: str) -> PredictionPanel:
        """Open a run under its row: its inputs and a live panel; return the panel.

        The panel shows the output, logs, metrics and status. Inputs are shown with
        secrets masked by the model's schema. A kept record whose data the backend
        removed is shown from the saved files.
        """
        from replicate_widgets._widgets.panel.panel import PredictionPanel

        entry = self.entry(prediction_id)
        client = entry.client or self.client
        schema = self._known_schema(entry) or self._schemas.get(
            (entry.model, entry.version)
        )
        panel = PredictionPanel(
            client=client,
            output=schema.output if schema is not None else None,
            schema=schema,
        )
        target: str | Prediction = prediction_id
        if entry.kept is not None and (entry.data_removed or client is None):
            target = kept_prediction(entry.kept)
        panel.follow(target)
        old = self._panel
        self._panel = panel
        submit(self._open(entry, panel, old))
        return panel

    def hide(self) -> None:
        """Close the opened run's details."""
        self._schedule(self._hide)

    def close(self) -> None:
        """Stop updating; close the widget, its rows and the Playgrounds it opened."""
        if not hasattr(self, "_bench"):  # __del__ of an instance __init__ refused
            super().close()
            return
        unlisten(self)
        self._unwatch()
        self._unwatch = lambda: None  # close() runs again from __del__
        if self._job is not None:
            self._job.cancel()
        if self._panel is not None:
            self._panel.close()
        self._bench.close()
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

    # -- tweak -------------------------------------------------------------------------

    def _playground_for(self, entry: HistoryEntry) -> tuple[Any, str]:
        """Return a Playground of ``entry``'s model and where it is, in words.

        Opening one (the model's schema is read) happens on the caller's thread,
        as creating a Playground in a cell does.
        """
        if self.playground is not None and runs_model(self.playground, entry):
            return self.playground, "the attached Playground"
        found = self._bench.find(entry)
        if found is not None:
            return found, f"the Playground for {entry.model} below the table"
        opened = self._bench.open(
            entry,
            client=entry.client or self.client,
            keep=self.keeper if self.keeper is not None else False,
            instead_of=self.playground,
        )
        return opened, f"a new Playground for {entry.model} below the table"

    def _known_schema(self, entry: HistoryEntry) -> ModelSchema | None:
        for playground in [self.playground, *self._bench.playgrounds]:
            if playground is not None and runs_model(playground, entry):
                schema: ModelSchema | None = getattr(playground, "schema", None)
                if schema is not None:
                    return schema
        return None

    # -- drawing (io loop) -------------------------------------------------------------

    def _render(self) -> None:
        view = self._view = self._current_view()
        self.rows = [row_data(e, e.id == self._opened) for e in view.rows]
        self.thumbs = thumbs_data(view.rows, self._thumbs)
        self.opened = self._opened or ""
        self.can_newer = view.newer
        self.can_older = view.older
        text = summary(view, self._filters)
        self.summary = tag("span", text, class_="rw-history-muted") if text else ""
        models = models_of(list(self._entries.values()))
        if list(self.models) != models:
            self.models = models

    def _show_parts(self) -> None:
        """Show the opened run's panel and the Playgrounds Tweak opened (io loop)."""
        self.parts = {
            "panel": self._panel if self._opened is not None else None,
            "playgrounds": self._bench.playgrounds,
        }
        self.tweaked = self._bench.notes

    async def _open(
        self, entry: HistoryEntry, panel: PredictionPanel, old: PredictionPanel | None
    ) -> None:
        schema = await self._schema_for(entry)
        async with self._lock():
            if self._panel is not panel:  # opened another run meanwhile
                return
            panel.schema = schema  # its JSON view masks this model's secrets
            self.detail_head = detail_heading(entry)
            self.detail_inputs = inputs_html(entry, schema)
            self._opened = entry.id
            self._show_parts()
            if self._reveal(entry):
                await self._fill()
            self._render()
        if old is not None and old is not panel:
            old.close()

    def _reveal(self, entry: HistoryEntry) -> bool:
        """Turn to the page whose first row is ``entry``, unless it is shown already.

        A run opened from code may sit on a page not shown; its pane is drawn under
        its row, so the row must be on the page. Returns whether the page turned.
        """
        view = self._current_view()
        if any(e.id == entry.id for e in view.rows):
            return False
        if not self._filters.matches(entry):
            self._say(
                f"{entry.id} is open, but the filters ({self._filters.describe()}) "
                "hide its row: clear them to see it.",
            )
            return False
        when, pid = row_key(entry)
        self._anchor = (when, pid + "\0")  # just above it: no id lies in between
        return True

    def _hide(self) -> None:
        self._opened = None
        panel, self._panel = self._panel, None
        self._render()
        self._show_parts()
        self.detail_head = self.detail_inputs = ""
        if panel is not None:
            panel.close()

    def _safe_open(self, prediction_id: str) -> None:
        if prediction_id == self._opened:
            self.hide()
            return
        try:
            with as_cell(self._cell):  # the panel is made after the cell ran
                self.show(prediction_id)
        except Exception as exc:
            self._say(f"Could not open {prediction_id}: {exc}", error=True)

    def _safe_tweak(self, prediction_id: str) -> None:
        try:
            with as_cell(self._cell):  # a Playground may be made
                self.tweak(prediction_id)
        except Exception as exc:
            self._say(f"Could not load the inputs: {exc}", error=True)

    def _say(self, text: str, error: bool = False) -> None:
        kind = "rw-history-error" if error else "rw-history-note"
        value = tag("span", text, class_=kind) if text else ""
        self._schedule(lambda: setattr(self, "message", value))

    def _schedule(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the io loop (now, if already there): the one writer."""
        if on_io_thread():
            fn()
        else:
            io_loop().call_soon_threadsafe(fn)

    def _filters_changed(self) -> None:
        if self._quiet:
            return
        try:
            filters = Filters(self.model_filter, self.status_filter, self.text_filter)
        except ValueError as exc:
            self._say(str(exc), error=True)
            return
        self._job = submit(self._refilter(filters))

    def _dates_changed(self) -> None:
        if not self._quiet:
            self._apply_filters()

    def _apply_filters(self) -> None:
        try:
            self._bounds = (
                parse_bound(self.date_after, "After"),
                parse_bound(self.date_before, "Before"),
            )
        except ValueError as exc:
            self._say(str(exc), error=True)
            return
        self.refresh()

    # -- background work (io loop) -----------------------------------------------------

    def _lock(self) -> asyncio.Lock:
        """One page action at a time: two clicks must not read the same cursor."""
        if self._serial is None:
            self._serial = asyncio.Lock()
        return self._serial

    async def _reload(self) -> None:
        async with self._lock():
            after, before = self._bounds
            self._entries = {}
            self._page = None
            self._frontier = None
            self._anchor = None
            self._complete = not (self._include_api and self.client is not None)
            problems: list[str] = []
            if not self._complete and self.client is not None:
                try:
                    page = await asyncio.to_thread(
                        self.client.predictions.list,
                        after.isoformat() if after else None,
                        before.isoformat() if before else None,
                    )
                    self._take_page(page)
                except Exception as exc:
                    problems.append(f"Could not list the backend's predictions: {exc}")
                    self._complete = True  # show what the other sources have
            if self.keeper is not None:
                try:
                    kept = await asyncio.to_thread(self.keeper.list)
                    for rec in kept:
                        self._take_kept(rec)
                except Exception as exc:
                    problems.append(f"Could not read kept records: {exc}")
            self._merge_recorded(render=False)
            problem = await self._fill()
            if problem:
                problems.append(problem)
            self._render()
            self._say(" ".join(problems), error=bool(problems))
        await self._load_thumbs()

    async def _turn(self, older: bool) -> None:
        """Show the next page of older (or newer) runs, fetching what it needs."""
        async with self._lock():
            view = self._current_view()
            if older:
                if not view.older:
                    self._say("No older runs.")
                    return
                self._anchor = older_anchor(view, self._frontier)
            else:
                self._anchor = newer_anchor(
                    self._entries.values(),
                    self._filters,
                    view,
                    self._page_size,
                    self._frontier,
                )
            problem = await self._fill()
            self._render()
            if problem:
                self._say(problem, error=True)
        await self._load_thumbs()

    async def _refilter(self, filters: Filters) -> None:
        """Show the newest page of runs passing ``filters``."""
        async with self._lock():
            self._filters = filters
            self._anchor = None
            problem = await self._fill()
            self._render()
            if problem:
                self._say(problem, error=True)
        await self._load_thumbs()

    async def _fill(self) -> str | None:
        """Read older API pages until the page shown is settled and full.

        At most :data:`SEARCH_PAGES` pages: a filter that matches little shows what
        it found, and Older searches on. Returns a problem to show, if any.
        """
        fetched = 0
        while True:
            view = self._current_view()
            if view.full or fetched >= SEARCH_PAGES:
                return None
            if self._page is None or not self._page.has_next():
                self._complete = True
                continue
            try:
                page = await asyncio.to_thread(self._page.next_page)
            except Exception as exc:
                return f"Could not load older runs: {exc}"
            fetched += 1
            if page is None or page.next == self._page.next:
                # None, or a server handing back the same cursor (it would loop)
                self._complete = True
            if page is not None:
                self._take_page(page)

    def _current_view(self) -> View:
        view = page_view(
            self._entries.values(),
            self._filters,
            self._anchor,
            self._page_size,
            self._frontier,
            self._complete,
        )
        # On the newest page, runs started from now on show at the top.
        self._anchor = view.anchor
        return view

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
        """Fetch the thumbnails of the rows shown (other pages' wait until shown).

        They are shown as they arrive, at most every :data:`_THUMB_BATCH` seconds:
        the view's thumbnails travel as one trait, sent whole on every change.
        """
        loop = asyncio.get_running_loop()
        shown = loop.time()
        pending = False
        for entry in self._view.rows:
            if entry.id in self._thumbs:
                continue
            self._thumbs[entry.id] = None  # claimed: no second fetch meanwhile
            try:
                data = await asyncio.to_thread(self._thumbnail, entry)
            except Exception:  # a thumbnail that cannot be made is shown as none
                data = None
            self._thumbs[entry.id] = data
            pending = pending or data is not None
            if pending and loop.time() - shown >= _THUMB_BATCH:
                self._render()
                shown, pending = loop.time(), False
        if pending:
            self._render()

    def _thumbnail(self, entry: HistoryEntry) -> tuple[bytes, str] | None:
        if entry.status != "succeeded":
            return None
        data: bytes | None = None
        if entry.kept is not None:
            data = kept_image(entry.kept)
        if data is None and not entry.data_removed and entry.prediction is not None:
            url = first_image_url(entry.prediction.output)
            client = entry.client or self.client
            if url and client is not None:
                data = client.read(url).data
        if data is None:
            return None
        small = prepare_image(data, self._thumb_edge)
        return small.data, small.mime

    async def _schema_for(self, entry: HistoryEntry) -> ModelSchema | None:
        """Return the schema of an opened run's model: it masks secrets, orders inputs.

        ``None`` when the backend cannot say; inputs are then masked by their names.
        """
        known = self._known_schema(entry)
        if known is not None:
            return known
        key = (entry.model, entry.version)
        if key not in self._schemas:
            client = entry.client or self.client
            schema = None
            if client is not None and "/" in entry.model:
                try:
                    schema = await asyncio.to_thread(
                        fetch_schema, client, entry.model, entry.version
                    )
                except Exception:  # no schema: masked by names, shown in run order
                    schema = None
            self._schemas[key] = schema
        return self._schemas[key]

    # -- merging -----------------------------------------------------------------------

    def _take_page(self, page: Page[Prediction]) -> None:
        self._page = page
        if not page.has_next():
            self._complete = True
        for prediction in page.results:
            self._update(prediction, "api", self.client)
            key = row_key(self._entries[prediction.id])
            if self._frontier is None or key < self._frontier:
                self._frontier = key

    def _update(self, p: Prediction, origin: Origin, client: Any) -> None:
        entry = update_entry(self._entries, p, origin, client)
        if self._thumbs.get(entry.id) is None:
            self._thumbs.pop(entry.id, None)  # it may have an image now

    def _take_kept(self, rec: KeptRecord) -> None:
        if in_range(self._bounds, rec.created_at):
            take_kept(self._entries, rec)

    def recorded_changed(self) -> None:
        """Show newly recorded predictions (called by :func:`record`, any thread)."""
        self._schedule(self._merge_recorded)

    def _merge_recorded(self, render: bool = True) -> None:
        mine = getattr(self.client, "base_url", None)
        for prediction, client in recorded_pairs():
            if not in_range(self._bounds, prediction.created_at):
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
