"""Deployments on the local backend: a name that runs one model version.

A deployment is stored as the API document Replicate returns (``owner``,
``name``, ``current_release``) and survives restarts in the store. Every
change is a new release with the next ``number``. All deployments belong to
the local account (:data:`~.registry.ACCOUNT`). Hardware is checked and
recorded as the cloud would; the instance bounds are honoured by the runner
pool (:mod:`replicate_widgets.server._engine.instances`): ``min_instances`` processes
kept running, up to ``max_instances`` under queued work.
"""

from __future__ import annotations

from typing import Any

from replicate_widgets._model_names import is_model_name
from replicate_widgets.server._clock import now_iso
from replicate_widgets.server._problem import Problem, check_body
from replicate_widgets.server._storage.store import Store

from .registry import ACCOUNT, HARDWARE

CREATE_KEYS = (
    "name",
    "model",
    "version",
    "hardware",
    "min_instances",
    "max_instances",
)
UPDATE_KEYS = ("version", "hardware", "min_instances", "max_instances")
MAX_INSTANCES = {"min_instances": 5, "max_instances": 20}
"""Upper bounds of the instance counts, from Replicate's OpenAPI document."""


class Deployments:
    """Create, read, change and delete the stored deployments.

    Parameters
    ----------
    store
        Where deployments persist (and models and versions are looked up).
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    # ---------------------------------------------------------------- reads
    def get(self, owner: str, name: str) -> dict[str, Any]:
        """Return a deployment document, or raise a 404 problem."""
        return self._find(owner, name)[1]

    def _find(self, owner: str, name: str) -> tuple[str, dict[str, Any]]:
        """Return ``(created_at, doc)`` of a deployment, or raise a 404 problem."""
        found = self._store.get_deployment(owner, name)
        if found is None:
            raise Problem(
                404,
                f"Deployment {owner}/{name} does not exist. List deployments with "
                "GET /v1/deployments, or create one with POST /v1/deployments "
                f"(it will be {ACCOUNT['username']}/<name>).",
            )
        return found

    def all(self) -> list[dict[str, Any]]:
        """Return every deployment, newest first."""
        return self._store.list_deployments()

    def target(self, owner: str, name: str) -> tuple[str, str]:
        """Return ``(model, version)`` a prediction on the deployment runs.

        Raises
        ------
        Problem
            404 for an unknown deployment; 409 when its version was deleted.
        """
        release = self.get(owner, name)["current_release"]
        model, version = release["model"], release["version"]
        found = self._store.get_version(version)
        if found is None or f"{found[0]}/{found[1]}" != model:
            raise Problem(
                409,
                f"Deployment {owner}/{name} runs version {version} of {model}, "
                "which no longer exists. Point it at another version with PATCH "
                f"/v1/deployments/{owner}/{name} and a version from GET "
                f"/v1/models/{model}/versions.",
            )
        return model, version

    # -------------------------------------------------------------- changes
    def create(self, body: Any) -> dict[str, Any]:
        """Create a deployment from a ``POST /v1/deployments`` body (release 1)."""
        check_body(body, CREATE_KEYS)
        missing = [key for key in CREATE_KEYS if key not in body]
        if missing:
            raise Problem(
                422,
                f"Missing field(s) {', '.join(missing)}: a deployment needs "
                f"{', '.join(CREATE_KEYS)}.",
            )
        name = body["name"]
        if not is_model_name(name):
            raise Problem(
                422,
                f"name {name!r} is not a valid deployment name: use lowercase "
                "letters, digits, '-', '_' and '.', starting and ending with a "
                "letter or digit (the owner is the account, not part of the name).",
            )
        model = body["model"]
        self._check_model(model)
        self._check_version(model, body["version"])
        config = self._config(body, {})
        owner = ACCOUNT["username"]
        if self._store.get_deployment(owner, name) is not None:
            raise Problem(
                409,
                f"A deployment named {owner}/{name} already exists. Change it with "
                f"PATCH /v1/deployments/{owner}/{name}, or pick another name.",
            )
        created = now_iso()
        doc = {
            "owner": owner,
            "name": name,
            "current_release": _release(1, model, body["version"], config, created),
        }
        self._store.put_deployment(doc, created)
        return doc

    def update(self, owner: str, name: str, body: Any) -> dict[str, Any]:
        """Apply a ``PATCH`` body; the result is the next release."""
        created, doc = self._find(owner, name)
        current = doc["current_release"]
        check_body(body, UPDATE_KEYS)
        if not body:
            raise Problem(
                422,
                f"Nothing to change: send any of {', '.join(UPDATE_KEYS)}, e.g. "
                '{"max_instances": 3}.',
            )
        model = current["model"]
        version = body.get("version", current["version"])
        if "version" in body:
            self._check_version(model, version)
        config = self._config(body, current["configuration"])
        release = _release(current["number"] + 1, model, version, config, now_iso())
        doc = {**doc, "current_release": release}
        self._store.put_deployment(doc, created)
        return doc

    def delete(self, owner: str, name: str) -> None:
        """Delete a deployment (404 when there is none)."""
        self.get(owner, name)
        self._store.delete_deployment(owner, name)

    # --------------------------------------------------------------- checks
    def _check_model(self, model: Any) -> None:
        owner, _, name = (
            model.partition("/") if isinstance(model, str) else ("", "", "")
        )
        if not owner or not name or self._store.get_model(owner, name) is None:
            raise Problem(
                422,
                f"model {model!r} is not a model on this server: give owner/name of "
                "one listed by GET /v1/models.",
            )

    def _check_version(self, model: str, version: Any) -> None:
        found = self._store.get_version(version) if isinstance(version, str) else None
        if found is None or f"{found[0]}/{found[1]}" != model:
            raise Problem(
                422,
                f"version {version!r} is not a version of {model}: give the "
                f"64-character id of one listed by GET /v1/models/{model}/versions.",
            )

    def _config(self, body: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        """Return the release configuration: ``current`` with ``body``'s changes."""
        config: dict[str, Any] = {
            key: body.get(key, current.get(key)) for key in UPDATE_KEYS[1:]
        }
        skus = [h["sku"] for h in HARDWARE]
        if config["hardware"] not in skus:
            raise Problem(
                422,
                f"hardware {config['hardware']!r} is not available locally; use one "
                f"of {', '.join(skus)} (GET /v1/hardware).",
            )
        for key, most in MAX_INSTANCES.items():
            value = config[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise Problem(422, f"{key} must be a whole number from 0 to {most}.")
            if not 0 <= value <= most:
                raise Problem(422, f"{key} is {value}; it must be from 0 to {most}.")
        if config["min_instances"] > config["max_instances"]:
            raise Problem(
                422,
                f"min_instances ({config['min_instances']}) cannot exceed "
                f"max_instances ({config['max_instances']}); raise max_instances "
                "or lower min_instances.",
            )
        return config


def _release(
    number: int, model: str, version: str, config: dict[str, Any], created: str
) -> dict[str, Any]:
    return {
        "number": number,
        "model": model,
        "version": version,
        "created_at": created,
        "created_by": dict(ACCOUNT),
        "configuration": config,
    }
