"""The io-loop half of :class:`~._history.History`: load, merge and cancel.

Everything here runs on the background loop of :mod:`._loop`, the one writer of the
table: it lists the backend's predictions page by page, reads kept records, merges
predictions recorded in this process, fetches thumbnails and follows a cancel to
its end. The widget half (:mod:`._history`) draws and takes clicks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._history_model import (
    HistoryEntry,
    Origin,
    first_image_url,
    in_range,
    kept_image,
    newest_first,
    recorded_pairs,
    take_kept,
    update_entry,
)
from ._media import prepare_image
from ._types import Page, Prediction

if TYPE_CHECKING:
    import ipywidgets

    from ._client import Client
    from ._keep import Keeper, KeptRecord

__all__ = ["HistorySync"]

_CANCEL_POLLS = 60  # half-seconds to wait for a canceled prediction to stop


class HistorySync:
    """The state History keeps and the io-loop work that fills it.

    The widget sets these attributes in its ``__init__`` and provides the drawing
    and messaging methods declared at the end.
    """

    client: Client | None
    keeper: Keeper | None
    _include_api: bool
    _thumb_edge: int
    _entries: dict[str, HistoryEntry]
    _thumbs: dict[str, tuple[bytes, str] | None]
    _page: Page[Prediction] | None
    _bounds: tuple[dt.datetime | None, dt.datetime | None]
    _thumb_task: asyncio.Future[None] | None
    _more_btn: ipywidgets.Button

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

    # -- merging -----------------------------------------------------------------------

    def _take_page(self, page: Page[Prediction]) -> None:
        self._page = page
        self._more_btn.disabled = not page.has_next()
        for prediction in page.results:
            self._update(prediction, "api", self.client)

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

    def _sorted(self) -> list[HistoryEntry]:
        return newest_first(self._entries.values())

    # -- provided by the widget --------------------------------------------------------

    def entry(self, prediction_id: str) -> HistoryEntry:
        """Return the row of ``prediction_id`` (raises ``KeyError`` when absent)."""
        raise NotImplementedError

    def _render(self) -> None:
        raise NotImplementedError

    def _say(self, text: str, error: bool = False) -> None:
        raise NotImplementedError

    def _schedule(self, fn: Callable[[], object]) -> None:
        raise NotImplementedError
