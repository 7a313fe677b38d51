"""The prediction engine: creating, reading and recovering predictions.

:class:`Engine` checks a create request (body keys, version, input schema,
webhook, ``Cancel-After``, rate limit), records the prediction and hands it to
:class:`~._lifecycle.Lifecycle`, which runs it. Inputs are cleaned for coglet on
the way: secrets masked in the stored ``input``, explicit nulls of nullable
inputs dropped, and this server's ``/v1/files`` URLs turned into signed URLs
coglet can download without a token. Reads merge live state with the store.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import logging
import re
import time
import urllib.parse
from datetime import timedelta
from typing import Any

import httpx

from ._clock import iso, now_iso, parse_iso
from ._files_store import FileStore, download_name, new_id
from ._inputs import InputSchema, format_invalid_fields, output_is_iterator
from ._instances import RunnerPool
from ._lifecycle import Lifecycle, Live, output_schema
from ._models import LocalModel
from ._problem import Problem, check_body
from ._registry import Registry
from ._remote import RemoteModel
from ._sse import EventLog, replay
from ._store import Store
from ._webhooks import WebhookSender, check_filter

log = logging.getLogger(__name__)

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


class Engine(Lifecycle):
    """Owns prediction and training state for the local backend.

    Parameters
    ----------
    store, files, registry, pool
        Persistence, file storage, the model registry and RUNTIME's runners.
    origin
        The base of every URL in documents: ``--public-url``, or where this
        machine reaches the server.
    local_origin
        Where this machine reaches the server (``http://127.0.0.1:PORT``): the
        base of the signed download URLs coglet fetches input files from.
    webhook_secret
        The ``whsec_`` key that signs webhooks.
    rate_limit
        Prediction creations allowed per second, or ``None`` for no limit.
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
    ) -> None:
        super().__init__(store, files, registry, pool, origin=origin)
        self.local_origin = local_origin or origin
        self.webhook_secret = webhook_secret
        self.rate_limit = rate_limit
        self._creations: collections.deque[float] = collections.deque()
        self._input_schemas: dict[tuple[str, str], tuple[LocalModel, InputSchema]] = {}
        self._http = httpx.AsyncClient(follow_redirects=False, timeout=10.0)

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
        self.store.put_prediction(doc, kind)
        live.last_persist = time.monotonic()
        if deadline is not None:
            doc["deadline"] = _later(created, deadline)
            live.deadline = asyncio.create_task(self._expire(live, deadline))
        live.task = asyncio.create_task(self._run(live))
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

    # ---------------------------------------------------------------- reads
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

    # ------------------------------------------------------------ lifecycle
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
        await self.pool.close()
        await self._http.aclose()


def _later(created: str, seconds: float) -> str:
    return iso(parse_iso(created) + timedelta(seconds=seconds))
