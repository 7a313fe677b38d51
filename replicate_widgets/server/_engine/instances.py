"""Instances: a model version served by several processes at once.

A Replicate deployment runs on instances, each a copy of the model's container;
here an instance is one :class:`~.runner.ModelRunner` (one coglet process
group). :class:`Instances` holds a version's instances and hands each run to
one with a free slot, queueing runs in arrival order when every slot is taken,
so coglet's 409 at capacity is never the answer a queued run waits on. Cancel
goes to the instance running (or withdraws the run still queued here).

Scaling follows the deployment rules: ``warm`` instances (``min_instances``)
start at once and are never stopped for idleness; the others start only when
a run finds every running instance's slots taken (queued work), and each stops
on its own after the idle timeout. A crash restarts only the instance that
crashed, at its next run (a warm one at once).

Each instance gets its own ``CUDA_VISIBLE_DEVICES`` slot when the machine has
GPUs (:func:`gpu_slots`), so N instances on an N-GPU box use every GPU.

:class:`RunnerPool` keeps one :class:`Instances` per (version, mode), plus one
per deployment, whose bounds :meth:`RunnerPool.configure_deployment` sets.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Literal, cast

from replicate_widgets.server._catalog.remote import RemoteModel, RemoteRunner
from replicate_widgets.server._cog.group_records import GroupRecords
from replicate_widgets.server._cog.models import LocalModel

from .runner import Mode, ModelRunner
from .runner_events import RunnerEvent, completed_event

__all__ = ["Instances", "RunnerPool", "detect_gpus", "gpu_slots", "parse_nvidia_smi"]

log = logging.getLogger(__name__)

_GPU_LINE = re.compile(r"^GPU (\d+):", re.MULTILINE)


def parse_nvidia_smi(listing: str) -> list[str]:
    """Return the GPU indices ``nvidia-smi -L`` lists (``GPU 0: ... (UUID: ...)``)."""
    return _GPU_LINE.findall(listing)


def detect_gpus(
    environ: Mapping[str, str] | None = None,
    run: Callable[[list[str]], str] | None = None,
) -> list[str]:
    """Return the GPUs instances may be given, as ``CUDA_VISIBLE_DEVICES`` ids.

    ``CUDA_VISIBLE_DEVICES``, when set, is the answer: the user chose those
    (empty or ``-1`` hides every GPU; CUDA ignores ids after an invalid one, so
    ``-1`` ends the list). Otherwise ``nvidia-smi -L`` lists them, if it is
    installed; without it there are none. Cheap: no CUDA library is loaded.

    Parameters
    ----------
    environ
        The environment to read (``os.environ`` by default).
    run
        Runs a command and returns its output (for tests); raises ``OSError``
        or ``subprocess.SubprocessError`` when it cannot.
    """
    environ = os.environ if environ is None else environ
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids: list[str] = []
        for part in (p.strip() for p in visible.split(",")):
            if not part or part.startswith("-"):
                break
            ids.append(part)
        return ids
    if run is None:
        if shutil.which("nvidia-smi") is None:
            return []
        run = _run
    try:
        return parse_nvidia_smi(run(["nvidia-smi", "-L"]))
    except (OSError, subprocess.SubprocessError):
        return []


def _run(cmd: list[str]) -> str:
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=10, check=True
    ).stdout


def gpu_slots(count: int, gpus: list[str]) -> list[str | None]:
    """Give each of ``count`` instances its ``CUDA_VISIBLE_DEVICES`` value.

    Instance ``i`` gets GPU ``gpus[i % len(gpus)]``: one instance per GPU while
    there are enough GPUs, then round again (two instances share a GPU only
    when there are more instances than GPUs). Without GPUs every slot is
    ``None``: the process keeps the backend's environment.
    """
    if not gpus:
        return [None] * count
    return [gpus[i % len(gpus)] for i in range(count)]


class Instances:
    """The processes serving one version in one mode, and the queue before them.

    Parameters
    ----------
    model, mode
        What runs.
    make_runner
        Builds instance ``i``'s runner (not started).
    count
        How many instances at most (``max_instances``).
    warm
        How many of them are kept running (``min_instances``).
    """

    def __init__(
        self,
        model: LocalModel,
        mode: Mode,
        make_runner: Callable[[int], ModelRunner],
        *,
        count: int = 1,
        warm: int = 0,
    ) -> None:
        self.model = model
        self.mode: Mode = mode
        self._make_runner = make_runner
        self.runners: list[ModelRunner] = []
        self._claims: dict[ModelRunner, int] = {}
        self._retiring: set[ModelRunner] = set()
        self._waiters: collections.deque[asyncio.Future[ModelRunner]] = (
            collections.deque()
        )
        self._queued: dict[str, asyncio.Event] = {}
        self._where: dict[str, ModelRunner] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.prestarted = False
        """Whether the process runs because of :meth:`prestart`, no run having come."""
        self.warm = 0
        self.resize(count, warm)

    # ------------------------------------------------------------- properties
    @property
    def capacity(self) -> int:
        """Runs that can be inside processes at once (slots times instances)."""
        return max(1, self.model.concurrency) * len(self.runners)

    @property
    def pids(self) -> list[int]:
        """The process ids of the running instances."""
        return [r.pid for r in self.runners if r.pid is not None]

    @property
    def pid(self) -> int | None:
        """The first running instance's process id, if any."""
        pids = self.pids
        return pids[0] if pids else None

    @property
    def state(self) -> Literal["stopped", "running", "busy", "closed"]:
        """``closed``, ``busy`` (any instance busy), ``running`` or ``stopped``."""
        if self._closed:
            return "closed"
        states = {r.state for r in self.runners}
        for state in ("busy", "running"):
            if state in states:
                return state
        return "stopped"

    # ---------------------------------------------------------------- scaling
    def resize(self, count: int, warm: int) -> None:
        """Serve with at most ``count`` instances, ``warm`` of them always on.

        Extra instances are retired: they take no new runs and stop once their
        runs end. Warm instances start in the background.
        """
        count = max(1, count)
        warm = max(0, min(warm, count))
        while len(self.runners) < count:
            runner = self._make_runner(len(self.runners))
            self.runners.append(runner)
            self._claims[runner] = 0
        for runner in self.runners[count:]:
            self._retiring.add(runner)
            runner.keep_warm = False
            self._retire_if_idle(runner)
        del self.runners[count:]
        self.warm = warm
        for index, runner in enumerate(self.runners):
            was_warm, runner.keep_warm = runner.keep_warm, index < warm
            if was_warm and not runner.keep_warm:
                runner.start_idle_timer()
        self._keep_warm()
        self._wake()

    def _keep_warm(self) -> None:
        if self._closed:
            return
        for runner in self.runners[: self.warm]:
            if runner.state == "stopped" and self._claims[runner] == 0:
                self._spawn(self._warm_up(runner))

    async def _warm_up(self, runner: ModelRunner) -> None:
        try:
            await runner.start()
        except Exception as exc:  # logged: a warm start has no caller to tell
            log.warning(
                "could not start an instance of %s: %s", self.model.full_name, exc
            )

    @property
    def prestartable(self) -> bool:
        """Whether :meth:`prestart` would start a process: none runs or starts."""
        return (
            not self._closed
            and bool(self.runners)
            and self.state == "stopped"
            and not any(self._claims.values())
            and not self._tasks
        )

    async def prestart(self) -> None:
        """Start the first instance now if none runs or starts.

        For a model someone is about to run (its form was opened): the process
        starts while they fill it in, and stops after the idle timeout if no
        run comes (or at :meth:`drop_prestart`). A failure is only logged here;
        the run that follows starts the process again and reports the error to
        its caller.
        """
        if not self.prestartable:
            return
        self.prestarted = True
        try:
            await self.runners[0].start()
        except Exception as exc:
            # Not a warning: no one asked for this start, and the first run
            # starts the process again and gives its caller the error.
            log.info("prestarting %s failed: %s", self.model.full_name, exc)

    async def drop_prestart(self) -> None:
        """Stop the process :meth:`prestart` started, unless a run has come to it."""
        if not self.prestarted:
            return
        self.prestarted = False
        if self.runners and not any(self._claims.values()) and not self._waiters:
            await self.runners[0].stop_if_idle()

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _retire_if_idle(self, runner: ModelRunner) -> None:
        if runner in self._retiring and self._claims.get(runner, 0) == 0:
            self._retiring.discard(runner)
            self._claims.pop(runner, None)
            self._spawn(runner.close())

    # ------------------------------------------------------------- dispatch
    def _free_runner(self) -> ModelRunner | None:
        """Pick the instance the next run goes to; ``None`` when all are full.

        A running instance with a free slot comes first; a stopped one is
        started only when none has (queued work scales up).
        """
        slots = max(1, self.model.concurrency)
        free = [r for r in self.runners if self._claims[r] < slots]
        if not free:
            return None
        started = [r for r in free if self._claims[r] or r.state != "stopped"]
        return (started or free)[0]

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters[0]
            if waiter.done():
                self._waiters.popleft()
                continue
            runner = self._free_runner()
            if runner is None:
                return
            self._waiters.popleft()
            self._claims[runner] += 1
            waiter.set_result(runner)

    async def _claim(self, cancelled: asyncio.Event) -> ModelRunner | None:
        """Wait for an instance with a free slot; ``None`` if cancelled first."""
        if self._closed:
            return None
        runner = self._free_runner() if not self._waiters else None
        if runner is not None:
            self._claims[runner] += 1
            return runner
        waiter: asyncio.Future[ModelRunner] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        cancel: asyncio.Future[Any] = asyncio.ensure_future(cancelled.wait())
        try:
            await asyncio.wait(
                {cast("asyncio.Future[Any]", waiter), cancel},
                return_when=asyncio.FIRST_COMPLETED,
            )
        except BaseException:
            # The run itself was cancelled: give back an instance given meanwhile.
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())
            waiter.cancel()
            raise
        finally:
            cancel.cancel()
        if waiter.done() and not waiter.cancelled():
            if cancelled.is_set():
                self._release(waiter.result())
                return None
            return waiter.result()
        waiter.cancel()
        return None

    def _release(self, runner: ModelRunner) -> None:
        if runner in self._claims:
            self._claims[runner] -= 1
        self._retire_if_idle(runner)
        self._wake()

    async def run(
        self, prediction_id: str, input: dict[str, Any]
    ) -> AsyncIterator[RunnerEvent]:
        """Run on the first instance with a free slot; see :meth:`ModelRunner.run`."""
        self.prestarted = False  # in use: only the idle timeout stops it now
        cancelled = self._queued.setdefault(prediction_id, asyncio.Event())
        try:
            runner = await self._claim(cancelled)
        finally:
            self._queued.pop(prediction_id, None)
        if runner is None:
            yield completed_event("canceled")
            return
        self._where[prediction_id] = runner
        claimed = True
        try:
            async for event in runner.run(prediction_id, input):
                if event.kind == "completed":
                    # Its slot is free: the next queued run is handed over now.
                    self._where.pop(prediction_id, None)
                    claimed = False
                    self._release(runner)
                yield event
        finally:
            self._where.pop(prediction_id, None)
            if claimed:
                self._release(runner)
            self._keep_warm()  # a warm instance that crashed comes back now

    async def cancel(self, prediction_id: str) -> bool:
        """Cancel a queued or running prediction (``False`` if unknown here)."""
        runner = self._where.get(prediction_id)
        if runner is not None:
            return await runner.cancel(prediction_id)
        queued = self._queued.get(prediction_id)
        if queued is None:
            return False
        queued.set()
        return True

    async def close(self) -> None:
        """Stop every instance (runs inside them end as failed or canceled)."""
        self._closed = True
        for waiter in self._waiters:
            waiter.cancel()
        self._waiters.clear()
        for task in list(self._tasks):
            task.cancel()
        runners = self.runners + list(self._retiring)
        await asyncio.gather(*(r.close() for r in runners), return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def retire(self) -> None:
        """Close once the runs queued or in flight have ended.

        For a deployment's release that moved to another version: its
        predictions made before the change still run here.
        """
        while self._waiters or any(self._claims.values()):
            await asyncio.sleep(0.1)
        await self.close()


class RunnerPool:
    """The :class:`Instances` of every version and deployment, made on first use.

    Parameters
    ----------
    idle_timeout, records, upload_url
        Passed to each runner.
    instances
        How many processes each version may run on (``--instances``).
    gpus
        The GPUs to spread instances over; ``None`` detects them
        (:func:`detect_gpus`).
    """

    def __init__(
        self,
        *,
        idle_timeout: float = 600.0,
        records: GroupRecords | None = None,
        instances: int = 1,
        gpus: list[str] | None = None,
        upload_url: str | None = None,
    ) -> None:
        if instances < 1:
            raise ValueError(
                f"instances must be 1 or more (processes per model), not {instances}"
            )
        self.idle_timeout = idle_timeout
        self.records = records
        self.upload_url = upload_url
        self.instances = instances
        self.gpus = detect_gpus() if gpus is None else list(gpus)
        self._pools: dict[tuple[str, str, str], Instances] = {}
        self._deployments: dict[str, tuple[str, int, int]] = {}
        # Instances of releases left behind, closing once their runs end.
        self._retired: dict[asyncio.Task[None], Instances] = {}

    def _runner_factory(
        self, model: LocalModel, mode: Mode
    ) -> Callable[[int], ModelRunner]:
        def make(index: int) -> ModelRunner:
            if isinstance(model, RemoteModel):
                return RemoteRunner(model, mode, idle_timeout=self.idle_timeout)
            # The slot follows the instance's index: instance i, GPU i.
            gpu = gpu_slots(index + 1, self.gpus)[index]
            return ModelRunner(
                model,
                mode,
                idle_timeout=self.idle_timeout,
                records=self.records,
                gpu=gpu,
                upload_url=self.upload_url,
            )

        return make

    def get(
        self, model: LocalModel, mode: Mode = "predict", *, deployment: str = ""
    ) -> Instances:
        """Return the instances of ``model`` in ``mode`` (of ``deployment``'s own)."""
        bounds = self._deployments.get(deployment) if deployment else None
        if bounds is not None and bounds[0] != model.version_id:
            bounds = None  # a run of a release the deployment has left
        key = (deployment if bounds else "", model.version_id, mode)
        pool = self._pools.get(key)
        if pool is None or pool.state == "closed":
            count, warm = self.instances, 0
            if bounds is not None and mode == "predict":
                count, warm = max(1, bounds[2]), bounds[1]
            if isinstance(model, RemoteModel):
                count, warm = 1, 0  # the server elsewhere scales itself
            pool = Instances(
                model, mode, self._runner_factory(model, mode), count=count, warm=warm
            )
            self._pools[key] = pool
        return pool

    def configure_deployment(
        self,
        name: str,
        model: LocalModel | None,
        min_instances: int = 0,
        max_instances: int = 1,
    ) -> None:
        """Apply a deployment's release: its version and instance bounds.

        ``min_instances`` processes start now and stay up; up to
        ``max_instances`` (at least 1) run its predictions. A release that
        changes the version retires the old version's instances once their
        runs end. ``model`` ``None`` removes the deployment's instances.
        """
        old = self._deployments.pop(name, None)
        if model is not None:
            self._deployments[name] = (model.version_id, min_instances, max_instances)
        for key in [k for k in self._pools if k[0] == name]:
            if model is None or key[1] != model.version_id:
                pool = self._pools.pop(key)
                task = asyncio.get_running_loop().create_task(pool.retire())
                self._retired[task] = pool
                task.add_done_callback(self._retired.pop)
            else:
                warm = min_instances if key[2] == "predict" else 0
                self._pools[key].resize(max(1, max_instances), warm)
        if model is not None and (old is None or min_instances > 0):
            self.get(model, deployment=name)  # starts min_instances now

    async def close(self) -> None:
        """Close every instance and its process."""
        pools, self._pools = list(self._pools.values()), {}
        for task, pool in list(self._retired.items()):
            task.cancel()
            pools.append(pool)
        await asyncio.gather(*(p.close() for p in pools), return_exceptions=True)
