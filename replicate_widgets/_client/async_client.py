"""``AsyncClient``: the asyncio Replicate HTTP API client.

Endpoints are defined once in :mod:`.endpoints`; request building, error mapping,
retry decisions and stream bookkeeping are sans-IO code in :mod:`.http`,
:mod:`.retry` and :mod:`.streaming`. This module adds only the I/O: send with
retries, sleep, read SSE.

This is the source of the sync :mod:`.client`, which ``scripts/unasync.py``
generates from it by deleting ``async``/``await`` and replacing a few tokens
(``AsyncClient`` -> ``Client``, ``aclose`` -> ``close``, ...). Edit this file and
run ``python scripts/unasync.py``; ``make lint`` fails when the two drift apart.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from httpx_sse import EventSource, SSEError

from . import endpoints as ep
from . import tls
from .async_resources import (
    AccountNamespace,
    Collections,
    Files,
    HardwareNamespace,
    Models,
    Predictions,
    Trainings,
    Versions,
    Webhooks,
)
from .async_resources_deployments import Deployments
from .errors import ModelError
from .files import SavedFile, atomic_file, decode_data_uri, sniff
from .http import (
    DEFAULT_MAX_DOWNLOAD_BYTES,
    DEFAULT_MAX_READ_BYTES,
    Body,
    Call,
    ClientConfig,
)
from .retry import RetryPolicy
from .streaming import STREAM_READ_TIMEOUT, StreamTracker
from .types import FileContent, Page, Prediction, StreamEvent
from .types_search import SearchResults

T = TypeVar("T")

DEFAULT_POLL_INTERVAL = 0.5
"""Seconds between polls of a running prediction (the official clients use 0.5 s)."""


class AsyncClient:
    """An asyncio client for the Replicate HTTP API (cloud or the local backend).

    Parameters
    ----------
    api_token
        The API token. ``None`` uses the one given to :func:`replicate_widgets.login`,
        else ``REPLICATE_API_TOKEN``. Not needed for a local backend on 127.0.0.1.
    base_url
        The API root. ``None`` uses ``REPLICATE_BASE_URL``, else
        ``https://api.replicate.com/v1``.
    timeout
        Seconds (or an ``httpx.Timeout``) per request; ``Prefer: wait`` requests get
        a read timeout longer than the wait.
    transport
        An ``httpx`` transport, e.g. ``httpx.MockTransport`` in tests.
    max_retries
        Retries of throttled (429, every method) and failed (502/503/504 and
        connection errors, idempotent methods only) requests.
    retry
        A :class:`~.retry.RetryPolicy` for full control of backoff.
    poll_interval
        Seconds between polls while waiting for a prediction.
    max_read_bytes
        The largest file :meth:`read` holds in memory (default 256 MB); larger
        ones raise :class:`~replicate_widgets.OutputTooLargeError`, and
        :meth:`download` saves them to disk.
    max_download_bytes
        The largest file :meth:`download` writes (default 20 GB).

    Examples
    --------
    >>> async with AsyncClient(base_url="http://127.0.0.1:8000/v1") as c:
    ...     await c.run("acme/echo", {"text": "hi"})  # doctest: +SKIP
    """

    def __init__(
        self,
        api_token: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 4,
        retry: RetryPolicy | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_read_bytes: int = DEFAULT_MAX_READ_BYTES,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
    ) -> None:
        self._config = ClientConfig(
            api_token,
            base_url,
            timeout,
            max_retries,
            retry,
            max_read_bytes=max_read_bytes,
            max_download_bytes=max_download_bytes,
        )
        if (
            isinstance(poll_interval, bool)
            or not isinstance(poll_interval, (int, float))
            or poll_interval <= 0
        ):
            raise ValueError("poll_interval must be a positive number of seconds.")
        self.poll_interval = poll_interval
        """Seconds between polls while waiting for a prediction."""
        self._closed = False
        # Redirects are followed so file downloads (signed URLs) work. The TLS
        # context loads its certificates at the first https request (see tls.py).
        self._http = httpx.AsyncClient(
            transport=transport,
            verify=tls.client_context(),
            timeout=self._config.timeout,
            follow_redirects=True,
            event_hooks={"response": [self._drop_if_closed]},
        )
        self.account = AccountNamespace(self)
        """``GET /account``."""
        self.collections = Collections(self)
        """Collections of models."""
        self.deployments = Deployments(self)
        """Deployments: list, get, create, update, delete; their predictions."""
        self.files = Files(self)
        """The Files API."""
        self.hardware = HardwareNamespace(self)
        """Hardware SKUs."""
        self.models = Models(self)
        """Models: list, search, create, get, update, delete, readme, examples."""
        self.predictions = Predictions(self)
        """Predictions: create, get, list, cancel, wait."""
        self.trainings = Trainings(self)
        """Trainings: create, get, list, cancel."""
        self.versions = Versions(self)
        """Model versions: list, get, delete."""
        self.webhooks = Webhooks(self)
        """The webhook signing secret."""

    @property
    def base_url(self) -> str:
        """The API root every request goes to."""
        return self._config.base_url

    @property
    def is_local(self) -> bool:
        """True when the base URL is on this machine (the local backend)."""
        return self._config.is_local

    def __repr__(self) -> str:
        return f"AsyncClient(base_url={self.base_url!r})"

    # -- lifecycle -------------------------------------------------------------------

    async def close(self) -> None:
        """Close the connection pool."""
        self._closed = True
        await self._http.aclose()

    async def _drop_if_closed(self, response: httpx.Response) -> None:
        """Close the connection of an answer that came after :meth:`close`.

        httpcore's pool forgets its connections when it closes, but a request
        already inside it (a widget's worker thread, another task) may still
        connect afterwards: to a new connection of the closed pool, or to one
        the pool dropped while it was connecting. Nothing would close that
        socket until the garbage collector found it (a ``ResourceWarning``).
        Its answer is the last place to reach it (httpcore's documented
        ``network_stream`` extension), so it is closed here; the request then
        fails as any request on a closed client does.
        """
        if self._closed:
            stream = response.extensions.get("network_stream")
            if stream is not None:
                await stream.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- execution -------------------------------------------------------------------

    async def _send(self, call: Call[T]) -> T:
        """Execute ``call`` with retries; return the parsed result or raise."""
        attempt = 0
        while True:
            request = self._config.build(self._http, call)
            try:
                # httpx reads a redirect's body whole; a capped body follows its
                # redirects itself (in _receive), without reading theirs.
                response = await self._receive(
                    call,
                    await self._http.send(
                        request, stream=True, follow_redirects=call.body is None
                    ),
                )
            except httpx.TransportError as exc:
                delay = self._config.retry.delay(call.method, attempt, error=exc)
                if delay is None:
                    raise self._config.transport_error(exc, str(request.url)) from None
            else:
                if response.status_code < 400:
                    return self._attach(self._config.finish(call, response))
                delay = self._config.retry.delay(
                    call.method, attempt, response=response
                )
                if delay is None:
                    return self._config.finish(call, response)
            await asyncio.sleep(delay)
            attempt += 1

    async def _receive(
        self, call: Call[Any], response: httpx.Response
    ) -> httpx.Response:
        """Read the body and close: whole, or chunk by chunk into ``call.body``."""
        try:
            if call.body is None:
                await response.aread()
                return response
            for _ in range(self._http.max_redirects):
                if response.next_request is None:
                    break
                await response.aclose()
                response = await self._http.send(
                    response.next_request, stream=True, follow_redirects=False
                )
            if response.next_request is not None:
                raise httpx.TooManyRedirects(
                    "Exceeded maximum allowed redirects.", request=response.request
                )
            call.body.start(response)
            async for chunk in response.aiter_bytes():
                if not call.body.feed(chunk):
                    break
            return call.body.response(response)
        finally:
            await response.aclose()

    def _attach(self, result: T) -> T:
        if isinstance(result, Page):
            cls = result._item_cls
            result._fetch = lambda url: self._send(ep.get_page(url, cls))
        return result

    # -- conveniences ------------------------------------------------------------------

    async def search(self, query: str, *, limit: int | None = None) -> SearchResults:
        """Search models, collections and documentation pages (``GET /search``).

        Parameters
        ----------
        query
            What to look for, e.g. ``"upscale images"``.
        limit
            The most models to return, 1 to 50 (the server's default is 20).

        Returns
        -------
        SearchResults
            ``.models`` (each a model and its search metadata), ``.collections``
            and ``.pages``.
        """
        return await self._send(ep.search(query, limit))

    async def run(
        self,
        ref: str,
        input: dict[str, Any] | None = None,
        *,
        wait: bool | int = True,
        cancel_after: str | float | None = None,
        webhook: str | None = None,
        webhook_events_filter: Sequence[str] | None = None,
    ) -> Any:
        """Run a model and return its output once the prediction finishes.

        Waits with ``Prefer: wait`` first, then follows ``urls.stream`` when the model
        streams, else polls.

        Raises
        ------
        ModelError
            When the prediction failed, was canceled or aborted.
        """
        prediction = await self.predictions.create(
            ref,
            input,
            wait=wait,
            cancel_after=cancel_after,
            webhook=webhook,
            webhook_events_filter=webhook_events_filter,
        )
        prediction = await self._finish(prediction)
        if prediction.status != "succeeded":
            raise ModelError(prediction)
        return prediction.output

    async def _finish(self, prediction: Prediction) -> Prediction:
        if prediction.is_terminal:
            return prediction
        if prediction.urls.get("stream"):
            async for _ in self.stream_prediction(prediction):
                pass
        # ``done`` can arrive a moment before the stored status is terminal.
        return await self.predictions.wait(await self.predictions.get(prediction))

    async def stream(
        self,
        ref: str,
        input: dict[str, Any] | None = None,
        *,
        cancel_after: str | float | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Start a prediction and yield its events until ``done``.

        The prediction is created when iteration starts. Output chunks and log lines
        arrive once each, whether over SSE, after a reconnect, or by polling when
        the model has no stream.
        """
        prediction = await self.predictions.create(
            ref, input, cancel_after=cancel_after
        )
        async for event in self.stream_prediction(prediction):
            yield event

    async def stream_prediction(
        self, prediction: Prediction
    ) -> AsyncIterator[StreamEvent]:
        """Yield the events of an existing prediction until ``done``."""
        tracker = StreamTracker()
        # A finished prediction's stream may only answer with a timeout comment
        # after 30 s; its state is complete in one GET instead.
        url = None if prediction.is_terminal else prediction.urls.get("stream")
        while url:
            got = False
            try:
                async for event in self._sse(url, tracker):
                    got = True
                    yield event
            except (httpx.TransportError, SSEError):
                pass  # dropped or refused: reconnect or fall back to polling below
            if tracker.done or not tracker.connection_ended(got):
                break
        current = prediction
        while not tracker.done:
            current = await self.predictions.get(current)
            for event in tracker.catch_up(current):
                yield event
            if not tracker.done:
                await asyncio.sleep(self.poll_interval)

    async def _sse(
        self, url: str, tracker: StreamTracker
    ) -> AsyncIterator[StreamEvent]:
        headers = {
            "Accept": "text/event-stream",
            "Cache-Control": "no-store",
            **self._config.auth_headers(url),
        }
        if tracker.last_event_id:
            headers["Last-Event-ID"] = tracker.last_event_id
        # Streams stay open while the model runs, so the read timeout only has to
        # catch a dead connection; after it the client reconnects or polls.
        timeout = httpx.Timeout(self._config.timeout.connect, read=STREAM_READ_TIMEOUT)
        async with self._http.stream(
            "GET", url, headers=headers, timeout=timeout
        ) as response:
            if response.status_code != 200:
                return
            async for sse in EventSource(response).aiter_sse():
                event = tracker.accept(sse.event, sse.data, sse.id)
                if event is not None:
                    yield event
                if tracker.done:
                    return

    async def read(self, url: str, *, max_bytes: int | None = None) -> FileContent:
        """Read an output file (URL or ``data:`` URI) as bytes, with a sniffed type.

        The token is sent only to the API's origin and, over https, to Replicate's
        file hosts.

        Parameters
        ----------
        url
            An http(s) URL or a ``data:`` URI.
        max_bytes
            The largest file accepted; default: the client's ``max_read_bytes``
            (256 MB). Larger files belong on disk: see :meth:`download`.

        Raises
        ------
        OutputTooLargeError
            When the file is larger than ``max_bytes``; it is refused by its declared
            length, or as soon as more arrived, so it never fills memory.
        """
        body = self._config.read_body(url, max_bytes)
        declared = await self._fetch(body)
        data = body.content()
        return FileContent(data, sniff(data, declared))

    async def download(
        self,
        url: str,
        path: str | os.PathLike[str],
        *,
        max_bytes: int | None = None,
    ) -> SavedFile:
        """Save an output file (URL or ``data:`` URI) to ``path``, streaming it.

        For files too large to :meth:`read` into memory. The file is written under a
        temporary name and renamed, so ``path`` never holds half a file.

        Parameters
        ----------
        url
            An http(s) URL or a ``data:`` URI.
        path
            The file to write (its folder must exist); an existing one is replaced.
        max_bytes
            The largest file accepted; default: the client's ``max_download_bytes``
            (20 GB).

        Returns
        -------
        SavedFile
            The path, the type sniffed from the first bytes, and the size.

        Raises
        ------
        OutputTooLargeError
            When the file is larger than ``max_bytes`` (nothing is left at ``path``).
        """
        target = Path(path)
        with atomic_file(target) as handle:
            body = self._config.download_body(url, max_bytes, handle)
            declared = await self._fetch(body)
        return SavedFile(target, sniff(bytes(body.head), declared), body.size)

    async def _fetch(self, body: Body) -> str | None:
        """Fill ``body`` from its URL; return the declared content type."""
        if body.url.startswith("data:"):
            data, declared = decode_data_uri(body.url)
            body.start(size=len(data))
            body.feed(data)
            return declared
        response = await self._send(self._config.file_call(body))
        content_type: str | None = response.headers.get("content-type")
        return content_type
