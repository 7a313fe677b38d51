"""Start, watch and stop one coglet process (``python -m cog.server.http``).

What this absorbs (measured; see ``docs/rationale.md``):

- coglet spawns its worker as a bare ``python`` from ``PATH``, which may be a
  different interpreter or missing; a shim script that execs
  ``sys.executable`` goes first on ``PATH`` (a symlink would lose the venv).
- coglet listens on 0.0.0.0 by default: always ``--host 127.0.0.1``.
- a busy worker survives the death of its parent, so coglet starts in its own
  session and is stopped with ``killpg``.
- ``@cog.concurrent(max=N)`` alone gives one slot; only ``COG_MAX_CONCURRENCY``
  counts.
- ``setup(weights)`` gets its weights from ``COG_WEIGHTS``.
- setup failures show only in coglet's own output, kept in a log file here.

The group never outlives the backend (see ``docs/processes.md``): coglet runs
under :mod:`.lifeline`, which kills the group when the pipe this process holds
closes, however the backend ends (``kill -9`` included); a group that cannot
react is recorded in :class:`~.group_records.GroupRecords` and killed by the
next backend started on the same data dir. ``close()`` and interpreter exit
stop the groups at once rather than waiting for either.

``subprocess.Popen`` rather than asyncio subprocesses, so the process is not
tied to one event loop and no child watcher is needed in a non-main thread.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import mimetypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

from .async_stream import cancel_marker, live_stream_ref
from .cog_yaml import model_environment
from .coglet_stream import StreamClient
from .group_records import (
    OWNER_ENV,
    TMP_PREFIX,
    GroupRecords,
)
from .models import (
    PLATFORM_MESSAGE,
    LocalModel,
    coglet_available,
    runtime_directory,
)

__all__ = ["CogletProcess", "RunnerError"]

_POLL = 0.05
_LIFELINE = Path(__file__).with_name("lifeline.py")
# Processes still running, by group id: killed at interpreter exit if nobody
# closed them (a kernel shut down without closing the server).
_LIVE: dict[int, CogletProcess] = {}


@atexit.register
def _kill_leftovers() -> None:
    for process in list(_LIVE.values()):
        process.kill_now()


def _forget_in_forked_child() -> None:
    # A child forked without exec (multiprocessing's "fork") would hold every
    # lifeline open and keep the groups alive after the backend died, and its
    # own exit would kill them: it owns none of them.
    for process in _LIVE.values():
        process.release_lifeline()
    _LIVE.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_forked_child)


class RunnerError(Exception):
    """A model process cannot run: setup failed, it would not start, or no coglet."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _materialise_weights(weights: str, directory: Path) -> str:
    """Turn data-URL weights into a file; pass paths and http(s) URLs through.

    cog hands ``COG_WEIGHTS`` to ``setup(weights)`` as a string; a data URL of a
    large file would not fit in the environment, and models expect a path.
    """
    if not weights.startswith("data:"):
        return weights
    header, _, payload = weights.partition(",")
    mime = header[5:].split(";")[0] or "application/octet-stream"
    data = (
        base64.b64decode(payload)
        if header.endswith(";base64")
        else urllib.parse.unquote_to_bytes(payload)
    )
    path = directory / f"weights{mimetypes.guess_extension(mime) or '.bin'}"
    path.write_bytes(data)
    return str(path)


class CogletProcess:
    """One running coglet for one (model version, mode).

    Parameters
    ----------
    model
        The version to serve.
    mode
        ``"predict"`` or ``"train"`` (coglet's ``--x-mode``).
    records
        Where the backend records its process groups, if anywhere.
    gpu
        ``CUDA_VISIBLE_DEVICES`` for the process (one instance, one GPU);
        ``None`` keeps the backend's own.
    upload_url
        Where coglet uploads output files (``--upload-url``), keeping the
        model's file names; ``None``: it sends them as ``data:`` URLs.
    """

    def __init__(
        self,
        model: LocalModel,
        mode: str,
        *,
        records: GroupRecords | None = None,
        gpu: str | None = None,
        upload_url: str | None = None,
    ) -> None:
        if not coglet_available():
            raise RunnerError(PLATFORM_MESSAGE)
        self.model = model
        self.mode = mode
        self.gpu = gpu
        self.port = _free_port()
        self._records = records
        self.upload_url = upload_url
        self._tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
        self.log_path = self._tmp / "coglet.log"
        self._popen: subprocess.Popen[bytes] | None = None
        self._lifeline: int | None = None
        self.client = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.port}",
            timeout=httpx.Timeout(30.0, read=None),
            # The process lives on loopback; never route it through a proxy.
            trust_env=False,
            # Plain HTTP to 127.0.0.1: no TLS, so no certificate store to load
            # (50 ms or more at each process start).
            verify=False,  # noqa: S501 (no TLS on this connection)
        )
        self.streams = StreamClient(self.port)
        """Runs go through this lean client (:mod:`.coglet_stream`)."""

    # ------------------------------------------------------------- properties
    @property
    def pid(self) -> int | None:
        """The coglet parent's process id (also its process group id)."""
        return self._popen.pid if self._popen is not None else None

    @property
    def alive(self) -> bool:
        """Whether the coglet parent process is still running."""
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit status once the parent has exited, else ``None``."""
        return self._popen.poll() if self._popen is not None else None

    def log_tail(self, lines: int = 25) -> str:
        """Return the last lines coglet (and setup code) wrote."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    # ------------------------------------------------------------------ start
    def _environment(self) -> dict[str, str]:
        shim_dir = self._tmp / "bin"
        shim_dir.mkdir(exist_ok=True)
        shim = shim_dir / "python"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
        # cog.yaml's environment: first; it may not name the variables set below.
        env = model_environment(self.model.environment)
        env["PATH"] = os.pathsep.join((str(shim_dir), env.get("PATH", "")))
        env["PORT"] = str(self.port)
        env["COG_MAX_CONCURRENCY"] = str(self.model.concurrency)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(self.model.directory), env.get("PYTHONPATH", "")) if p
        )
        if self.gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = self.gpu
        env.pop("COG_WEIGHTS", None)
        env.pop(OWNER_ENV, None)  # inherited from an outer backend: not its group
        if self._records is not None:
            env[OWNER_ENV] = self._records.owner
        if self.model.weights:
            env["COG_WEIGHTS"] = _materialise_weights(self.model.weights, self._tmp)
        ref = self.model.train_ref if self.mode == "train" else self.model.predict_ref
        if ref is None:
            raise RunnerError(f"{self.model.full_name} has no {self.mode} function")
        stub = str(self.model.directory / ref)  # absolute: train runs in .cog/train
        if self.mode == "predict":
            stub = live_stream_ref(self.model, self._tmp) or stub
        key = "COG_TRAIN_TYPE_STUB" if self.mode == "train" else "COG_PREDICT_TYPE_STUB"
        env[key] = stub
        return env

    async def start(self, timeout: float) -> None:
        """Spawn coglet and wait until its health check says READY.

        Raises
        ------
        RunnerError
            If setup failed (with coglet's setup logs), the process exited, or
            it was not ready within ``timeout`` seconds.
        """
        cwd = runtime_directory(self.model, self.mode)
        env = self._environment()
        # The write end stays here (not inheritable, so no other child holds
        # it); coglet's side reads the other to its end (see _lifeline).
        watched, self._lifeline = os.pipe()
        cmd = [sys.executable, str(_LIFELINE), str(watched), "cog.server.http"]
        cmd += ["--host", "127.0.0.1"]
        if self.mode == "train":
            cmd += ["--x-mode", "train"]
        if self.upload_url is not None:
            cmd += ["--upload-url", self.upload_url]
        try:
            with self.log_path.open("ab") as log:
                self._popen = subprocess.Popen(
                    cmd,
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    pass_fds=(watched,),
                )
        finally:
            os.close(watched)
        _LIVE[self._popen.pid] = self
        if self._records is not None:
            self._records.add(self._popen.pid, self._tmp)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if not self.alive:
                raise RunnerError(
                    f"coglet for {self.model.full_name} exited during start-up "
                    f"(status {self._popen.returncode}):\n{self.log_tail()}"
                )
            health = await self.health()
            status = health.get("status")
            if status == "READY":
                return
            if status in ("SETUP_FAILED", "DEFUNCT"):
                setup_logs = (health.get("setup") or {}).get("logs") or ""
                await self.stop()
                raise RunnerError(
                    f"setup() of {self.model.full_name} failed; fix the model and "
                    f"run it again.\n{_useful_setup_lines(setup_logs)}\n"
                    f"{self.log_tail(15)}".rstrip()
                )
            if loop.time() > deadline:
                await self.stop()
                raise RunnerError(
                    f"{self.model.full_name} was not ready after {timeout:.0f} s "
                    f"(last status {status}):\n{self.log_tail()}"
                )
            await asyncio.sleep(_POLL)

    async def cancel(self, prediction_id: str) -> None:
        """Ask coglet to cancel a prediction; unknown or finished ids are fine."""
        marker = cancel_marker(self._tmp, prediction_id)
        if marker is not None:
            # coglet's cancel does not reach a live-stream wrapper with
            # several slots; it watches for this file instead.
            marker.touch()
        with contextlib.suppress(httpx.HTTPError):
            await self.client.post(f"/predictions/{prediction_id}/cancel")

    async def health(self) -> dict[str, Any]:
        """Return coglet's ``/health-check`` body, or ``{}`` if it does not answer."""
        try:
            response = await self.client.get("/health-check", timeout=2.0)
            body = response.json()
        except (httpx.HTTPError, ValueError):
            return {}
        return body if isinstance(body, dict) else {}

    # ------------------------------------------------------------------- stop
    async def stop(self, *, graceful: bool = True) -> None:
        """Stop coglet: ``POST /shutdown``, then SIGTERM, then SIGKILL the group."""
        popen = self._popen
        try:
            if popen is not None and popen.poll() is None:
                if graceful:
                    with contextlib.suppress(httpx.HTTPError):
                        await self.client.post("/shutdown", timeout=2.0)
                    await self._wait(popen, 2.0)
                if popen.poll() is None:
                    self._signal_group(popen.pid, signal.SIGTERM)
                    await self._wait(popen, 2.0)
        finally:
            # Also when the await above is cancelled: nothing may outlive us, and
            # a busy worker shares the group and can outlive its parent.
            self.kill_now()
            if popen is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    popen.wait(timeout=5)
            await self.client.aclose()
            await self.streams.aclose()

    def kill_now(self) -> None:
        """SIGKILL the whole group and forget it; safe to call more than once."""
        popen = self._popen
        # Once only: after the leader is reaped its group id may be reused.
        if popen is not None and _LIVE.pop(popen.pid, None) is self:
            self._signal_group(popen.pid, signal.SIGKILL)
            if self._records is not None:
                self._records.discard(popen.pid)
        self.release_lifeline()
        _remove_tree(self._tmp)

    def release_lifeline(self) -> None:
        """Close this process's end of the lifeline (the group then dies)."""
        if self._lifeline is not None:
            with contextlib.suppress(OSError):
                os.close(self._lifeline)
            self._lifeline = None

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    @staticmethod
    async def _wait(popen: subprocess.Popen[bytes], seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while popen.poll() is None and loop.time() < deadline:
            await asyncio.sleep(_POLL)


def _useful_setup_lines(logs: str) -> str:
    # coglet's setup log starts with its own banner; the user's lines matter.
    lines = [ln for ln in logs.splitlines() if not ln.startswith("[coglet")]
    failed = [ln for ln in logs.splitlines() if "failed" in ln.lower()]
    return "\n".join(lines[-10:] or failed[-3:])


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
