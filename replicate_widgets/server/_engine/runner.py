"""Run predictions and trainings of local Cog models through coglet.

One :class:`ModelRunner` owns one coglet process for one (model version, mode):
started on the first run, stopped after ``idle_timeout`` seconds without work,
restarted after a crash. :meth:`ModelRunner.run` streams coglet's SSE events as
:class:`RunnerEvent` objects and always ends with exactly one ``completed``.

coglet quirks absorbed here so callers never see them:

- **409 at capacity**, also for a moment after a slot frees: runs wait in a
  local FIFO (one semaphore slot per coglet slot) and retry 409 with backoff.
- **no history**: coglet forgets a prediction when it ends, so everything
  arrives through the SSE stream of ``PUT /predictions/{id}``, which the schema
  coglet reads always allows (``x-cog-streaming`` is forced on).
- **explicit nulls are rejected** (``nullable`` is not JSON Schema), so
  ``None`` inputs are omitted.
- **crashes**: a dead worker answers ``Worker crashed`` and then 409 forever; a
  dead parent drops the stream. Either way the run completes as failed with a
  clear message and the next run starts a fresh process.
- **doubled error prefixes** (``Prediction failed: Prediction failed: ...``)
  are stripped.
- ``/tmp/coglet/predictions/<id>`` directories (hard-coded, never removed by
  coglet) are removed for our ids.

The same HTTP API serves Cog models that already run elsewhere
(:mod:`replicate_widgets.server._catalog.remote`): a server whose model does not stream
answers the SSE request with 406, and then each run is one blocking ``PUT`` whose answer
is the final result. Several runners of one version make its instances
(:mod:`.instances`).

Sync generators stream live; coglet collects **async generators** and sends
all their outputs at the end, so a model with one is started through a
generated wrapper (:mod:`replicate_widgets.server._cog.async_stream`) and streams live
too, with one slot or several.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sys
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx
import httpx_sse

from replicate_widgets._secret_mask import SecretMask
from replicate_widgets.server._cog.coglet_process import CogletProcess, RunnerError
from replicate_widgets.server._cog.group_records import GroupRecords
from replicate_widgets.server._cog.models import LocalModel
from replicate_widgets.server._storage.files_store import uploads_keep_order

from .runner_events import (
    CRASH_MESSAGE,
    RunnerEvent,
    completed_event,
    completion_from,
    event_from_sse,
    response_json,
    validation_message,
)

__all__ = ["Mode", "ModelRunner", "ModelServer"]

Mode = Literal["predict", "train"]
COGLET_PREDICTIONS = Path("/tmp/coglet/predictions")  # noqa: S108 - coglet's own path
_UNHEALTHY = {"UNHEALTHY", "DEFUNCT"}
_READ_TO_END_SECONDS = 1.0
_PRUNE_DELAY = 1.0
_PRUNE_MAX = 200


BUSY_NOTICE = (
    "The model server is busy (HTTP 409: its prediction slots are taken, "
    "perhaps by another client); this prediction waits for a free one.\n"
)


async def _read_to_end(events: AsyncIterator[RunnerEvent]) -> None:
    """Read an event stream past its ``completed`` event, to its end.

    A response read to its end hands its connection back to the client's pool,
    so the next run skips a TCP connect (and its close); one closed early
    closes the connection. coglet ends the stream right after ``completed``;
    a server that does not is given up on after a moment.
    """

    async def exhaust() -> None:
        async for _ in events:
            pass

    with contextlib.suppress(
        asyncio.TimeoutError, httpx.TransportError, httpx_sse.SSEError
    ):
        if sys.version_info >= (3, 11):
            # Without the task wait_for would start for each run.
            async with asyncio.timeout(_READ_TO_END_SECONDS):
                await exhaust()
        else:
            await asyncio.wait_for(exhaust(), _READ_TO_END_SECONDS)


def _ack_promptly(response: httpx.Response) -> bool:
    """Have this machine acknowledge each event of a streamed answer at once.

    coglet sends each event in its own small write, with Nagle's algorithm on:
    a write waits until the one before it is acknowledged. On a connection
    carrying request after request, Linux delays acknowledgements by up to
    40 ms, so each event of a stream on a reused connection would wait that
    long. ``TCP_QUICKACK`` (Linux only) ends the delaying for this answer.

    Returns
    -------
    bool
        Whether it did: only then is the connection worth reusing.
    """
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if sock is None or quickack is None:
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)
    except OSError:
        return False
    return True


def _remove_trees(paths: list[Path]) -> None:
    for path in paths:
        # coglet leaves two empty folders in each: removing them by name takes
        # half the system calls of rmtree's walk (70 against 150 us of CPU).
        try:
            for folder in (path / "inputs", path / "outputs", path):
                os.rmdir(folder)
        except OSError:  # files in it, or not as coglet leaves it
            shutil.rmtree(path, ignore_errors=True)


def _is_sse(response: httpx.Response) -> bool:
    content_type = str(response.headers.get("content-type", ""))
    return content_type.startswith("text/event-stream")


class _Crashed(Exception):
    """The coglet process died or became unhealthy during a run."""


class ModelServer(Protocol):
    """What a runner needs of the Cog HTTP server it sends runs to.

    :class:`CogletProcess` is one the runner starts and stops;
    :class:`~replicate_widgets.server._catalog.remote.RemoteServer` one that runs
    elsewhere.
    """

    @property
    def client(self) -> httpx.AsyncClient:
        """A client whose base URL is the server."""

    @property
    def pid(self) -> int | None:
        """The server's process id when this backend started it."""

    @property
    def port(self) -> int | None:
        """The server's port on 127.0.0.1 when this backend started it."""

    @property
    def alive(self) -> bool:
        """Whether the server can still take runs."""

    @property
    def returncode(self) -> int | None:
        """The exit status of a started server that has exited."""

    async def start(self, timeout: float) -> None:
        """Make the server ready (or raise :class:`RunnerError`)."""

    async def health(self) -> dict[str, Any]:
        """Return ``/health-check``'s body, or ``{}``."""

    async def stop(self, *, graceful: bool = True) -> None:
        """Let go of the server (a started one is stopped)."""

    async def cancel(self, prediction_id: str) -> None:
        """Ask the server to cancel a prediction; unknown or finished ids are fine."""


class ModelRunner:
    """Runs one model version in one mode through its own coglet process.

    Parameters
    ----------
    model
        The version to run (its ``weights`` are passed to ``setup``).
    mode
        ``"predict"`` runs ``run()``/``predict()``; ``"train"`` runs ``train()``.
    idle_timeout
        Seconds without work after which the process is stopped.
    setup_timeout
        Seconds to wait for ``setup()`` before giving up.
    records
        Where the backend records its process groups (see
        :mod:`replicate_widgets.server._cog.group_records`), if anywhere.
    gpu
        The ``CUDA_VISIBLE_DEVICES`` value of this runner's process, ``None``
        to leave the backend's own.
    upload_url
        Where coglet uploads output files, so they keep their names; used only
        when the output is one file (see
        :mod:`replicate_widgets.server._storage.files_store`).
    """

    crash_message = CRASH_MESSAGE
    """How a run that lost its server ends (``{detail}`` says how)."""

    def __init__(
        self,
        model: LocalModel,
        mode: Mode = "predict",
        *,
        idle_timeout: float = 600.0,
        setup_timeout: float = 300.0,
        records: GroupRecords | None = None,
        gpu: str | None = None,
        upload_url: str | None = None,
    ) -> None:
        if mode not in ("predict", "train"):
            raise ValueError(f"mode must be 'predict' or 'train', not {mode!r}")
        if mode == "train" and not model.has_train:
            raise RunnerError(
                f"{model.full_name} cannot be trained: its code defines no "
                "train() (add one, or name it in cog.yaml as train: 'file.py:train')"
            )
        self.model = model
        self.mode: Mode = mode
        self.idle_timeout = idle_timeout
        self.setup_timeout = setup_timeout
        self._records = records
        self.gpu = gpu
        output = "TrainingOutput" if mode == "train" else "Output"
        self.upload_url = (
            upload_url if uploads_keep_order(model.openapi_schema, output) else None
        )
        self.keep_warm = False
        """Never stop the process for idleness (a deployment's min_instances)."""
        self.streams = True
        """Whether the server answers runs as SSE streams (coglet does, with
        the schema this backend writes; another server may answer 406)."""
        self._process: ModelServer | None = None
        self._start_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(model.concurrency)
        self._busy = 0
        self._idle_task: asyncio.Task[None] | None = None
        self.cancel_grace = 3.0
        """Seconds a canceled prediction may keep running before its process is
        killed (coglet itself stops ordinary Python code within about 0.1 s)."""
        self._cancelled: dict[str, asyncio.Event] = {}
        # Predictions inside coglet now, and those whose process was killed to
        # honour a cancel that the model's code did not notice.
        self._in_process: set[str] = set()
        self._killed_for_cancel: set[str] = set()
        self._watchdogs: set[asyncio.Task[None]] = set()
        self._to_prune: list[Path] = []
        self._prune_timer: asyncio.TimerHandle | None = None
        self._last_prune_request = 0.0
        self._pruning: set[asyncio.Future[None]] = set()
        self._closed = False
        input_name = "TrainingInput" if mode == "train" else "Input"
        self._secrets = SecretMask(model.openapi_schema, input_name)

    # ------------------------------------------------------------- properties
    @property
    def pid(self) -> int | None:
        """The coglet parent's pid (its process group id), if running."""
        return self._process.pid if self._process and self._process.alive else None

    @property
    def port(self) -> int | None:
        """The 127.0.0.1 port coglet listens on, if running."""
        return self._process.port if self._process and self._process.alive else None

    @property
    def state(self) -> Literal["stopped", "running", "busy", "closed"]:
        """``stopped`` (no process), ``running`` (idle), ``busy`` or ``closed``."""
        if self._closed:
            return "closed"
        if self._process is None or not self._process.alive:
            return "stopped"
        return "busy" if self._busy else "running"

    # ---------------------------------------------------------------- process
    def _new_process(self) -> ModelServer:
        return CogletProcess(
            self.model,
            self.mode,
            records=self._records,
            gpu=self.gpu,
            upload_url=self.upload_url,
        )

    async def start(self) -> None:
        """Start the process now rather than at the first run.

        Raises
        ------
        RunnerError
            As :meth:`run` would.
        """
        self._touch()
        await self._ensure_started()
        self._schedule_idle_stop()

    async def _ensure_started(self) -> ModelServer:
        async with self._start_lock:
            if self._closed:
                raise RunnerError(f"the runner for {self.model.full_name} is closed")
            process = self._process
            if process is not None and process.alive:
                return process
            if process is not None:
                await process.stop(graceful=False)
                self._process = None
            process = self._new_process()
            try:
                await process.start(self.setup_timeout)
            except BaseException:
                await process.stop(graceful=False)
                raise
            self._process = process
            return process

    async def _restart_after_crash(self, process: ModelServer) -> None:
        async with self._start_lock:
            if self._process is process:
                self._process = None
        await process.stop(graceful=False)

    def _touch(self) -> None:
        if self._idle_task is not None:
            self._idle_task.cancel()
            self._idle_task = None

    def start_idle_timer(self) -> None:
        """Stop the process after ``idle_timeout`` unless work arrives first."""
        self._schedule_idle_stop()

    def _schedule_idle_stop(self) -> None:
        if (
            self._busy == 0
            and not self._closed
            and not self.keep_warm
            and self._process is not None
        ):
            self._touch()
            self._idle_task = asyncio.get_running_loop().create_task(self._idle_stop())

    async def _idle_stop(self) -> None:
        await asyncio.sleep(self.idle_timeout)
        await self._stop_unless_busy()

    async def stop_if_idle(self) -> None:
        """Stop the process now unless a run uses it (or it is kept warm)."""
        self._touch()
        await self._stop_unless_busy()

    async def _stop_unless_busy(self) -> None:
        async with self._start_lock:
            # Holding the lock: a run arriving now waits, then starts afresh.
            if self._busy or self.keep_warm or self._process is None:
                return
            await self._process.stop()
            self._process = None

    # -------------------------------------------------------------------- run
    async def run(
        self, prediction_id: str, input: dict[str, Any]
    ) -> AsyncIterator[RunnerEvent]:
        """Run one prediction (or training) and yield its events in order.

        Parameters
        ----------
        prediction_id
            A unique id (coglet starts a second prediction for a duplicate id).
        input
            The input; ``None`` values are omitted (coglet rejects explicit
            nulls). Files may be http(s) or data URLs; file outputs come back as
            data URLs.

        Yields
        ------
        RunnerEvent
            ``start``, ``log``, ``notice``, ``output`` and ``metric`` events,
            then exactly one ``completed``.

        Raises
        ------
        RunnerError
            Before any event, if the process cannot start (no coglet on this
            platform, ``setup()`` failed, start-up timed out).
        """
        payload = {k: v for k, v in input.items() if v is not None}
        cancelled = self._cancelled.setdefault(prediction_id, asyncio.Event())
        self._busy += 1
        self._touch()
        try:
            if not await self._acquire_slot(cancelled):
                yield completed_event("canceled")
                return
            holding = True
            try:
                async for event in self._run_in_slot(prediction_id, payload, cancelled):
                    if event.kind == "completed":
                        # The next queued run may start while this one's
                        # result is recorded and its stream is read to its end.
                        holding = False
                        self._slots.release()
                    yield event
            finally:
                if holding:
                    self._slots.release()
        finally:
            self._busy -= 1
            self._cancelled.pop(prediction_id, None)
            self._prune(prediction_id)
            self._schedule_idle_stop()

    def _prune(self, prediction_id: str) -> None:
        """Remove coglet's folder of a finished run once runs pause, off the loop.

        Removing one (three directories) takes 0.1 to 0.2 ms of CPU and, on a
        busy disk, milliseconds of waiting. On the event loop that would delay
        the answer to whoever waits for the run, and in a thread while runs
        follow each other it takes a core from the model and its callers (a
        tenth of the backend's samples in a profile of one client's
        back-to-back runs). So folders are gathered until no run has ended for
        :data:`_PRUNE_DELAY` seconds, or :data:`_PRUNE_MAX` are waiting, and
        removed in one thread job. The cap keeps a job about as large as under
        the one-second timer this replaced with 50 clients (200 runs a
        second): a larger one takes the CPU from a burst's runs all at once.
        """
        self._to_prune.append(COGLET_PREDICTIONS / prediction_id)
        loop = asyncio.get_running_loop()
        self._last_prune_request = loop.time()
        if len(self._to_prune) >= _PRUNE_MAX:
            if self._prune_timer is not None:
                self._prune_timer.cancel()
            self._prune_gathered()
        elif self._prune_timer is None:
            self._prune_timer = loop.call_later(_PRUNE_DELAY, self._prune_when_quiet)

    def _prune_when_quiet(self) -> None:
        # Re-armed rather than reset at every run: a timer per run would cost
        # more than the folders it defers.
        loop = asyncio.get_running_loop()
        quiet_at = self._last_prune_request + _PRUNE_DELAY
        if quiet_at > loop.time():
            self._prune_timer = loop.call_at(
                max(quiet_at, loop.time() + 0.1), self._prune_when_quiet
            )
            return
        self._prune_gathered()

    def _prune_gathered(self) -> None:
        self._prune_timer = None
        batch, self._to_prune = self._to_prune, []
        if not batch:
            return
        try:
            job = asyncio.get_running_loop().run_in_executor(None, _remove_trees, batch)
        except RuntimeError:  # the loop is shutting down its threads
            _remove_trees(batch)
            return
        self._pruning.add(job)
        job.add_done_callback(self._pruning.discard)

    async def _acquire_slot(self, cancelled: asyncio.Event) -> bool:
        """Wait for a local slot; return False if cancelled while queued."""
        if cancelled.is_set():
            return False
        if not self._slots.locked():
            # A free slot is taken at once, without two tasks to race.
            await self._slots.acquire()
            return True
        acquire = asyncio.ensure_future(self._slots.acquire())
        cancel = asyncio.ensure_future(cancelled.wait())
        try:
            await asyncio.wait({acquire, cancel}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            # The run itself was cancelled: give back a slot acquired meanwhile.
            if acquire.done() and not acquire.cancelled():
                self._slots.release()
            raise
        finally:
            cancel.cancel()
            if not acquire.done():
                acquire.cancel()
        if acquire.done() and not acquire.cancelled():
            if cancelled.is_set():
                self._slots.release()
                return False
            return True
        return False

    async def _run_in_slot(
        self, prediction_id: str, payload: dict[str, Any], cancelled: asyncio.Event
    ) -> AsyncIterator[RunnerEvent]:
        process = await self._ensure_started()
        logs: list[str] = []
        outputs: list[Any] = []
        self._in_process.add(prediction_id)
        try:
            # Closed here, not whenever it is collected: closing reads the
            # stream to its end, which keeps coglet's connection for the next run.
            stream = self._stream(process, prediction_id, payload, cancelled)
            async with contextlib.aclosing(stream):
                async for event in stream:
                    if event.kind == "log":
                        logs.append(str(event.data.get("data", "")))
                    elif event.kind == "output":
                        outputs.append(event.data.get("chunk"))
                    elif event.kind == "completed" and str(
                        event.data.get("error") or ""
                    ).startswith("The model's process crashed"):
                        # Before yielding: the caller may stop iterating after it.
                        await self._restart_after_crash(process)
                        if prediction_id in self._killed_for_cancel:
                            event = completed_event(
                                "canceled", output=outputs or None, logs="".join(logs)
                            )
                    yield event
                    if event.kind == "completed":
                        return
        except (_Crashed, httpx.TransportError, httpx_sse.SSEError) as exc:
            detail = str(exc) or type(exc).__name__
            if isinstance(exc, httpx.TransportError) and not process.alive:
                detail = f"exit status {process.returncode}"
            await self._restart_after_crash(process)
            if prediction_id in self._killed_for_cancel:
                yield completed_event(
                    "canceled", output=outputs or None, logs="".join(logs)
                )
            else:
                yield completed_event(
                    "failed",
                    output=outputs or None,
                    error=self.crash_message.format(detail=detail),
                    logs="".join(logs),
                )
        finally:
            self._in_process.discard(prediction_id)
            self._killed_for_cancel.discard(prediction_id)

    async def _stream(
        self,
        process: ModelServer,
        prediction_id: str,
        payload: dict[str, Any],
        cancelled: asyncio.Event,
    ) -> AsyncGenerator[RunnerEvent, None]:
        body = {"id": prediction_id, "input": payload}
        headers = {"Accept": "text/event-stream"}
        url = f"/predictions/{prediction_id}"
        delay, waited, told = 0.001, 0.0, False
        while True:
            if cancelled.is_set():
                yield completed_event("canceled")
                return
            if self.streams and isinstance(process, CogletProcess):
                # The hot path: coglet on loopback, through the lean client.
                answer = await process.streams.request("PUT", url, body, headers)
                try:
                    if answer.status_code == 200 and answer.is_sse:
                        relay = self._relay(
                            self._events(answer.events()),
                            True,
                            process,
                            prediction_id,
                            cancelled,
                        )
                        async with contextlib.aclosing(relay):
                            async for event in relay:
                                yield event
                        return
                    response = httpx.Response(
                        answer.status_code,
                        headers=answer.headers,
                        content=await answer.aread(),
                    )
                finally:
                    answer.close()
            elif self.streams:
                async with httpx_sse.aconnect_sse(
                    process.client, "PUT", url, json=body, headers=headers
                ) as source:
                    response = source.response
                    if response.status_code == 200 and _is_sse(response):
                        relay = self._relay(
                            self._events(source.aiter_sse()),
                            _ack_promptly(response),
                            process,
                            prediction_id,
                            cancelled,
                        )
                        async with contextlib.aclosing(relay):
                            async for event in relay:
                                yield event
                        return
                    await response.aread()
            else:
                # One blocking PUT whose answer is the final prediction.
                response = await process.client.put(url, json=body)
            if response.status_code == 200:
                # A server that ignores Accept answers with the result itself.
                answer = response_json(response)
                if not isinstance(answer, dict):
                    raise _Crashed(f"the server answered {str(answer)[:200]!r}")
                yield completion_from(answer)
                return
            if response.status_code == 406 and self.streams:
                # The model does not stream (no x-cog-streaming): run blocking.
                self.streams = False
                continue
            if response.status_code == 409:
                # The slot frees a moment after the previous completion; an
                # unhealthy coglet answers 409 forever, so look after a while.
                waited += delay
                if waited > 2.0:
                    if (await process.health()).get("status") in _UNHEALTHY:
                        raise _Crashed("the worker is unhealthy")
                    if not told:
                        told = True
                        yield RunnerEvent("notice", {"data": BUSY_NOTICE})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.1)
                continue
            if response.status_code == 422:
                message = validation_message(
                    response_json(response),
                    lambda path: self._secrets.hides(payload, path),
                )
                yield completed_event("failed", error=message)
                return
            raise _Crashed(
                f"the model server answered HTTP {response.status_code}: "
                f"{response.text[:200]}"
            )

    async def _relay(
        self,
        events: AsyncIterator[RunnerEvent],
        reuse: bool,
        process: ModelServer,
        prediction_id: str,
        cancelled: asyncio.Event,
    ) -> AsyncGenerator[RunnerEvent, None]:
        """Yield a run's events up to ``completed``; then read the stream's end.

        Read to its end, the connection is kept for the next run (``reuse``).
        """
        async for event in events:
            if event.kind == "start" and cancelled.is_set():
                # cancel() came before coglet knew the id (404 then).
                await process.cancel(prediction_id)
            if event.kind == "completed":
                try:
                    yield event
                finally:
                    if reuse:
                        await _read_to_end(events)
                return
            yield event
        raise _Crashed("the event stream ended without a result")

    async def _events(
        self, source: AsyncIterator[httpx_sse.ServerSentEvent]
    ) -> AsyncIterator[RunnerEvent]:
        async for sse in source:
            event = event_from_sse(sse)
            if event is not None:
                yield event

    # ----------------------------------------------------------------- cancel
    async def cancel(self, prediction_id: str) -> bool:
        """Cancel a queued or running prediction.

        Returns
        -------
        bool
            ``True`` if it was queued or running here, ``False`` if unknown.
        """
        cancelled = self._cancelled.get(prediction_id)
        if cancelled is None:
            return False
        cancelled.set()
        process = self._process
        if process is not None and process.alive:
            await process.cancel(prediction_id)
            if prediction_id in self._in_process:
                task = asyncio.get_running_loop().create_task(
                    self._enforce_cancel(prediction_id, process)
                )
                self._watchdogs.add(task)
                task.add_done_callback(self._watchdogs.discard)
        return True

    async def _enforce_cancel(self, prediction_id: str, process: ModelServer) -> None:
        """Stop the model's code if coglet's cancel did not (a long C call).

        coglet cancels by raising in the model's Python code, which cannot happen
        while that code sits in one blocking call (``time.sleep(60)``, a native
        library). After a grace period the process group is killed, as a crash
        would be, and the prediction ends as canceled; the next prediction starts
        a fresh process. Other predictions sharing the process (a concurrent
        model) are never killed for this: then coglet's own cancel must do.
        """
        await asyncio.sleep(self.cancel_grace)
        if prediction_id in self._in_process and self._in_process == {prediction_id}:
            self._killed_for_cancel.add(prediction_id)
            await self._restart_after_crash(process)

    async def close(self) -> None:
        """Stop the process (``/shutdown``, then SIGTERM, then SIGKILL the group)."""
        self._closed = True
        self._touch()
        async with self._start_lock:
            process, self._process = self._process, None
        if process is not None:
            await process.stop()
        # Every finished run's folder is gone once the runner is closed.
        if self._prune_timer is not None:
            self._prune_timer.cancel()
            self._prune_gathered()
        await asyncio.gather(*self._pruning)
