"""``Compare`` and ``Sweep``: many predictions side by side, as a grid of live panels.

``Compare`` runs the same inputs on several models or versions; ``Sweep`` runs one
model over a grid of values of one or two inputs (e.g. seeds x steps). Every cell's
inputs are checked against its model's schema when the widget is built, so a typo
in the grid stops everything before a single prediction is created.

Runs happen on the background loop of :mod:`replicate_widgets._widgets.loop`: at most
``max_concurrency`` predictions are in flight, and a 429 (rate limit) makes every cell
wait for the ``Retry-After`` the server asked for before creating again. Throttled
creations are safe to repeat (the API creates nothing when it throttles), so none is
lost. Each prediction is handed to
:func:`replicate_widgets._widgets.history.entries.record`, so it shows in every History.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import traitlets

from replicate_widgets._client.errors import RateLimitError, run_interrupted
from replicate_widgets._client.session import owned_by_session
from replicate_widgets._client.types import Prediction
from replicate_widgets._widgets.composite import Composite, MarkupTrait
from replicate_widgets._widgets.history.entries import record
from replicate_widgets._widgets.html import Markup, escape, tag
from replicate_widgets._widgets.loop import io_loop, on_io_thread, submit
from replicate_widgets._widgets.notices import header_html, plain_message
from replicate_widgets._widgets.panel.panel import PredictionPanel
from replicate_widgets._widgets.stopping import CANCEL_WAIT, wait_briefly, watch_cell
from replicate_widgets._widgets.view import STATIC

from .plan import (
    Cell,
    check_concurrency,
    compare_cells,
    grid_axes,
    model_list,
    summary,
    sweep_cells,
)

if TYPE_CHECKING:
    from replicate_widgets._client.client import Client

__all__ = ["Compare", "Sweep"]

_THROTTLE_WAIT = 1.0  # seconds, when a 429 does not say how long to wait
_MAX_THROTTLES = 50  # per cell; a limit that never lifts is a problem to report
_MAX_CREATE_THREADS = 16


class _Batch(Composite):
    """A grid of cells run with bounded concurrency; see Compare and Sweep.

    One view (``js/src/compare.ts``) draws both: a bar with the title and Run all /
    Cancel all, a message line, and the grid of cells, each a header over its
    :class:`PredictionPanel` (the ``panels`` part).
    """

    _esm = STATIC / "compare.js"

    header = MarkupTrait("").tag(sync=True)
    """Markup of the title line: what runs and which backend runs it."""

    message = MarkupTrait("").tag(sync=True)
    """Markup of the line under the bar (progress, then the summary of the run)."""

    cell_headers = traitlets.List(MarkupTrait()).tag(sync=True)
    """Markup over each cell's panel, in grid order: its label and why it has no
    result, when it has none (empty when the panel's own title says it all)."""

    columns = traitlets.Int(1).tag(sync=True)
    """How many cells a row holds when there is room (fewer on a narrow page)."""

    busy = traitlets.Bool(False).tag(sync=True)
    """Whether the grid is running: Cancel all is enabled, Run all is not."""

    def __init__(
        self,
        cells: list[Cell],
        client: Client,
        *,
        columns: int,
        max_concurrency: int,
        title: str,
        labels: bool = True,
        keep_running: bool = False,
        **kwargs: Any,
    ) -> None:
        self.keep_running = keep_running
        """Let running predictions run on when the grid goes (``close()``, its cell
        runs again, its output is cleared, an interrupted :meth:`run`, or on the
        local backend the kernel stopping)."""
        self.client = client
        """The client every prediction is created with."""
        self.cells = cells
        """The cells in grid order (row by row)."""
        self.max_concurrency = max_concurrency
        """Most predictions in flight at once."""
        self._job: concurrent.futures.Future[list[Prediction | None]] | None = None
        self._cancelled = False
        # Set by start() just before the grid goes to the loop: run() then
        # knows an interrupt must stop it.
        self._handed_over = False
        self._active = False  # written on the io loop only
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._resume_at = 0.0
        self._labels = labels
        self.panels = [
            PredictionPanel(output=c.schema.output, client=client, schema=c.schema)
            for c in cells
        ]
        """One live panel per cell, in grid order."""
        super().__init__(
            header=header_html(title, client.base_url),
            cell_headers=[self._header(c) for c in cells],
            columns=max(1, columns),
            **kwargs,
        )
        self.parts = {"panels": list(self.panels)}
        # Each panel cancels its own prediction; Cancel all cancels the whole grid.
        self.on_action("run", lambda _value: self._start_from_button())
        self.on_action("cancel", lambda _value: self.cancel_all())
        for panel in self.panels:
            panel.on_gone(self._panels_gone)
        watch_cell(self)

    # -- public API --------------------------------------------------------------------

    @property
    def results(self) -> list[Prediction | None]:
        """Each cell's prediction in grid order (final once it ended), or ``None``."""
        return [c.prediction for c in self.cells]

    @property
    def running(self) -> bool:
        """True while a run is under way."""
        return self._job is not None and not self._job.done()

    def start(self) -> concurrent.futures.Future[list[Prediction | None]]:
        """Start every cell (at most ``max_concurrency`` at once) and return at once.

        Raises
        ------
        RuntimeError
            When a run is already under way.
        """
        if self.running:
            raise RuntimeError(
                "This grid is already running; wait for it or call cancel_all()."
            )
        self._cancelled = False
        for cell in self.cells:
            cell.prediction, cell.error = None, ""
        self._running(True)
        self._handed_over = True  # before submit(): see run()
        self._job = submit(self._run_all())
        return self._job

    def run(self, timeout: float | None = None) -> list[Prediction | None]:
        """Run every cell and block until all have ended; return :attr:`results`.

        Failed and canceled predictions are returned too (see their ``status``);
        a cell whose prediction could not be created is ``None``, with the reason in
        its header and in ``cells[i].error``.
        """
        if on_io_thread():
            raise RuntimeError("run() would block the widgets' own loop; use arun().")
        self._handed_over = False
        try:
            # Starting is inside the try: a Ctrl-C that lands once the grid was
            # handed to the loop, before the wait, must stop it too, or its
            # predictions run on (and on Replicate, are billed) unseen.
            return self.start().result(timeout)
        except KeyboardInterrupt:
            if not self._handed_over:
                raise  # nothing was started
            raise self._interrupted(self._job) from None

    def _interrupted(
        self, job: concurrent.futures.Future[list[Prediction | None]] | None
    ) -> KeyboardInterrupt:
        """Stop an interrupted run (unless ``keep_running``); say what became of it."""
        if self.keep_running:
            return run_interrupted(
                "Stopped waiting; the predictions keep running (keep_running=True). "
                "cancel_all() stops them.",
                self._started_ids(),
            )
        wait_briefly(self.cancel_all(), CANCEL_WAIT)
        if job is not None:
            wait_briefly(job, CANCEL_WAIT)
        ids = self._started_ids()
        stopped = sum(
            c.prediction is not None and c.prediction.status == "canceled"
            for c in self.cells
        )
        return run_interrupted(
            f"Interrupted: canceled {stopped} running prediction(s); nothing more "
            "starts.",
            ids,
        )

    def _started_ids(self) -> tuple[str, ...]:
        return tuple(c.prediction.id for c in self.cells if c.prediction is not None)

    async def arun(self) -> list[Prediction | None]:
        """Run like :meth:`run`, without blocking the notebook's event loop."""
        return await asyncio.wrap_future(self.start())

    def cancel_all(self) -> concurrent.futures.Future[None]:
        """Stop everything: start nothing more and cancel every running prediction."""
        self._cancelled = True
        return submit(self._cancel_started())

    # -- background work (io loop) -----------------------------------------------------

    async def _run_all(self) -> list[Prediction | None]:
        self._active = True
        slots = asyncio.Semaphore(self.max_concurrency)
        # Creations get threads of their own: the client sleeps in them between
        # throttled retries, and the loop's shared pool must stay free for panels.
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=min(self.max_concurrency, _MAX_CREATE_THREADS),
            thread_name_prefix="replicate-widgets-sweep",
        )
        self._say(f"Running {len(self.cells)} predictions…")
        self.cell_headers = [self._header(c) for c in self.cells]  # no old errors
        try:
            await asyncio.gather(
                *(self._run_cell(i, slots) for i in range(len(self.cells))),
                return_exceptions=True,
            )
        finally:
            self._pool.shutdown(wait=False)
        self._active = False
        self._say(summary(self.cells))
        self._running(False)
        return self.results

    async def _run_cell(self, index: int, slots: asyncio.Semaphore) -> None:
        cell = self.cells[index]
        async with slots:
            if self._cancelled:
                cell.error = "not started: canceled"
                self._redraw(index)
                return
            try:
                prediction = await self._create(cell)
            except Exception as exc:
                cell.error = f"could not start: {plain_message(exc)}"
                self._redraw(index)
                return
            cell.prediction = prediction
            record(prediction, self.client)
            if self._cancelled:  # canceled while the create was in flight
                await self._cancel_one(cell)
            try:
                final = await asyncio.wrap_future(
                    self.panels[index].follow(prediction, self.client)
                )
            except Exception as exc:
                cell.error = f"lost track of it: {plain_message(exc)}"
            else:
                cell.prediction = final
                record(final, self.client)
            self._redraw(index)

    async def _create(self, cell: Cell) -> Prediction:
        throttled = 0
        while True:
            wait = self._resume_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if self._cancelled:
                raise RuntimeError("canceled before it started")
            try:
                owner = (
                    contextlib.nullcontext()
                    if self.keep_running
                    else owned_by_session(self.client)
                )
                with owner:
                    # The executor does not carry context variables by itself.
                    context = contextvars.copy_context()
                    return await asyncio.get_running_loop().run_in_executor(
                        self._pool,
                        context.run,
                        self.client.predictions.create,
                        cell.ref,
                        cell.input,
                    )
            except RateLimitError as exc:
                # The client already retried; hold every cell back, not just this one.
                throttled += 1
                if throttled > _MAX_THROTTLES:
                    raise
                delay = exc.retry_after or _THROTTLE_WAIT
                self._resume_at = max(self._resume_at, time.monotonic() + delay)

    async def _cancel_started(self) -> None:
        if self._active:
            self._say("Canceling all predictions…")
        await asyncio.gather(
            *(self._cancel_one(c) for c in self.cells if c.prediction is not None),
            return_exceptions=True,
        )
        if self._active:  # else the run's own summary has the last word
            self._say("Canceled: nothing more will start.")

    async def _cancel_one(self, cell: Cell) -> None:
        prediction = cell.prediction
        if prediction is None or prediction.is_terminal:
            return
        await asyncio.to_thread(self.client.predictions.cancel, prediction.id)

    # -- drawing -----------------------------------------------------------------------

    def _header(self, cell: Cell) -> Markup:
        """Return the markup over a cell's panel (styled by the view's CSS)."""
        head = tag("div", cell.label, class_="rw-grid-header", title=cell.label)
        if not self._labels:  # the panel's own title names the model
            head = Markup("")
        if not cell.error:
            return head
        return head + tag("div", cell.error, class_="rw-grid-error", role="status")

    def _redraw(self, index: int) -> None:
        """Redraw one cell's header (on the io loop, the grid's one writer)."""
        headers = list(self.cell_headers)
        headers[index] = self._header(self.cells[index])
        self.cell_headers = headers

    def _running(self, running: bool) -> None:
        """One button at a time: Run all while idle, Cancel all while running."""
        if on_io_thread():
            self.busy = running
        else:
            io_loop().call_soon_threadsafe(setattr, self, "busy", running)

    def _say(self, text: str) -> None:
        value = escape(text)
        if on_io_thread():
            self.message = value
        else:  # the io loop is the grid's one writer
            io_loop().call_soon_threadsafe(setattr, self, "message", value)

    def _start_from_button(self) -> None:
        try:
            self.start()
        except RuntimeError as exc:
            self._say(str(exc))

    def _abandon(self, reason: str) -> None:
        """Cancel the runs of a grid gone for ``reason``, unless keep_running."""
        if self.keep_running or not self.running:
            return
        self._say(f"Canceled: {reason}.")
        with contextlib.suppress(RuntimeError):  # interpreter shutdown
            self.cancel_all()

    def _panels_gone(self) -> None:
        if not any(panel.shown for panel in self.panels):
            self._abandon("its output was cleared")

    def close(self) -> None:
        """Close the grid and its panels; runs are canceled unless ``keep_running``."""
        if hasattr(self, "keep_running"):
            self._abandon("the widget was closed")
        for panel in getattr(self, "panels", []):
            panel.close()  # also when __init__ failed before they became parts
        super().close()


def _client_of(client: Client | None, backend: str | None) -> Client:
    if client is not None:
        return client
    from replicate_widgets._widgets.backend import resolve_client

    return resolve_client(backend)


class Compare(_Batch):
    """Run the same inputs on several models or versions, side by side.

    Parameters
    ----------
    models
        Model references: ``"owner/name"`` or ``"owner/name:<version id>"``.
    input
        The inputs, checked against every model's schema before anything starts.
    client, backend
        Where to run (default: chosen from the environment, as for Playground).
    max_concurrency
        Most predictions in flight at once.
    keep_running
        Running predictions are canceled when the widget goes (``close()``, its
        cell runs again, its output is cleared, an interrupted :meth:`run`, or on
        the local backend the kernel stopping); ``True`` lets them run on.

    Raises
    ------
    SchemaError
        When the inputs do not fit a model; the message lists every problem.

    Examples
    --------
    >>> cmp = Compare(["replicate/hello-world", "demo/echo"], input={"text": "hi"})
    >>> cmp.run()  # doctest: +SKIP
    """

    def __init__(
        self,
        models: Sequence[str],
        input: Mapping[str, Any] | None = None,
        *,
        client: Client | None = None,
        backend: str | None = None,
        max_concurrency: int = 4,
        keep_running: bool = False,
        **kwargs: Any,
    ) -> None:
        refs = model_list(models)
        limit = check_concurrency(max_concurrency)
        api = _client_of(client, backend)
        cells = compare_cells(api, refs, input)
        super().__init__(
            cells,
            api,
            columns=min(len(cells), 4),
            max_concurrency=limit,
            keep_running=keep_running,
            title=f"Compare {len(cells)} models",
            # Pinned versions need their labels: the panels name only the model.
            labels=any(":" in c.label for c in cells),
            **kwargs,
        )


class Sweep(_Batch):
    """Run one model over a grid of input values, as a grid of live panels.

    Parameters
    ----------
    model
        ``"owner/name"`` or ``"owner/name:<version id>"``.
    base
        Inputs shared by every cell.
    grid
        Input name to the list of values to try; one or two inputs make a row or a
        table (first input down, second across). Every combination is checked against
        the schema before anything starts.
    client, backend
        Where to run (default: chosen from the environment, as for Playground).
    max_concurrency
        Most predictions in flight at once.
    keep_running
        Running predictions are canceled when the widget goes (``close()``, its
        cell runs again, its output is cleared, an interrupted :meth:`run`, or on
        the local backend the kernel stopping); ``True`` lets them run on.

    Raises
    ------
    SchemaError
        When a grid value or a base input does not fit the schema; the message lists
        every problem.

    Examples
    --------
    >>> sw = Sweep("demo/fractal", base={"width": 256},
    ...            grid={"seed": [1, 2], "steps": [3, 6]})  # doctest: +SKIP
    >>> [p.status for p in sw.run()]  # doctest: +SKIP
    ['succeeded', 'succeeded', 'succeeded', 'succeeded']
    """

    def __init__(
        self,
        model: str,
        base: Mapping[str, Any] | None = None,
        grid: Mapping[str, Sequence[Any]] | None = None,
        *,
        client: Client | None = None,
        backend: str | None = None,
        max_concurrency: int = 4,
        keep_running: bool = False,
        **kwargs: Any,
    ) -> None:
        limit = check_concurrency(max_concurrency)
        axes = grid_axes(grid)
        api = _client_of(client, backend)
        cells, columns, title = sweep_cells(api, model, base, axes)
        super().__init__(
            cells,
            api,
            columns=columns,
            max_concurrency=limit,
            keep_running=keep_running,
            title=title,
            **kwargs,
        )
