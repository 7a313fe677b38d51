"""Models and versions: what the backend can run, and their API documents.

Model folders loaded at start-up (``--model DIR`` and the bundled examples)
become a model plus one version each; ``POST /v1/models`` creates a model with
no version; a finished training adds a version to its destination model. All of
it is written to the store, and versions made by trainings are rebuilt from it
after a restart.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path
from typing import Any

from replicate_widgets._model_names import is_model_name
from replicate_widgets.server._clock import now_iso
from replicate_widgets.server._cog.models import LocalModel, load_model
from replicate_widgets.server._problem import Problem, check_body
from replicate_widgets.server._storage.files_store import local_url
from replicate_widgets.server._storage.model_files import ModelLoadError
from replicate_widgets.server._storage.store import Store

log = logging.getLogger(__name__)

_MODEL_KEYS = {
    "owner",
    "name",
    "description",
    "visibility",
    "hardware",
    "github_url",
    "paper_url",
    "license_url",
    "cover_image_url",
}
_VISIBILITIES = ("public", "private")
HARDWARE = [{"name": "CPU", "sku": "cpu"}]
ACCOUNT = {"type": "user", "username": "local", "name": "Local user"}
"""The one account of the local backend (``GET /v1/account``); it owns deployments."""
EDITED = "edited"
"""Key of a stored model listing the fields ``PATCH`` changed (not in responses)."""
SORT_FIELDS = ("model_created_at", "latest_version_created_at")
"""The fields ``GET /v1/models`` sorts by, as on api.replicate.com."""


class Registry:
    """The runnable models of this server and the model/version documents.

    Parameters
    ----------
    store
        Where documents persist.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._runnable: dict[str, LocalModel] = {}
        self.covers: dict[tuple[str, str], Path] = {}
        # Models served from a URL that did not answer yet: why, by name.
        self._pending: dict[tuple[str, str], str] = {}

    # ------------------------------------------------------------- loading
    def register(self, model: LocalModel, source: dict[str, Any] | None = None) -> None:
        """Make ``model`` runnable and write its model and version documents."""
        existing = self._store.get_model(model.owner, model.name)
        doc = existing or {
            "owner": model.owner,
            "name": model.name,
            "visibility": model.visibility,
            "hardware": "cpu",
            "github_url": None,
            "paper_url": None,
            "license_url": None,
            "created_at": now_iso(),
        }
        # A description set with PATCH outlives restarts; the folder's is a default.
        if model.description and "description" not in doc.get(EDITED, ()):
            doc["description"] = model.description
        doc.setdefault("description", None)
        example = model.default_example
        if example is not None and "input" not in example:
            # model.json gives just the inputs; the API's default_example is a
            # prediction-shaped object.
            example = {"input": example}
        doc["default_example"] = example
        if model.cover_image is not None:
            self.covers[(model.owner, model.name)] = model.cover_image
            doc["cover_image_url"] = local_url(f"/covers/{model.owner}/{model.name}")
        else:
            doc.setdefault("cover_image_url", None)
        self._store.put_model(doc)
        self._pending.pop((model.owner, model.name), None)
        found = self._store.get_version(model.version_id)
        version = {
            "id": model.version_id,
            "created_at": found[2]["created_at"] if found else now_iso(),
            "cog_version": model.cog_version,
            "openapi_schema": model.openapi_schema,
        }
        self._store.put_version(
            model.owner,
            model.name,
            version,
            source or {"kind": "folder", "directory": str(model.directory)},
        )
        self._runnable[model.version_id] = model

    def register_pending(self, owner: str, name: str, reason: str) -> None:
        """List a model whose server does not answer yet, and say why on use.

        Creating a prediction of it without a version answers 503 with
        ``reason``; :meth:`register` of a version clears it.
        """
        if self._store.get_model(owner, name) is None:
            self._store.put_model(
                {
                    "owner": owner,
                    "name": name,
                    "description": None,
                    "visibility": "public",
                    "hardware": "cpu",
                    "github_url": None,
                    "paper_url": None,
                    "license_url": None,
                    "cover_image_url": None,
                    "default_example": None,
                    "created_at": now_iso(),
                }
            )
        self._pending[(owner, name)] = reason

    def restore_trained(self) -> None:
        """Rebuild versions created by trainings in earlier runs."""
        for version_id, owner, name, source in self._store.version_sources():
            if source.get("kind") != "trained" or version_id in self._runnable:
                continue
            try:
                base = load_model(
                    Path(source["directory"]),
                    owner=source["base_owner"],
                    name=source["base_name"],
                )
            except (ModelLoadError, OSError) as exc:
                log.warning("cannot restore trained version %s: %s", version_id, exc)
                continue
            self._runnable[version_id] = dataclasses.replace(
                base.with_weights(str(source["weights"])),
                owner=owner,
                name=name,
                version_id=version_id,
            )

    def add_trained(
        self, base: LocalModel, destination: tuple[str, str], weights: str
    ) -> str:
        """Register the version a successful training produced; return its id."""
        owner, name = destination
        trained = dataclasses.replace(
            base.with_weights(weights), owner=owner, name=name
        )
        version = {
            "id": trained.version_id,
            "created_at": now_iso(),
            "cog_version": base.cog_version,
            "openapi_schema": base.openapi_schema,
        }
        self._store.put_version(
            owner,
            name,
            version,
            {
                "kind": "trained",
                "directory": str(base.directory),
                "base_owner": base.owner,
                "base_name": base.name,
                "weights": weights,
            },
        )
        self._runnable[trained.version_id] = trained
        return trained.version_id

    # ------------------------------------------------------------- lookups
    def model_doc(self, owner: str, name: str) -> dict[str, Any]:
        """Return a model document, or raise a 404 problem."""
        doc = self._store.get_model(owner, name)
        if doc is None:
            raise Problem(
                404,
                f"Model {owner}/{name} does not exist on this local "
                "server. List the available models with GET /v1/models, "
                "or start the server with --model DIR.",
            )
        return self._complete_model(doc)

    def _complete_model(self, doc: dict[str, Any]) -> dict[str, Any]:
        versions = self._store.list_versions(doc["owner"], doc["name"])
        full = dict(doc)
        full["url"] = local_url(f"/v1/models/{doc['owner']}/{doc['name']}")
        full["run_count"] = self._store.count_predictions(
            f"{doc['owner']}/{doc['name']}"
        )
        full["latest_version"] = versions[0] if versions else None
        full["is_official"] = False
        example = doc.get("default_example")
        if isinstance(example, dict) and "id" not in example:
            full["default_example"] = _example_prediction(doc, example, versions)
        for private in ("created_at", "hardware", "readme", EDITED):
            full.pop(private, None)
        return full

    def list_models(
        self,
        sort_by: str = "latest_version_created_at",
        sort_direction: str = "desc",
    ) -> list[dict[str, Any]]:
        """Return every model document, sorted as ``GET /v1/models`` asks.

        ``sort_by`` is ``model_created_at`` or ``latest_version_created_at`` (a
        model without versions sorts by its own creation time), ``sort_direction``
        ``asc`` or ``desc``; other values are a 400 naming the allowed ones.
        """
        if sort_by not in SORT_FIELDS:
            raise Problem(
                400,
                f"sort_by must be one of {', '.join(SORT_FIELDS)}, not {sort_by!r}.",
            )
        if sort_direction not in ("asc", "desc"):
            raise Problem(
                400, f"sort_direction must be asc or desc, not {sort_direction!r}."
            )
        # (creation time, API document): the document itself omits created_at.
        pairs = [
            (str(d.get("created_at") or ""), self._complete_model(d))
            for d in self._store.list_models()
        ]

        def key(pair: tuple[str, dict[str, Any]]) -> str:
            created, model = pair
            if sort_by == "latest_version_created_at" and model["latest_version"]:
                return str(model["latest_version"].get("created_at") or created)
            return created

        # Stable sort: models created at the same moment keep the store's order.
        pairs.sort(key=key, reverse=sort_direction == "desc")
        return [model for _, model in pairs]

    def search(self, query: str) -> list[dict[str, Any]]:
        """Return models whose owner, name or description contains ``query``."""
        needle = query.strip().lower()
        return [
            m
            for m in self.list_models()
            if needle
            in f"{m['owner']}/{m['name']} {m.get('description') or ''}".lower()
        ]

    def versions(self, owner: str, name: str) -> list[dict[str, Any]]:
        """Return a model's versions, newest first (404 for unknown models)."""
        self.model_doc(owner, name)
        return self._store.list_versions(owner, name)

    def version_doc(self, owner: str, name: str, version_id: str) -> dict[str, Any]:
        """Return one version of a model, or raise a 404 problem."""
        self.model_doc(owner, name)
        found = self._store.get_version(version_id)
        if found is None or found[:2] != (owner, name):
            raise Problem(
                404,
                f"Model {owner}/{name} has no version {version_id}. "
                f"List its versions with GET /v1/models/{owner}/{name}/"
                "versions.",
            )
        return found[2]

    def resolve(self, ref: str) -> tuple[str, str, str]:
        """Resolve ``version`` of a create request to ``(owner, name, id)``.

        Accepts a bare 64-character id, ``owner/name:id`` or ``owner/name``
        (latest version).
        """
        if not isinstance(ref, str) or not ref:
            raise Problem(
                422,
                "version must be a string: a version id, "
                "owner/name:version_id or owner/name.",
                title="Invalid version",
            )
        if "/" in ref:
            model, _, version_id = ref.partition(":")
            owner, _, name = model.partition("/")
            if not version_id:
                return (owner, name, self.latest_version_id(owner, name))
            doc = self.version_doc(owner, name, version_id)
            return owner, name, doc["id"]
        loaded = self._runnable.get(ref)
        if loaded is not None:
            # What register() stored for it, without a query: this runs for
            # every prediction made by version id (delete_version unloads it).
            return loaded.owner, loaded.name, ref
        found = self._store.version_model(ref)
        if found is None:
            raise Problem(
                404,
                f"Version {ref} does not exist on this local server. "
                "Find version ids with GET /v1/models/{owner}/{name}/"
                "versions.",
                title="Invalid version",
            )
        return found[0], found[1], ref

    def latest_version_id(self, owner: str, name: str) -> str:
        """Return the newest version id of a model (422 if it has none)."""
        self.model_doc(owner, name)  # a model that does not exist is a 404 first
        latest = self._store.latest_version_id(owner, name)
        pending = self._pending.get((owner, name))
        if pending is not None and latest is None:
            raise Problem(
                503,
                f"{pending} The backend keeps trying to reach it.",
                title="Model server unreachable",
                headers={"Retry-After": "5"},
            )
        if latest is None:
            raise Problem(
                422,
                f"Model {owner}/{name} has no versions yet. Train "
                "into it, or start the server with --model DIR for a "
                "folder that defines it.",
                title="Model has no versions",
            )
        return latest

    def runnable(self, version_id: str) -> LocalModel:
        """Return the loaded model behind a version (422 when not loaded)."""
        model = self._runnable.get(version_id)
        if model is None:
            raise Problem(
                422,
                f"Version {version_id} is known but its model folder "
                "is not loaded in this server run. Start the server with "
                "--model DIR for that folder.",
                title="Version not loaded",
            )
        return model

    # ------------------------------------------------------------ changes
    def create_model(self, body: Any) -> dict[str, Any]:
        """Create an empty model from a ``POST /v1/models`` body."""
        body = check_body(body, _MODEL_KEYS)
        for key in ("owner", "name", "visibility", "hardware"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise Problem(422, f"{key} is required and must be a string.")
        owner, name = body["owner"], body["name"]
        if not is_model_name(owner) or not is_model_name(name):
            raise Problem(
                422,
                "owner and name may use lowercase letters, digits, "
                "'-', '_' and '.', and must start and end with a letter or digit.",
            )
        if body["visibility"] not in _VISIBILITIES:
            raise Problem(422, "visibility must be 'public' or 'private'.")
        skus = [h["sku"] for h in HARDWARE]
        if body["hardware"] not in skus:
            raise Problem(
                422,
                f"hardware {body['hardware']!r} is not available "
                f"locally; use one of {', '.join(skus)} (GET /v1/hardware).",
            )
        if self._store.get_model(owner, name) is not None:
            raise Problem(409, f"A model named {owner}/{name} already exists.")
        doc = {key: body.get(key) for key in sorted(_MODEL_KEYS)}
        doc["created_at"] = now_iso()
        doc["default_example"] = None
        self._store.put_model(doc)
        return self._complete_model(doc)

    def delete_version(self, owner: str, name: str, version_id: str) -> None:
        """Delete a version (it stays runnable for predictions in flight)."""
        self.version_doc(owner, name, version_id)
        self._store.delete_version(version_id)
        self._runnable.pop(version_id, None)

    def delete_model(self, owner: str, name: str) -> None:
        """Delete a model that has no versions, as Replicate requires."""
        self.model_doc(owner, name)
        if self._store.list_versions(owner, name):
            raise Problem(
                409,
                "Delete the model's versions first: Replicate only "
                "deletes models that have no versions.",
            )
        self._store.delete_model(owner, name)


def _example_prediction(
    doc: dict[str, Any], example: dict[str, Any], versions: list[dict[str, Any]]
) -> dict[str, Any]:
    """Return a ``model.json`` example as the prediction object clients expect.

    Replicate's ``default_example`` is a full prediction, and the official client
    refuses a model whose example lacks ``id``, ``version`` or ``status``. The
    example was never run here, so it is shown the way Replicate shows a
    prediction whose outputs are gone: ``output`` null, ``data_removed`` true.
    """
    model = f"{doc['owner']}/{doc['name']}"
    return {
        "id": hashlib.sha256(model.encode()).hexdigest()[:26],
        "model": model,
        "version": versions[0]["id"] if versions else None,
        "input": example.get("input", {}),
        "output": None,
        "logs": None,
        "error": None,
        "status": "succeeded",
        "data_removed": True,
        "created_at": doc["created_at"],
        "source": "web",
        "urls": {},
    }
