"""Cog models that already run as HTTP servers elsewhere, registered by URL.

``replicate-widgets serve --model NAME=http://HOST:PORT`` (or
``serve(models=["NAME=http://..."])``) serves the Cog server at that URL as
``local/NAME`` (``owner/name=URL`` picks the owner): a Replicate model's
container started with ``docker run -p 5000:5000 r8.im/owner/model@sha256:...``
on a GPU box, ``cog serve``, or coglet. Its schema is the server's
``/openapi.json``; its version id is a hash of the name and that schema, so a
server that changed gives a new version.

Runs go through the same :class:`~replicate_widgets.server._engine.runner.ModelRunner`
code as the coglet processes this backend starts, over the same Cog HTTP API (``PUT
/predictions/{id}`` with an SSE stream, or one blocking ``PUT`` when the model
does not stream, ``POST /predictions/{id}/cancel``, ``GET /health-check``),
minus starting and stopping: the backend never starts, stops or restarts that
server. Before each run it checks ``/health-check``; a server that does not
answer is retried for :data:`CONNECT_WINDOW` seconds, then the run fails with a
message saying what to do. 409 (busy) is waited out as for local processes.

A server that cannot be reached when the backend starts is still listed:
with the version it had in an earlier run if there was one, else with none
(creating a prediction then answers 503 saying why), and
:class:`RemoteModels` keeps trying to reach it in the background.

Input files reach the server as data URLs, or as signed URLs under the
``--public-url`` (the server may be on another host, where this backend's
127.0.0.1 is not this backend); see
:meth:`~replicate_widgets.server._engine.engine.Engine._start`. File outputs come back
as data URLs, as from local processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from replicate_widgets._model_names import is_model_name
from replicate_widgets.server._cog.coglet_process import RunnerError
from replicate_widgets.server._cog.models import LocalModel
from replicate_widgets.server._engine.runner import Mode, ModelRunner, ModelServer

if TYPE_CHECKING:
    from replicate_widgets.server._catalog.registry import Registry
    from replicate_widgets.server._storage.store import Store

__all__ = [
    "CONNECT_WINDOW",
    "RemoteModel",
    "RemoteModels",
    "RemoteRunner",
    "RemoteServer",
    "RemoteSpec",
    "fetch_remote",
    "parse_remote_spec",
]

log = logging.getLogger(__name__)

CONNECT_WINDOW = 5.0
"""Seconds a run keeps trying to reach a server that does not answer."""
RETRY_EVERY = 5.0
"""Seconds between attempts to reach a server that was down at start-up."""
_READY = {"READY", "BUSY"}
_FAILED = {"SETUP_FAILED", "DEFUNCT"}


@dataclass(frozen=True)
class RemoteSpec:
    """``owner/name`` served from the Cog HTTP server at ``url``."""

    owner: str
    name: str
    url: str

    @property
    def full_name(self) -> str:
        """``owner/name``."""
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class RemoteModel(LocalModel):
    """A version served by a Cog HTTP server this backend does not run.

    Attributes
    ----------
    url
        The server's base URL (``http://HOST:PORT``).
    """

    url: str = ""

    def __hash__(self) -> int:
        # dataclass would hash every field, the schema dicts included.
        return super().__hash__()


def parse_remote_spec(text: str) -> RemoteSpec | None:
    """Read ``NAME=URL`` or ``OWNER/NAME=URL``; ``None`` if ``text`` is not one.

    Raises
    ------
    ValueError
        For a name or URL that cannot be served, saying what to write.
    """
    name, sep, url = text.partition("=")
    if not sep or not url.startswith(("http://", "https://")):
        return None
    owner, slash, model = name.rpartition("/")
    owner = owner if slash else "local"
    if not is_model_name(owner) or not is_model_name(model):
        raise ValueError(
            f"{name!r} is not a valid model name in {text!r}: use lowercase "
            "letters, digits, '-', '_' and '.', as NAME=URL or OWNER/NAME=URL "
            "(for example sdxl=http://gpu-box:5000)."
        )
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or parts.query or parts.fragment:
        raise ValueError(
            f"{url!r} in {text!r} is not a server's base URL; give "
            "http://HOST:PORT of the Cog server (what docker run -p 5000:5000 "
            "makes http://HOST:5000)."
        )
    return RemoteSpec(owner, model, url.rstrip("/"))


def unreachable_message(full_name: str, url: str, reason: str) -> str:
    """Say that the server behind ``full_name`` does not answer, and what to do."""
    return (
        f"The Cog server for {full_name} at {url} does not answer ({reason}). "
        "This backend never starts or stops it: start it (for a Replicate model, "
        "docker run -p 5000:5000 r8.im/OWNER/MODEL@sha256:... on that machine), "
        "check the URL and that this machine can reach it, then try again."
    )


def _client(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url,
        timeout=httpx.Timeout(30.0, connect=CONNECT_WINDOW, read=None),
        # A model server is addressed directly, never through a proxy
        # configured for web traffic.
        trust_env=False,
    )


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _version_id(spec: RemoteSpec, schema: dict[str, Any]) -> str:
    text = json.dumps([spec.full_name, schema], sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def remote_model(
    spec: RemoteSpec, schema: dict[str, Any], cog_version: str = "unknown"
) -> RemoteModel:
    """Build the version ``spec``'s server serves, from its ``/openapi.json``."""
    return RemoteModel(
        owner=spec.owner,
        name=spec.name,
        # No folder: nothing reads it for a remote model (README: none).
        directory=Path(os.devnull),
        version_id=_version_id(spec, schema),
        openapi_schema=schema,
        # Training needs a server started in train mode; not offered.
        has_train=False,
        description=f"Served by the Cog server at {spec.url}",
        visibility="public",
        cover_image=None,
        default_example=None,
        cog_version=cog_version,
        concurrency=1,
        predict_ref=None,
        url=spec.url,
    )


async def fetch_remote(spec: RemoteSpec, timeout: float = 3.0) -> RemoteModel:
    """Read the server's schema and return its version.

    Raises
    ------
    RunnerError
        The server does not answer, or its ``/openapi.json`` is not a Cog
        schema; the message says what to do.
    """
    async with _client(spec.url) as client:
        try:
            response = await client.get("/openapi.json", timeout=timeout)
            schema = response.json() if response.status_code == 200 else None
        except httpx.HTTPError as exc:
            raise RunnerError(
                unreachable_message(spec.full_name, spec.url, _reason(exc))
            ) from exc
        except ValueError:
            schema = None
        if not isinstance(schema, dict) or "Input" not in json.dumps(
            schema.get("components", {})
        ):
            raise RunnerError(
                f"{spec.url}/openapi.json (for {spec.full_name}) is not a Cog "
                f"model's schema (HTTP {response.status_code}); give the base URL "
                "of a Cog server (cog serve, coglet, or a Replicate model's "
                "container)."
            )
        version = "unknown"
        with contextlib.suppress(httpx.HTTPError, ValueError, AttributeError):
            health = (await client.get("/health-check", timeout=timeout)).json()
            found = health.get("version", {})
            version = str(found.get("python_sdk") or found.get("cog") or version)
    return remote_model(spec, schema, version)


class RemoteServer:
    """A Cog HTTP server elsewhere, seen through the runner's process interface.

    ``stop()`` only lets go of the connection: the server is not ours to stop.
    """

    pid: int | None = None
    port: int | None = None
    returncode: int | None = None

    def __init__(self, model: RemoteModel) -> None:
        self.model = model
        self.client = _client(model.url)
        self._closed = False

    @property
    def alive(self) -> bool:
        """Whether this connection is still in use."""
        return not self._closed

    async def _status(self) -> str | None:
        """``/health-check``'s status; ``""`` when it has none; ``None``: no answer."""
        try:
            response = await self.client.get("/health-check", timeout=CONNECT_WINDOW)
        except httpx.HTTPError:
            return None
        try:
            body = response.json()
        except ValueError:
            return ""
        return str(body.get("status") or "") if isinstance(body, dict) else ""

    async def reachable(self) -> bool:
        """Whether the server answers ``/health-check`` now."""
        return await self._status() is not None

    async def start(self, timeout: float) -> None:
        """Wait until the server answers and is ready.

        It gets :data:`CONNECT_WINDOW` seconds to answer at all, and
        ``timeout`` seconds to finish its ``setup()``.

        Raises
        ------
        RunnerError
            It does not answer, its setup failed, or it stayed not ready.
        """
        loop = asyncio.get_running_loop()
        begun = loop.time()
        delay, reason, status = 0.1, "no answer", None
        while True:
            try:
                response = await self.client.get(
                    "/health-check", timeout=CONNECT_WINDOW
                )
            except httpx.HTTPError as exc:
                reason = _reason(exc)
                if loop.time() - begun > CONNECT_WINDOW:
                    raise RunnerError(
                        unreachable_message(
                            self.model.full_name, self.model.url, reason
                        )
                    ) from exc
            else:
                try:
                    body = response.json()
                except ValueError:
                    body = {}
                status = body.get("status") if isinstance(body, dict) else None
                if status is None or status in _READY:
                    return  # no status to go by: a server that answers will do
                if status in _FAILED:
                    raise RunnerError(
                        f"The Cog server for {self.model.full_name} at "
                        f"{self.model.url} reports {status}: its setup() failed or "
                        "its worker died. Restart that server (this backend never "
                        "does), then try again."
                    )
                if loop.time() - begun > timeout:
                    raise RunnerError(
                        f"The Cog server for {self.model.full_name} at "
                        f"{self.model.url} was still {status} after {timeout:.0f} s; "
                        "check its logs."
                    )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def health(self) -> dict[str, Any]:
        """Return ``/health-check``'s body, or ``{}`` if it does not answer."""
        try:
            body = (await self.client.get("/health-check", timeout=2.0)).json()
        except (httpx.HTTPError, ValueError):
            return {}
        return body if isinstance(body, dict) else {}

    async def cancel(self, prediction_id: str) -> None:
        """Ask the server to cancel a prediction; unknown or finished ids are fine."""
        with contextlib.suppress(httpx.HTTPError):
            await self.client.post(f"/predictions/{prediction_id}/cancel")

    async def stop(self, *, graceful: bool = True) -> None:  # noqa: ARG002
        """Close the connection; the server keeps running, ``graceful`` or not."""
        self._closed = True
        await self.client.aclose()


class RemoteRunner(ModelRunner):
    """Runs predictions on a :class:`RemoteModel`'s server."""

    crash_message = (
        "The connection to the model's Cog server broke during this prediction "
        "({detail}). Check that the server is still running; the next "
        "prediction connects again."
    )

    def __init__(
        self, model: RemoteModel, mode: Mode = "predict", *, idle_timeout: float = 600.0
    ) -> None:
        super().__init__(model, mode, idle_timeout=idle_timeout)
        self.remote = model

    def _new_process(self) -> ModelServer:
        return RemoteServer(self.remote)

    async def _enforce_cancel(self, prediction_id: str, process: ModelServer) -> None:
        """Leave it to the server's own cancel: its process is not ours to kill."""

    async def _ensure_started(self) -> ModelServer:
        server = await super()._ensure_started()
        if isinstance(server, RemoteServer) and not await server.reachable():
            # Gone since the last run: connect afresh, retrying for a while.
            await self._restart_after_crash(server)
            server = await super()._ensure_started()
        return server


class RemoteModels:
    """Register URL models, and keep trying those that were down at start-up.

    Parameters
    ----------
    registry, store
        Where the versions are registered, and the store behind it.
    specs
        The servers to serve.
    """

    def __init__(
        self, registry: Registry, store: Store, specs: list[RemoteSpec]
    ) -> None:
        self.registry = registry
        self.store = store
        self.specs = specs
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Try each server once; list the others and keep trying them."""
        results = await asyncio.gather(
            *(fetch_remote(s) for s in self.specs), return_exceptions=True
        )
        for spec, result in zip(self.specs, results, strict=True):
            if isinstance(result, RemoteModel):
                self._register(spec, result)
                continue
            reason = str(result) or type(result).__name__
            log.warning("%s", reason)
            self.registry.register_pending(spec.owner, spec.name, reason)
            previous = self._previous_version(spec)
            if previous is not None:
                self._register(spec, previous)
            task = asyncio.get_running_loop().create_task(self._keep_trying(spec))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _register(self, spec: RemoteSpec, model: RemoteModel) -> None:
        self.registry.register(model, {"kind": "remote", "url": spec.url})

    def _previous_version(self, spec: RemoteSpec) -> RemoteModel | None:
        """Return the newest version an earlier run registered for this name and URL."""
        store = self.store
        sources = {
            vid: source
            for vid, owner, name, source in store.version_sources()
            if (owner, name) == (spec.owner, spec.name)
        }
        for version in store.list_versions(spec.owner, spec.name):
            source = sources.get(version["id"], {})
            if source.get("kind") == "remote" and source.get("url") == spec.url:
                model = remote_model(
                    spec, version["openapi_schema"], version["cog_version"]
                )
                return dataclasses.replace(model, version_id=version["id"])
        return None

    async def _keep_trying(self, spec: RemoteSpec) -> None:
        while True:
            await asyncio.sleep(RETRY_EVERY)
            try:
                model = await fetch_remote(spec)
            except RunnerError as exc:
                self.registry.register_pending(spec.owner, spec.name, str(exc))
                continue
            self._register(spec, model)
            log.warning("%s is reachable now at %s", spec.full_name, spec.url)
            return

    async def close(self) -> None:
        """Stop trying."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
