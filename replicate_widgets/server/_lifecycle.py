"""Running predictions: the state machine from queued to a terminal status.

:class:`Lifecycle` (the base of :class:`~._engine.Engine`) hands the
prediction to the version's :class:`~._instances.Instances` (which queue it
until a slot of one of its processes is free; a deployment's prediction goes
to the deployment's own instances), and folds the runner's
events into the Replicate-shaped document, which is fanned out to
``urls.stream`` readers (:mod:`._sse`), to the webhook (:mod:`._webhooks`) and
to the store. It also cancels, expires (``Cancel-After``) and finishes them.
coglet's quirks are absorbed here: the doubled ``Prediction failed:`` prefix,
and file outputs, which coglet uploads to the backend (see
:mod:`._files_store`) or, without an upload URL, sends as ``data:`` URLs: those
the version's output schema types as files (``format: uri``) are stored and
served as files, list order kept; a string output that merely looks like a data
URL stays text.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ._clock import now_iso, seconds_between
from ._files_store import (
    UPLOAD_MARKER,
    FileStore,
    LocalURL,
    absolutize,
    parse_data_url,
)
from ._instances import Instances, RunnerPool
from ._models import LocalModel
from ._problem import Problem
from ._registry import Registry
from ._runner import Mode, RunnerError, RunnerEvent
from ._sse import EventLog
from ._store import TERMINAL_STATUSES, Store
from ._webhooks import WebhookSender

log = logging.getLogger(__name__)

REQUEST_ORIGIN: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "REQUEST_ORIGIN", default=None
)
"""The origin the current request reached the server at, when documents follow it.

Set per request by the app (only for a server bound to a public address
without ``--public-url``); tasks a request starts inherit it, so a prediction's
webhooks use the URLs its creator used.
"""

PERSIST_INTERVAL = 0.5
RECENT_LOGS = 512
_FAILED_PREFIX = "Prediction failed: "


def clean_error(error: Any) -> str | None:
    """Drop coglet's repeated ``Prediction failed:`` prefixes from an error."""
    if error is None:
        return None
    text = str(error)
    while text.startswith(_FAILED_PREFIX):
        text = text[len(_FAILED_PREFIX) :]
    return text


@dataclass
class Live:
    """A prediction or training that has not finished yet."""

    doc: dict[str, Any]
    kind: str
    model: LocalModel
    model_input: dict[str, Any]
    iterator: bool
    events: EventLog
    output_schema: dict[str, Any] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    dispatched: bool = False
    started: bool = False
    task: asyncio.Task[None] | None = None
    deadline: asyncio.Task[None] | None = None
    webhook: WebhookSender | None = None
    destination: tuple[str, str] | None = None
    outputs: dict[str, LocalURL] = field(default_factory=dict)
    emitted: int = 0
    last_persist: float = 0.0
    flush: asyncio.Handle | None = None


class Lifecycle:
    """Runs, cancels and finishes predictions; the engine adds creation and reads.

    Parameters
    ----------
    store, files, registry, pool
        Persistence, file storage, the model registry and RUNTIME's runners.
    origin
        The base of every URL in documents (``--public-url``, else
        ``http://127.0.0.1:PORT``), unless :data:`REQUEST_ORIGIN` is set.
    """

    def __init__(
        self,
        store: Store,
        files: FileStore,
        registry: Registry,
        pool: RunnerPool,
        *,
        origin: str,
    ) -> None:
        self.store = store
        self.files = files
        self.registry = registry
        self.pool = pool
        self._origin = origin
        self._live: dict[str, Live] = {}
        self._recent: collections.OrderedDict[str, EventLog] = collections.OrderedDict()

    @property
    def origin(self) -> str:
        """The base of the URLs in documents rendered now."""
        return REQUEST_ORIGIN.get() or self._origin

    def _instances(self, live: Live) -> Instances:
        """Return the processes that run ``live`` (its deployment's own, if any)."""
        mode: Mode = "train" if live.kind == "training" else "predict"
        deployment = str(live.doc.get("deployment") or "")
        return self.pool.get(live.model, mode, deployment=deployment)

    async def _run(self, live: Live) -> None:
        try:
            if live.done.is_set():
                return
            # The instances queue it until one of their slots is free.
            instances = self._instances(live)
            live.dispatched = True
            async for event in instances.run(live.doc["id"], live.model_input):
                await self._apply(live, event)
                if live.done.is_set():
                    # The answer goes to whoever waits for it (Prefer: wait)
                    # before the run's clean-up takes the loop.
                    await asyncio.sleep(0)
            if not live.done.is_set():
                await self._finish(
                    live,
                    "failed",
                    error="The model stopped without "
                    "reporting a result. Check its logs and run it "
                    "again.",
                )
        except RunnerError as exc:
            await self._finish(live, "failed", error=str(exc) or "The model crashed.")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("prediction %s failed inside the server", live.doc["id"])
            await self._finish(
                live,
                "failed",
                error="The local server hit an "
                "internal error while running this prediction; see "
                "the server log.",
            )

    async def _apply(self, live: Live, event: RunnerEvent) -> None:
        doc, data = live.doc, event.data
        if live.done.is_set():
            return
        if event.kind == "start":
            self._mark_started(live)
            self._persist(live)
            if live.webhook:
                live.webhook.notify("start")
        elif event.kind == "log":
            self._mark_started(live)
            text = str(data.get("data", ""))
            doc["logs"] = (doc["logs"] or "") + text
            await live.events.publish("logs", text.rstrip("\n"))
            self._persist(live)
            if live.webhook:
                live.webhook.notify("logs")
        elif event.kind == "notice":
            # The backend's own word (a busy server): logged, not a start.
            text = str(data.get("data", ""))
            doc["logs"] = (doc["logs"] or "") + text
            await live.events.publish("logs", text.rstrip("\n"))
            self._persist(live)
        elif event.kind == "output":
            self._mark_started(live)
            await self._output_chunk(live, data.get("chunk"), int(data.get("index", 0)))
            self._persist(live)
            if live.webhook:
                live.webhook.notify("output")
        elif event.kind == "metric":
            _apply_metric(doc["metrics"], data)
        elif event.kind == "completed":
            await self._completed(live, data)

    def _mark_started(self, live: Live) -> None:
        if not live.started:
            live.started = True
            live.doc["status"] = "processing"
            live.doc["started_at"] = now_iso()

    async def _output_chunk(self, live: Live, chunk: Any, index: int) -> None:
        schema = live.output_schema
        if live.iterator:
            # An iterator sends its items one by one: each is typed by ``items``.
            schema = _items(_branches(schema, _schemas(live.model), set()))
        chunk = self._store_outputs(live, chunk, schema)
        if live.iterator:
            output = live.doc["output"] if isinstance(live.doc["output"], list) else []
            output.extend([None] * (index + 1 - len(output)))
            output[index] = chunk
            live.doc["output"] = output
        items = chunk if isinstance(chunk, list) and not live.iterator else [chunk]
        for item in items:
            await live.events.publish("output", item)
        live.emitted += 1

    def _store_outputs(self, live: Live, value: Any, schema: Any) -> Any:
        """Replace file outputs with stored files' URLs.

        A file coglet uploaded (named by the marker the backend gave it) is one
        wherever it is. A ``data:`` URL is a file that coglet made from a returned
        ``Path`` only where ``schema`` (the output schema, walked along ``value``)
        says ``format: uri``; anywhere else it is whatever text the model returned.
        """
        if isinstance(value, str) and value.startswith(UPLOAD_MARKER):
            if value not in live.outputs:  # else: streamed, now in the completed output
                uploaded = self.files.claim_output(value)
                if uploaded is None:
                    return value
                live.outputs[value] = uploaded
            return live.outputs[value]
        nodes = _branches(schema, _schemas(live.model), set())
        if isinstance(value, list):
            items = _items(nodes)
            return [self._store_outputs(live, v, items) for v in value]
        if isinstance(value, dict):
            return {
                k: self._store_outputs(live, v, _property(nodes, k))
                for k, v in value.items()
            }
        if (
            isinstance(value, str)
            and value.startswith("data:")
            and any(n.get("format") == "uri" for n in nodes)
        ):
            if value not in live.outputs:
                try:
                    mime, data = parse_data_url(value)
                except ValueError:
                    return value
                name = f"out-{len(live.outputs)}"  # a data URL has no name
                live.outputs[value] = self.files.save_output(data, mime, name)
            return live.outputs[value]
        return value

    async def _completed(self, live: Live, data: dict[str, Any]) -> None:
        doc = live.doc
        status = str(data.get("status", "failed"))
        if status not in TERMINAL_STATUSES:
            status = "failed"
        if status != "canceled":
            self._mark_started(live)  # it ran, even if no start event came
        output = self._store_outputs(live, data.get("output"), live.output_schema)
        if live.iterator and isinstance(output, list):
            # The completed snapshot is authoritative; stream any items that
            # never arrived as output events.
            for item in output[live.emitted :]:
                await live.events.publish("output", item)
        elif not live.iterator and live.emitted == 0 and output is not None:
            await live.events.publish("output", output)
        doc["output"] = output
        if data.get("logs") and len(str(data["logs"])) > len(doc["logs"] or ""):
            doc["logs"] = str(data["logs"])
        _merge_metrics(doc["metrics"], data.get("metrics"))
        error = clean_error(data.get("error"))
        if status == "failed" and not error:
            error = "The prediction failed without an error message; see its logs."
        if live.kind == "training" and status == "succeeded":
            self._promote_training(live)
        await self._finish(live, status, error=error)

    def _promote_training(self, live: Live) -> None:
        """Turn a successful training's output into a new destination version."""
        assert live.destination is not None  # noqa: S101 (set for every training)
        output = live.doc["output"]
        weights_url = output.get("weights") if isinstance(output, dict) else output
        if not isinstance(weights_url, str):
            raise RunnerError(
                "The training succeeded but returned no weights (a "
                "file, or an object with a 'weights' file), so no "
                "version could be created."
            )
        path = self.files.local_output(weights_url)
        weights = str(path) if path is not None else weights_url
        version_id = self.registry.add_trained(live.model, live.destination, weights)
        extra = output if isinstance(output, dict) else {"weights": output}
        # Replicate names the new version as owner/name:id (its client parses it).
        destination = "/".join(live.destination)
        live.doc["output"] = {**extra, "version": f"{destination}:{version_id}"}
        live.doc["destination"] = destination

    async def _finish(
        self, live: Live, status: str, *, error: str | None = None
    ) -> None:
        if live.done.is_set():
            return
        doc = live.doc
        doc["status"] = status
        doc["error"] = error if status == "failed" else None
        doc["completed_at"] = now_iso()
        if doc["started_at"] is not None:
            doc["metrics"].setdefault(
                "predict_time", seconds_between(doc["started_at"], doc["completed_at"])
            )
        doc["metrics"]["total_time"] = seconds_between(
            doc["created_at"], doc["completed_at"]
        )
        live.done.set()
        # The request waiting for the result (Prefer: wait) answers first;
        # until the write below, readers get the document from memory.
        await asyncio.sleep(0)
        self._persist(live, force=True)
        await live.events.finish(status, doc["error"])
        self._live.pop(doc["id"], None)
        self._recent[doc["id"]] = live.events
        while len(self._recent) > RECENT_LOGS:
            self._recent.popitem(last=False)
        if live.deadline is not None and live.deadline is not asyncio.current_task():
            live.deadline.cancel()
        if live.webhook:
            live.webhook.notify("completed")

    def _persist(self, live: Live, *, force: bool = False) -> None:
        """Write a running prediction's document: now if forced or due, else soon.

        While it runs, readers get the document from memory; the stored copy
        (what survives a crash, and what another backend sharing the data dir
        lists) trails it by at most :data:`PERSIST_INTERVAL`. So a run whose
        events come quickly costs one write per interval, not one per event:
        a prediction that takes milliseconds is written when it is created
        and when it ends.
        """
        if live.flush is not None:
            if not force:
                return  # a write is already due
            live.flush.cancel()
            live.flush = None
        now = time.monotonic()
        wait = live.last_persist + PERSIST_INTERVAL - now
        if force or wait <= 0:
            live.last_persist = now
            self.store.put_prediction(live.doc, live.kind)
        else:
            loop = asyncio.get_running_loop()
            live.flush = loop.call_later(wait, self._flush, live)

    def _flush(self, live: Live) -> None:
        live.flush = None
        self._persist(live)

    # -------------------------------------------------------- cancel, expire
    async def cancel(self, pid: str, kind: str = "prediction") -> dict[str, Any]:
        """Cancel a prediction; returns its document once it has stopped.

        One that has not started is canceled at once (and withdrawn from
        coglet if it was already handed over); a running one is stopped
        through coglet, and the call waits (briefly) for it to end.
        """
        live = self._live.get(pid)
        if live is None or live.kind != kind:
            return self.get(pid, kind)
        await self._stop(live, "canceled")
        return self.render(live.doc, kind)

    async def _stop(self, live: Live, unstarted_status: str) -> None:
        if live.dispatched:
            with contextlib.suppress(RunnerError):
                await self._instances(live).cancel(live.doc["id"])
        if not live.started:
            await self._finish(live, unstarted_status)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(live.done.wait()), 5.0)

    async def _expire(self, live: Live, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if not live.done.is_set():
            # Replicate: "aborted" if the deadline hits before the run starts.
            await self._stop(live, "aborted")

    # --------------------------------------------------------------- reads
    def get(self, pid: str, kind: str = "prediction") -> dict[str, Any]:
        """Return a prediction (or training) document, or raise a 404 problem."""
        live = self._live.get(pid)
        if live is not None and live.kind == kind:
            return self.render(live.doc, kind)
        doc = self.store.get_prediction(pid, kind)
        if doc is None:
            raise Problem(
                404,
                f"{kind.capitalize()} {pid} does not exist. Check the "
                f"id, or list them with GET /v1/{kind}s.",
            )
        return self.render(doc, kind)

    def render(self, doc: dict[str, Any], kind: str = "prediction") -> dict[str, Any]:
        """Return the API form of a stored document (absolute URLs, ``urls``)."""
        out: dict[str, Any] = absolutize(doc, self.origin)
        pid = doc["id"]
        base = f"{self.origin}/v1/{kind}s/{pid}"
        out["urls"] = {
            "get": base,
            "cancel": f"{base}/cancel",
            "stream": f"{self.origin}/v1/streams/{pid}",
            "web": f"{self.origin}/p/{pid}",
        }
        if not out["metrics"]:
            out.pop("metrics")
        if self._booting(pid):
            # Not in Replicate's API: lets a client say "cold boot" only when it is.
            out["booting"] = True
        return out

    def _booting(self, pid: str) -> bool:
        """Whether a prediction waits for its model's process to start."""
        live = self._live.get(pid)
        if live is None or not live.dispatched or live.started or live.done.is_set():
            return False  # queued behind others, running, or over
        # A dispatched run starts a process when none runs (or it crashed).
        return self._instances(live).state == "stopped"


def _schemas(model: LocalModel) -> dict[str, Any]:
    schemas = model.openapi_schema.get("components", {}).get("schemas", {})
    return schemas if isinstance(schemas, dict) else {}


def output_schema(model: LocalModel, kind: str) -> dict[str, Any]:
    """Return a version's ``Output`` (or ``TrainingOutput``) schema, or ``{}``."""
    name = "TrainingOutput" if kind == "training" else "Output"
    found = _schemas(model).get(name)
    return found if isinstance(found, dict) else {}


def _branches(node: Any, schemas: dict[str, Any], seen: set[str]) -> list[Any]:
    """Return ``node`` and the schemas it combines (``$ref``, ``allOf``...)."""
    if not isinstance(node, dict):
        return []
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            return []
        return _branches(schemas.get(name), schemas, seen | {name})
    out = [node]
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in node.get(key) or ():
            out.extend(_branches(branch, schemas, seen))
    return out


def _items(nodes: list[Any]) -> dict[str, Any]:
    """Return the schema of the items of an array typed by ``nodes``."""
    return {"anyOf": [n["items"] for n in nodes if "items" in n]}


def _property(nodes: list[Any], key: str) -> dict[str, Any]:
    """Return the schema of member ``key`` of an object typed by ``nodes``."""
    found = []
    for node in nodes:
        props = node.get("properties")
        if isinstance(props, dict) and key in props:
            found.append(props[key])
        elif isinstance(node.get("additionalProperties"), dict):
            found.append(node["additionalProperties"])
    return {"anyOf": found}


def _apply_metric(metrics: dict[str, Any], data: dict[str, Any]) -> None:
    """Fold one coglet ``metric`` event into ``metrics`` as coglet itself does.

    A dotted name (``timing.preprocess``) is a path into nested objects, the
    form coglet's final snapshot has; ``increment`` (``incr``) adds, ``append``
    extends a list, and ``replace`` with ``null`` deletes.
    """
    name, value, mode = data.get("name"), data.get("value"), data.get("mode")
    if not isinstance(name, str) or not name:
        return
    *parents, leaf = name.split(".")
    node = metrics
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    current = node.get(leaf)
    if (
        mode in ("increment", "incr")
        and isinstance(current, (int, float))
        and isinstance(value, (int, float))
    ):
        node[leaf] = current + value
    elif mode == "append":
        node[leaf] = [*current, value] if isinstance(current, list) else [value]
    elif value is None:
        node.pop(leaf, None)
    else:
        node[leaf] = value


def _merge_metrics(metrics: dict[str, Any], extra: Any) -> None:
    if isinstance(extra, dict):
        metrics.update(extra)
