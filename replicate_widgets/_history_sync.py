"""The io-loop half of :class:`~._history.History`: load, page, merge and cancel.

Everything here runs on the background loop of :mod:`._loop`, the one writer of the
table: it lists the backend's predictions page by page (only as far as the page
shown needs, see :mod:`._history_view`), reads kept records, merges predictions
recorded in this process, fetches the thumbnails of the rows shown, reads a model's
schema for an opened run and follows a cancel to its end. The widget half
(:mod:`._history`) publishes what the view draws and takes its actions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._errors import ReplicateError
from ._history_model import (
    HistoryEntry,
    Origin,
    first_image_url,
    in_range,
    kept_image,
    recorded_pairs,
    row_key,
    take_kept,
    update_entry,
)
from ._history_view import (
    Filters,
    RowKey,
    View,
    newer_anchor,
    older_anchor,
    page_view,
)
from ._media import prepare_image
from ._types import Page, Prediction

if TYPE_CHECKING:
    from ._client import Client
    from ._keep import Keeper, KeptRecord
    from ._schema import ModelSchema

__all__ = ["HistorySync"]

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
    from ._schema import parse

    doc: Any = None
    if _VERSION_ID.fullmatch(version):
        try:
            doc = client.versions.get(model, version).openapi_schema
        except ReplicateError:  # e.g. a deleted version: the latest one will do
            doc = None
    if not doc:
        latest = client.models.get(model).latest_version or {}
        doc = latest.get("openapi_schema")
    return parse(doc) if doc else None


class HistorySync:
    """The state History keeps and the io-loop work that fills it.

    The widget sets these attributes in its ``__init__`` and provides the drawing
    and messaging methods declared at the end.
    """

    client: Client | None
    keeper: Keeper | None
    _include_api: bool
    _thumb_edge: int
    _page_size: int
    _entries: dict[str, HistoryEntry]
    _thumbs: dict[str, tuple[bytes, str] | None]
    _page: Page[Prediction] | None
    _frontier: RowKey | None
    _complete: bool
    _anchor: RowKey | None
    _filters: Filters
    _view: View
    _bounds: tuple[dt.datetime | None, dt.datetime | None]
    _thumb_task: asyncio.Future[None] | None
    _schemas: dict[tuple[str, str], ModelSchema | None]
    _serial: asyncio.Lock | None

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

    # -- provided by the widget --------------------------------------------------------

    def entry(self, prediction_id: str) -> HistoryEntry:
        """Return the row of ``prediction_id`` (raises ``KeyError`` when absent)."""
        raise NotImplementedError

    def _known_schema(self, entry: HistoryEntry) -> ModelSchema | None:
        """Return the schema of a Playground at hand running ``entry``'s model."""
        raise NotImplementedError

    def _render(self) -> None:
        raise NotImplementedError

    def _say(self, text: str, error: bool = False) -> None:
        raise NotImplementedError

    def _schedule(self, fn: Callable[[], object]) -> None:
        raise NotImplementedError
