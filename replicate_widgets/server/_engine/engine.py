"""The prediction engine: a prediction's whole life in the local backend.

:class:`Engine` checks a create request (body keys, version, input schema,
webhook, ``Cancel-After``, rate limit) and records the prediction. Inputs are
cleaned for coglet on the way: secrets masked in the stored ``input``, explicit
nulls of nullable inputs dropped, and this server's ``/v1/files`` URLs turned
into signed URLs coglet can download without a token.

It then runs it, from queued to a terminal status: the prediction goes to the
version's :class:`~.instances.Instances` (which queue it until a slot of one
of its processes is free; a deployment's prediction goes to the deployment's
own instances), and the runner's events are folded into the Replicate-shaped
document, which is fanned out to ``urls.stream`` readers
(:mod:`.sse`), to the webhook (:mod:`.webhooks`) and to the
store. It also cancels, expires (``Cancel-After``) and finishes them, and reads merge
live state with the store.

coglet's quirks are absorbed here: the doubled ``Prediction failed:`` prefix,
and file outputs, which coglet uploads to the backend (see
:mod:`replicate_widgets.server._storage.files_store`) or, without an upload URL, sends
as ``data:`` URLs: those the version's output schema types as files (``format: uri``)
are stored and served as files, list order kept; a string output that merely looks like
a data URL stays text.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import contextvars
import logging
import math
import re
import time
import urllib.parse
from datetime import timedelta
from typing import Any

import httpx

from replicate_widgets.server._catalog.registry import Registry
from replicate_widgets.server._catalog.remote import RemoteModel
from replicate_widgets.server._clock import iso, now_iso, parse_iso, seconds_between
from replicate_widgets.server._cog.coglet_process import RunnerError
from replicate_widgets.server._cog.models import LocalModel
from replicate_widgets.server._engine.sse import EventLog, replay
from replicate_widgets.server._problem import Problem, check_body
from replicate_widgets.server._storage.files_store import (
    UPLOAD_MARKER,
    FileStore,
    absolutize,
    download_name,
    new_id,
    parse_data_url,
)
from replicate_widgets.server._storage.store import TERMINAL_STATUSES, Store

from .inputs import InputSchema, format_invalid_fields, output_is_iterator
from .instances import Instances, RunnerPool
from .live import Live
from .prestart import Prestarter
from .runner import Mode
from .runner_events import RunnerEvent
from .webhooks import WebhookSender, check_filter

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


PREDICTION_KEYS = frozenset(
    {"version", "input", "webhook", "webhook_events_filter", "stream"}
)
MODEL_PREDICTION_KEYS = PREDICTION_KEYS - {"version"}
TRAINING_KEYS = frozenset({"destination", "input", "webhook", "webhook_events_filter"})
_FILE_PATH = re.compile(r"^(?:/v1)+/files/([a-z0-9]+)(?:/download(?:/[^/]+)?)?/?$")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")
STOPPED_REASON = (
    "The local server stopped while this prediction was running, so "
    "it could not finish. Run it again."
)


def parse_cancel_after(value: str) -> float:
    """Parse a ``Cancel-After`` header (``30``, ``30s``, ``5m``, ``1h30m45s``).

    Raises
    ------
    Problem
        400 when the value is malformed or outside 5 s to 24 h.
    """
    match = _DURATION.match(value.strip())
    if not value.strip() or match is None:
        raise Problem(
            400,
            f"Cancel-After {value!r} is not a duration; use seconds "
            "such as 30 or 30s, or a form like 5m or 1h30m45s.",
        )
    hours, minutes, secs = (int(g) if g else 0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + secs
    if not 5 <= total <= 24 * 3600:
        raise Problem(400, "Cancel-After must be between 5 seconds and 24 hours.")
    return float(total)


class Engine:
    """Owns prediction and training state for the local backend.

    Parameters
    ----------
    store, files, registry, pool
        Persistence, file storage, the model registry and RUNTIME's runners.
    origin
        The base of every URL in documents: ``--public-url``, or where this
        machine reaches the server; :data:`REQUEST_ORIGIN`, when set, wins.
    local_origin
        Where this machine reaches the server (``http://127.0.0.1:PORT``): the
        base of the signed download URLs coglet fetches input files from.
    webhook_secret
        The ``whsec_`` key that signs webhooks.
    rate_limit
        Prediction creations allowed per second, or ``None`` for no limit.
    prestart
        Start a model's process when a client reads the model
        (:meth:`model_viewed`), not only at its first run.
    """

    def __init__(
        self,
        store: Store,
        files: FileStore,
        registry: Registry,
        pool: RunnerPool,
        *,
        origin: str,
        local_origin: str | None = None,
        webhook_secret: str,
        rate_limit: float | None = None,
        prestart: bool = False,
    ) -> None:
        self.store = store
        self.files = files
        self.registry = registry
        self.pool = pool
        self._origin = origin
        self.prestart = prestart
        self._prestarter = Prestarter() if prestart else None
        self.local_origin = local_origin or origin
        self.webhook_secret = webhook_secret
        self.rate_limit = rate_limit
        self._live: dict[str, Live] = {}
        self._recent: collections.OrderedDict[str, EventLog] = collections.OrderedDict()
        self._creations: collections.deque[float] = collections.deque()
        self._input_schemas: dict[tuple[str, str], tuple[LocalModel, InputSchema]] = {}
        # Made at the first webhook: building its TLS context (loading the
        # certificate store) takes 50 ms or more, at every start otherwise.
        self._webhook_client: httpx.AsyncClient | None = None

    @property
    def origin(self) -> str:
        """The base of the URLs in documents rendered now."""
        return REQUEST_ORIGIN.get() or self._origin

    @property
    def _http(self) -> httpx.AsyncClient:
        """The client that sends webhooks."""
        if self._webhook_client is None:
            self._webhook_client = httpx.AsyncClient(
                follow_redirects=False, timeout=10.0
            )
        return self._webhook_client

    # --------------------------------------------------------------- create
    def _check_rate(self) -> None:
        if self.rate_limit is None:
            return
        now = time.monotonic()
        while self._creations and now - self._creations[0] >= 1.0:
            self._creations.popleft()
        if len(self._creations) >= self.rate_limit:
            retry = max(1, int(1.0 - (now - self._creations[0]) + 0.999))
            raise Problem(
                429,
                "Request was throttled. Your rate limit resets in "
                f"~{retry}s. Wait, then create the prediction again.",
                headers={"Retry-After": str(retry)},
                retry_after=retry,
            )
        self._creations.append(now)

    def create_prediction(
        self,
        body: Any,
        *,
        model: tuple[str, str] | None = None,
        version: str | None = None,
        deployment: str | None = None,
        cancel_after: str | None = None,
    ) -> Live:
        """Validate a create request, queue the prediction and return it.

        ``model`` is set for ``POST /v1/models/{owner}/{name}/predictions`` (and
        ``version``, else its latest version runs); otherwise ``body["version"]``
        names the version. ``deployment`` (``owner/name``) marks a prediction
        made on a deployment.
        """
        self._check_rate()
        allowed = MODEL_PREDICTION_KEYS if model else PREDICTION_KEYS
        check_body(body, allowed)
        if model is not None:
            owner, name = model
            version_id = version or self.registry.latest_version_id(owner, name)
        else:
            if "version" not in body:
                raise Problem(
                    422,
                    "version is required: a version id, "
                    "owner/name:version_id or owner/name.",
                )
            owner, name, version_id = self.registry.resolve(body["version"])
        local = self.registry.runnable(version_id)
        deadline = parse_cancel_after(cancel_after) if cancel_after else None
        return self._start(
            "prediction",
            local,
            body,
            "Input",
            deadline=deadline,
            version=version_id,
            model_name=f"{owner}/{name}",
            deployment=deployment,
        )

    def create_training(
        self, owner: str, name: str, version_id: str, body: Any
    ) -> Live:
        """Validate a training request, queue the training and return it."""
        check_body(body, TRAINING_KEYS)
        self.registry.version_doc(owner, name, version_id)
        local = self.registry.runnable(version_id)
        if not local.has_train:
            raise Problem(
                422,
                f"{owner}/{name} does not define train(), so it "
                "cannot be trained. Add a train function to the model.",
                title="Model is not trainable",
            )
        destination = body.get("destination")
        if not isinstance(destination, str) or destination.count("/") != 1:
            raise Problem(
                422,
                "destination is required, as owner/name of an "
                "existing model (create one with POST /v1/models).",
            )
        dest_owner, dest_name = destination.split("/")
        if self.store.get_model(dest_owner, dest_name) is None:
            raise Problem(404, "The specified training destination does not exist")
        live = self._start(
            "training",
            local,
            body,
            "TrainingInput",
            deadline=None,
            version=version_id,
            model_name=f"{owner}/{name}",
        )
        live.destination = (dest_owner, dest_name)
        live.doc["destination"] = destination
        self.store.put_prediction(live.doc, "training")
        return live

    def _start(
        self,
        kind: str,
        local: LocalModel,
        body: dict[str, Any],
        schema_name: str,
        *,
        deadline: float | None,
        version: str,
        model_name: str,
        deployment: str | None = None,
    ) -> Live:
        if "input" not in body:
            raise Problem(
                422,
                "input is required: a JSON object of the model's "
                "inputs (may be empty).",
                title="Input validation failed",
                invalid_fields=[
                    {
                        "type": "required",
                        "field": "input",
                        "description": "input is required",
                    }
                ],
            )
        schema = self._input_schema(local, schema_name)
        invalid = schema.errors(body["input"])
        if invalid:
            raise Problem(
                422,
                format_invalid_fields(invalid),
                title="Input validation failed",
                invalid_fields=invalid,
            )
        webhook = body.get("webhook")
        events: list[str] | None = None
        if webhook is not None and (
            not isinstance(webhook, str)
            or not webhook.startswith(("http://", "https://"))
        ):
            raise Problem(422, "webhook must be an http:// or https:// URL.")
        if "webhook_events_filter" in body:
            try:
                events = check_filter(body["webhook_events_filter"])
            except ValueError as exc:
                raise Problem(422, str(exc)) from exc
        model_input = self._rewrite_local_files(
            schema.for_model(body["input"]), self._file_base(local)
        )
        created = now_iso()
        doc: dict[str, Any] = {
            "id": new_id(),
            "model": model_name,
            "version": version,
            "input": schema.masked(body["input"]),
            "logs": "",
            "output": None,
            "data_removed": False,
            "error": None,
            "status": "starting",
            "created_at": created,
            "started_at": None,
            "completed_at": None,
            "source": "api",
            "metrics": {},
        }
        if deployment is not None:
            doc["deployment"] = deployment
        if webhook is not None:
            doc["webhook"] = webhook
            doc["webhook_events_filter"] = events or [
                "start",
                "output",
                "logs",
                "completed",
            ]
        iterator = output_is_iterator(local.openapi_schema)
        live = Live(
            doc,
            kind,
            local,
            model_input,
            iterator,
            EventLog(int(time.time())),
            output_schema(local, kind),
        )
        if webhook is not None:
            live.webhook = WebhookSender(
                self._http,
                webhook,
                self.webhook_secret,
                events,
                lambda: self.render(live.doc, kind),
            )
        self._live[doc["id"]] = live
        if deadline is not None:
            doc["deadline"] = _later(created, deadline)
            live.deadline = asyncio.create_task(self._expire(live, deadline))
        live.task = asyncio.create_task(self._run(live))
        # The first write comes once the run's first step has sent it to its
        # model's process, so it overlaps the model's work rather than
        # delaying it; readers get the document from memory until then, and
        # nothing else is read before scheduled callbacks have run.
        live.last_persist = -math.inf
        live.flush = asyncio.get_running_loop().call_soon(self._flush, live)
        return live

    def _input_schema(self, local: LocalModel, name: str) -> InputSchema:
        """Return the input checks of a loaded version, built on its first use.

        Building them copies and walks the whole schema, which would otherwise
        be most of the work of creating a prediction.
        """
        key = (local.version_id, name)
        cached = self._input_schemas.get(key)
        if cached is None or cached[0] is not local:
            cached = (local, InputSchema(local.openapi_schema, name))
            self._input_schemas[key] = cached
        return cached[1]

    def _file_base(self, local: LocalModel) -> str | None:
        """Where ``local``'s server fetches input files; ``None``: send them inline.

        A coglet this backend started fetches from its loopback address. A
        model served from a URL may run on another host, where that address is
        not this backend: only a ``--public-url`` reaches it from there, and
        without one each file travels inside the request as a data URL.
        """
        if not isinstance(local, RemoteModel):
            return self.local_origin
        return self._origin if self._origin != self.local_origin else None

    def _rewrite_local_files(self, value: Any, base: str | None) -> Any:
        """Point this server's ``/v1/files/{id}`` URLs at signed downloads.

        coglet downloads file inputs itself and has no API token, so it gets a
        signed URL under ``base`` that works without one, ending with the file's
        name (the model's copy is named after it), or with ``base`` ``None`` the
        file itself as a data URL.
        """
        if isinstance(value, dict):
            return {k: self._rewrite_local_files(v, base) for k, v in value.items()}
        if isinstance(value, list):
            return [self._rewrite_local_files(v, base) for v in value]
        file_id = self._own_file_id(value) if isinstance(value, str) else None
        if file_id is not None:
            doc = self.store.get_file(file_id)
            if doc is None:
                raise Problem(
                    422,
                    f"Input file {value} does not exist (was it deleted?). "
                    "Upload it again with POST /v1/files.",
                    title="Input validation failed",
                )
            if base is None:
                data = self.files.upload_path(file_id).read_bytes()
                mime = str(doc.get("content_type") or "application/octet-stream")
                return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
            name = download_name(doc["name"], doc["content_type"])
            return (
                f"{base}/v1/files/{file_id}/download/{name}?"
                f"{self.files.signed_query(file_id)}"
            )
        return value

    def _own_file_id(self, value: str) -> str | None:
        """Return the file id if ``value`` is a Files API URL of this server.

        That is a URL at the origin the client was given (which may be a
        ``--public-url``) or at any loopback name with the server's port.
        """
        if not value.startswith(("http://", "https://")):
            return None
        url = urllib.parse.urlsplit(value)
        path = url.path
        given = self.origin.rstrip("/")
        if value.startswith(given + "/"):
            path = urllib.parse.urlsplit(value[len(given) :]).path
        else:
            ours = urllib.parse.urlsplit(self.local_origin)
            local = {ours.hostname, "127.0.0.1", "localhost", "::1"}
            if url.hostname not in local or url.port != ours.port:
                return None
        match = _FILE_PATH.match(path)
        return match.group(1) if match else None

    def model_viewed(self, owner: str, name: str) -> None:
        """Start the model's process in the background, when ``prestart`` is on.

        A client reads a model before showing its form; starting the process
        then, rather than at the first run, hides its start-up behind the form.
        Few are started, one at a time (:mod:`.prestart`).
        """
        if self._prestarter is None:
            return
        try:
            model = self.registry.runnable(self.registry.latest_version_id(owner, name))
        except Problem:
            return  # nothing to run yet, or not loaded: the run will say so
        self._prestarter.viewed(self.pool.get(model))

    # ------------------------------------------------------------------ run
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
            apply_metric(doc["metrics"], data)
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
        elif not live.started and live.stopped_as:
            status = live.stopped_as
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
        # Set before the await below: the runner may report the run canceled
        # meanwhile, and a deadline's run that never started is aborted even then.
        live.stopped_as = live.stopped_as or unstarted_status
        if live.dispatched:
            with contextlib.suppress(RunnerError):
                await self._instances(live).cancel(live.doc["id"])
        if not live.started:
            await self._finish(live, live.stopped_as)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(live.done.wait()), 5.0)

    async def _expire(self, live: Live, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if not live.done.is_set():
            # Replicate: "aborted" if the deadline hits before the run starts.
            await self._stop(live, "aborted")

    # ----------------------------------------------------------- deployments
    def apply_deployment(self, owner: str, name: str) -> None:
        """Size the deployment's instances by its release (after any change).

        ``min_instances`` processes of its version start now and stay up; its
        predictions run on up to ``max_instances``. A deleted deployment, or
        one whose version is not loaded in this run, has none.
        """
        found = self.store.get_deployment(owner, name)
        release = found[1]["current_release"] if found else {}
        config = release.get("configuration", {})
        try:
            model = self.registry.runnable(release["version"]) if release else None
        except Problem:
            model = None
        low, high = config.get("min_instances", 0), config.get("max_instances", 1)
        self.pool.configure_deployment(f"{owner}/{name}", model, low, high)

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

    def list(
        self, kind: str = "prediction", **filters: Any
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Return one page of documents (newest first) and the next cursor."""
        page = self.store.list_predictions(kind, **filters)
        items = []
        for doc in page.items:
            live = self._live.get(doc["id"])
            items.append(self.render(live.doc if live else doc, kind))
        return items, page.next_cursor

    def stream(self, pid: str) -> EventLog:
        """Return the event log behind ``urls.stream`` (404 for unknown ids)."""
        live = self._live.get(pid)
        if live is not None:
            return live.events
        if pid in self._recent:
            return self._recent[pid]
        for kind in ("prediction", "training"):
            doc = self.store.get_prediction(pid, kind)
            if doc is not None:
                found = self.store.get_version(doc["version"])
                schema = found[2]["openapi_schema"] if found else {}
                return replay(doc, kind == "prediction" and output_is_iterator(schema))
        raise Problem(404, f"Prediction {pid} does not exist.")

    # ------------------------------------------------- start-up, shutdown
    def recover(self) -> int:
        """Fail predictions a previous run left unfinished; return how many."""
        stale = self.store.unfinished_predictions()
        for kind, doc in stale:
            doc["status"] = "failed"
            doc["error"] = STOPPED_REASON
            doc["completed_at"] = now_iso()
            self.store.put_prediction(doc, kind)
        return len(stale)

    async def close(self) -> None:
        """Stop everything in flight, record it as failed, close runners."""
        for live in list(self._live.values()):
            for task in (live.task, live.deadline):
                if task is not None:
                    task.cancel()
            if live.webhook:
                live.webhook.abort()
            live.webhook = None
            await self._finish(live, "failed", error=STOPPED_REASON)
        if self._prestarter is not None:
            await self._prestarter.close()
        await self.pool.close()
        if self._webhook_client is not None:
            await self._webhook_client.aclose()


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


def apply_metric(metrics: dict[str, Any], data: dict[str, Any]) -> None:
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


def _later(created: str, seconds: float) -> str:
    return iso(parse_iso(created) + timedelta(seconds=seconds))
