"""Follow one prediction on the background loop: stream, poll, fetch its files.

:class:`Follower` is the panel's network half. It runs on the loop of
:mod:`replicate_widgets._widgets.loop`, feeds a
:class:`~replicate_widgets._widgets.panel.state.PanelState` with what the backend says,
fetches output files as they appear, and calls ``changed()`` after each change; the
panel coalesces those calls into a bounded number of comm messages.

Any client with the documented surface works: the sync
:class:`~replicate_widgets._client.client.Client` (its blocking calls run in worker
threads so the loop stays free) or an async one (awaited on the loop directly).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from replicate_widgets._client.types import Prediction, StreamEvent
from replicate_widgets._widgets.media import MediaItem, build_media
from replicate_widgets._widgets.sources import RunSource

from .state import PanelState

__all__ = ["ClientAdapter", "Follower"]

_END = object()


class ClientAdapter:
    """One async surface over a sync or async client.

    Parameters
    ----------
    client
        A blocking or asyncio client (see :mod:`replicate_widgets._widgets.sources`);
        methods that return awaitables are awaited, others run in a worker thread.
    """

    def __init__(self, client: RunSource) -> None:
        self.client = client

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if inspect.iscoroutinefunction(fn):
            return await fn(*args)
        return await asyncio.to_thread(fn, *args)

    async def get(self, prediction_id: str) -> Prediction:
        """Fetch the prediction's current state."""
        result: Prediction = await self._call(
            self.client.predictions.get, prediction_id
        )
        return result

    async def cancel(self, prediction_id: str) -> Prediction:
        """Ask the backend to cancel the prediction."""
        result: Prediction = await self._call(
            self.client.predictions.cancel, prediction_id
        )
        return result

    async def read(self, url: str) -> tuple[bytes, str]:
        """Read an output file (URL or ``data:`` URI) in the kernel, with auth."""
        content = await self._call(self.client.read, url)
        return content.data, content.content_type

    async def events(self, prediction: Prediction) -> AsyncIterator[StreamEvent]:
        """Yield the prediction's stream events until ``done``."""
        source = self.client.stream_prediction(prediction)
        if hasattr(source, "__aiter__"):
            async for event in source:
                yield event
            return
        # A blocking iterator: drain it in a thread and hand events to this loop.
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def pump() -> None:
            try:
                for event in source:
                    loop.call_soon_threadsafe(queue.put_nowait, event)
                    if stop.is_set():
                        break
                loop.call_soon_threadsafe(queue.put_nowait, _END)
            except BaseException as exc:  # handed to the loop, raised there
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                close = getattr(source, "close", None)  # a generator's, if any
                if callable(close):
                    with contextlib.suppress(Exception):
                        close()

        thread = threading.Thread(
            target=pump, name="replicate-widgets-stream", daemon=True
        )
        thread.start()
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            # The thread may be blocked reading the socket; it ends at the next event
            # or when the prediction ends, and never touches a widget.
            stop.set()


class Follower:
    """Drive a :class:`PanelState` from the backend until the prediction ends.

    Parameters
    ----------
    api
        Where to read from.
    state
        The state to update; only this follower writes it.
    changed
        Called after every change (from the loop's thread).
    max_edge
        Longest side of image display copies.
    poll_interval
        Seconds between status polls while the stream is open.
    """

    def __init__(
        self,
        api: ClientAdapter,
        state: PanelState,
        changed: Callable[[], None],
        *,
        max_edge: int = 1024,
        poll_interval: float = 1.0,
        clock: Callable[[], float],
    ) -> None:
        self.api = api
        self.state = state
        self.changed = changed
        self.max_edge = max_edge
        self.poll_interval = poll_interval
        self.clock = clock
        self.media: dict[str, MediaItem] = {}
        """Fetched files by URL (originals included)."""
        self.media_errors: dict[str, str] = {}
        """Files that could not be fetched, by URL, with the reason."""
        self._wanted: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._fetcher: asyncio.Task[None] | None = None
        self.prediction: Prediction | None = None
        # The client's event stream replays a prediction from its start (SSE, or
        # polling with its own bookkeeping), so content comes from events only.
        state.events_carry_content = True

    async def run(self, target: str | Prediction) -> Prediction:
        """Follow ``target`` to its end and return the final prediction."""
        self._fetcher = asyncio.create_task(self._fetch_loop())
        try:
            prediction = (
                target if isinstance(target, Prediction) else await self.api.get(target)
            )
            self._take(prediction)
            if not prediction.is_terminal:
                prediction = await self._stream(prediction)
            await self._drain_files()
            return prediction
        finally:
            self._fetcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fetcher

    async def _stream(self, prediction: Prediction) -> Prediction:
        # The stream carries output and logs but no status, so a slow poll runs beside
        # it for starting -> processing and metrics; the final state is re-fetched
        # after done.
        poller = asyncio.create_task(self._poll(prediction.id))
        try:
            async for event in self.api.events(prediction):
                self.state.apply_event(event.event, event.data, self.clock())
                self._want_files()
                self.changed()
                if event.event == "done":
                    break
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        final = await self.api.get(prediction.id)
        while not final.is_terminal:
            # done arrived before the backend recorded the end (outputs still uploading)
            await asyncio.sleep(self.poll_interval / 2)
            final = await self.api.get(prediction.id)
        self._take(final)
        return final

    async def _poll(self, prediction_id: str) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                current = await self.api.get(prediction_id)
            except Exception:  # noqa: S112 - a failed status poll is retried; the stream rules
                continue
            if current.is_terminal:
                return  # the stream's done and the final re-fetch take it from here
            self._take(current)

    def _take(self, prediction: Prediction) -> None:
        self.prediction = prediction
        self.state.apply_prediction(prediction, self.clock())
        self._want_files()
        self.changed()

    def _want_files(self) -> None:
        urls = [*self.state.file_urls, *self.state.object_urls()]
        for url in urls:
            if url not in self._queued:
                self._queued.add(url)
                self._wanted.put_nowait(url)

    async def _fetch_loop(self) -> None:
        while True:
            url = await self._wanted.get()
            try:
                await self._fetch(url)
            finally:
                self._wanted.task_done()

    async def _fetch(self, url: str) -> None:
        index = len(self.media) + len(self.media_errors)
        try:
            data, declared = await self.api.read(url)
            # Pillow decoding and scaling is CPU work: keep the loop answering.
            item = await asyncio.to_thread(
                build_media,
                f"m{index}",
                url,
                data,
                declared,
                max_edge=self.max_edge,
                index=index,
            )
        except Exception as exc:
            self.media_errors[url] = f"{type(exc).__name__}: {exc}"
        else:
            self.media[url] = item
        self.changed()

    async def _drain_files(self) -> None:
        self._want_files()
        await self._wanted.join()
