"""Every endpoint of the Replicate HTTP API, written once as a :class:`Call` builder.

Functions here check their arguments (with :mod:`.checks`, so mistakes fail before
any request) and return
a :class:`~.http.Call`; they do no I/O. The sync and async resource
namespaces only execute them. The ``/deployments`` endpoints are in
:mod:`.endpoints_deployments`; the response parsers in :mod:`.parsers`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from .checks import (
    REF_HELP,
    cancel_after_header,
    check_id,
    check_json_input,
    id_of,
    parse_model,
    parse_ref,
    prefer_header,
    webhook_fields,
)
from .http import Call
from .parsers import hardware, nothing, one, page_of, text
from .types import (
    Account,
    Collection,
    File,
    Hardware,
    Model,
    Page,
    Prediction,
    Resource,
    Training,
    Version,
    WebhookSecret,
)
from .types_search import SearchResults

R = TypeVar("R", bound=Resource)

# -- endpoints --------------------------------------------------------------------


def get_page(url: str, cls: type[R]) -> Call[Page[R]]:
    """Follow a ``next``/``previous`` URL as-is (it carries the cursor)."""
    return Call("GET", url, page_of(cls))


def account_get() -> Call[Account]:
    """``GET /account``."""
    return Call("GET", "/account", one(Account))


def webhook_secret_get() -> Call[WebhookSecret]:
    """``GET /webhooks/default/secret``."""
    return Call("GET", "/webhooks/default/secret", one(WebhookSecret))


def hardware_list() -> Call[list[Hardware]]:
    """``GET /hardware``."""
    return Call("GET", "/hardware", hardware)


def collections_list() -> Call[Page[Collection]]:
    """``GET /collections``."""
    return Call("GET", "/collections", page_of(Collection))


def collections_get(slug: str) -> Call[Collection]:
    """``GET /collections/{slug}``."""
    return Call("GET", f"/collections/{check_id(slug, 'slug')}", one(Collection))


_SORT_BY = ("model_created_at", "latest_version_created_at")
_SORT_DIRECTION = ("asc", "desc")


def models_list(sort_by: str | None, sort_direction: str | None) -> Call[Page[Model]]:
    """``GET /models``."""
    params: dict[str, str] = {}
    if sort_by is not None:
        if sort_by not in _SORT_BY:
            raise ValueError(
                f"sort_by must be one of {list(_SORT_BY)}, got {sort_by!r}."
            )
        params["sort_by"] = sort_by
    if sort_direction is not None:
        if sort_direction not in _SORT_DIRECTION:
            raise ValueError(
                f"sort_direction must be 'asc' or 'desc', got {sort_direction!r}."
            )
        params["sort_direction"] = sort_direction
    return Call("GET", "/models", page_of(Model), params=params or None)


def models_search(query: str) -> Call[Page[Model]]:
    """``QUERY /models`` with the query as a plain-text body."""
    if not isinstance(query, str) or not query.strip():
        raise ValueError("The search query must be a non-empty string.")
    return Call(
        "QUERY",
        "/models",
        page_of(Model),
        content=query,
        headers={"Content-Type": "text/plain"},
    )


SEARCH_LIMIT = 50
"""The most model results ``GET /search`` returns per query."""


def search(query: str, limit: int | None) -> Call[SearchResults]:
    """``GET /search?query=&limit=`` (models, collections and docs pages)."""
    if not isinstance(query, str) or not query.strip():
        raise ValueError("The search query must be a non-empty string.")
    params = {"query": query}
    if limit is not None:
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= SEARCH_LIMIT
        ):
            raise ValueError(
                f"limit must be a whole number from 1 to {SEARCH_LIMIT} (the most "
                f"models one search returns), got {limit!r}."
            )
        params["limit"] = str(limit)
    return Call("GET", "/search", one(SearchResults), params=params)


_VISIBILITY = ("public", "private")


def models_create(
    owner: str,
    name: str,
    *,
    visibility: str,
    hardware: str,
    description: str | None,
    github_url: str | None,
    paper_url: str | None,
    license_url: str | None,
    cover_image_url: str | None,
) -> Call[Model]:
    """``POST /models``."""
    parse_model(f"{owner}/{name}")
    if visibility not in _VISIBILITY:
        raise ValueError(
            f"visibility must be 'public' or 'private', got {visibility!r}."
        )
    if not isinstance(hardware, str) or not hardware:
        raise ValueError(
            "hardware must be a SKU such as 'cpu' (see client.hardware.list())."
        )
    body: dict[str, Any] = {
        "owner": owner,
        "name": name,
        "visibility": visibility,
        "hardware": hardware,
    }
    optional = {
        "description": description,
        "github_url": github_url,
        "paper_url": paper_url,
        "license_url": license_url,
        "cover_image_url": cover_image_url,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return Call("POST", "/models", one(Model), json=body)


def models_get(ref: str) -> Call[Model]:
    """``GET /models/{owner}/{name}``."""
    return Call("GET", f"/models/{parse_model(ref).path}", one(Model))


def models_update(ref: str, changes: dict[str, str | None]) -> Call[Model]:
    """``PATCH /models/{owner}/{name}`` with only the fields given (not ``None``)."""
    path = f"/models/{parse_model(ref).path}"
    body = {key: value for key, value in changes.items() if value is not None}
    if not body:
        raise ValueError(
            f"Nothing to update: pass at least one of {', '.join(changes)}, e.g. "
            "client.models.update('owner/name', description='...')."
        )
    for key, value in body.items():
        if not isinstance(value, str):
            raise TypeError(f"{key} must be a string, not {type(value).__name__}.")
    return Call("PATCH", path, one(Model), json=body)


def models_delete(ref: str) -> Call[None]:
    """``DELETE /models/{owner}/{name}``."""
    return Call("DELETE", f"/models/{parse_model(ref).path}", nothing)


def models_readme(ref: str) -> Call[str]:
    """``GET /models/{owner}/{name}/readme`` (Markdown)."""
    return Call("GET", f"/models/{parse_model(ref).path}/readme", text)


def models_examples(ref: str) -> Call[Page[Prediction]]:
    """``GET /models/{owner}/{name}/examples``."""
    return Call("GET", f"/models/{parse_model(ref).path}/examples", page_of(Prediction))


def versions_list(ref: str) -> Call[Page[Version]]:
    """``GET /models/{owner}/{name}/versions``."""
    return Call("GET", f"/models/{parse_model(ref).path}/versions", page_of(Version))


def versions_get(ref: str, version_id: str) -> Call[Version]:
    """``GET /models/{owner}/{name}/versions/{id}``."""
    vid = check_id(version_id, "version_id")
    path = f"/models/{parse_model(ref).path}/versions/{vid}"
    return Call("GET", path, one(Version))


def versions_delete(ref: str, version_id: str) -> Call[None]:
    """``DELETE /models/{owner}/{name}/versions/{id}``."""
    vid = check_id(version_id, "version_id")
    path = f"/models/{parse_model(ref).path}/versions/{vid}"
    return Call("DELETE", path, nothing)


def predictions_create(
    ref: str | None,
    input: dict[str, Any],
    *,
    deployment: str | None = None,
    wait: bool | int | None = None,
    cancel_after: str | float | None = None,
    webhook: str | None = None,
    webhook_events_filter: Sequence[str] | None = None,
) -> Call[Prediction]:
    """``POST`` to the right create endpoint for ``ref`` or ``deployment``.

    ``input`` must already be JSON (files converted by :mod:`.files`).
    """
    body: dict[str, Any] = {"input": check_json_input(input)}
    body.update(webhook_fields(webhook, webhook_events_filter))
    prefer, timeout = prefer_header(wait)
    headers = {**prefer, **cancel_after_header(cancel_after)}
    if deployment is not None:
        if ref is not None:
            raise TypeError("Pass either a model reference or deployment=, not both.")
        target = parse_model(deployment, what="deployment")
        path = f"/deployments/{target.path}/predictions"
    elif ref is None:
        raise TypeError(f"A model reference is required. {REF_HELP}")
    else:
        parsed = parse_ref(ref)
        if parsed.version is None:
            path = f"/models/{parsed.path}/predictions"
        else:
            path = "/predictions"
            body = {"version": parsed.version, **body}
    return Call(
        "POST", path, one(Prediction), json=body, headers=headers, timeout=timeout
    )


def predictions_get(prediction: str | Prediction) -> Call[Prediction]:
    """``GET /predictions/{id}``."""
    return Call(
        "GET", f"/predictions/{id_of(prediction, 'prediction id')}", one(Prediction)
    )


def predictions_cancel(prediction: str | Prediction) -> Call[Prediction]:
    """``POST /predictions/{id}/cancel``."""
    pid = id_of(prediction, "prediction id")
    return Call("POST", f"/predictions/{pid}/cancel", one(Prediction))


_SOURCES = ("web", "api")


def predictions_list(
    created_after: str | datetime | None,
    created_before: str | datetime | None,
    source: str | None,
) -> Call[Page[Prediction]]:
    """``GET /predictions`` with optional filters (ISO 8601 times)."""
    params: dict[str, str] = {}
    for key, value in (
        ("created_after", created_after),
        ("created_before", created_before),
    ):
        if value is None:
            continue
        if isinstance(value, datetime):
            params[key] = value.isoformat()
        elif isinstance(value, str):
            params[key] = value
        else:
            raise TypeError(f"{key} must be an ISO 8601 string or a datetime.")
    if source is not None:
        if source not in _SOURCES:
            raise ValueError(f"source must be 'web' or 'api', got {source!r}.")
        params["source"] = source
    return Call("GET", "/predictions", page_of(Prediction), params=params or None)


def trainings_create(
    ref: str,
    *,
    destination: str,
    input: dict[str, Any],
    webhook: str | None,
    webhook_events_filter: Sequence[str] | None,
) -> Call[Training]:
    """``POST /models/{owner}/{name}/versions/{id}/trainings``."""
    parsed = parse_ref(ref)
    if parsed.owner is None or parsed.version is None:
        raise ValueError(
            "Trainings need 'owner/name:version_id' (the trainer's version), got "
            f"{ref!r}."
        )
    parse_model(destination, what="destination")
    body: dict[str, Any] = {
        "destination": destination,
        "input": check_json_input(input),
    }
    body.update(webhook_fields(webhook, webhook_events_filter))
    path = f"/models/{parsed.path}/versions/{quote(parsed.version)}/trainings"
    return Call("POST", path, one(Training), json=body)


def trainings_get(training: str | Training) -> Call[Training]:
    """``GET /trainings/{id}``."""
    return Call("GET", f"/trainings/{id_of(training, 'training id')}", one(Training))


def trainings_cancel(training: str | Training) -> Call[Training]:
    """``POST /trainings/{id}/cancel``."""
    return Call(
        "POST", f"/trainings/{id_of(training, 'training id')}/cancel", one(Training)
    )


def trainings_list() -> Call[Page[Training]]:
    """``GET /trainings``."""
    return Call("GET", "/trainings", page_of(Training))


def files_create(
    content: bytes, *, filename: str, content_type: str, metadata: dict[str, Any] | None
) -> Call[File]:
    """``POST /files`` as multipart: ``content``, ``filename``, ``type``, metadata."""
    if len(filename.encode()) > 255:
        raise ValueError("filename must be at most 255 bytes long.")
    try:
        meta = json.dumps(metadata or {})
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must be JSON-serialisable ({exc}).") from None
    return Call(
        "POST",
        "/files",
        one(File),
        files={"content": (filename, content, content_type)},
        data={"filename": filename, "type": content_type, "metadata": meta},
    )


def files_get(file: str | File) -> Call[File]:
    """``GET /files/{id}``."""
    return Call("GET", f"/files/{id_of(file, 'file id')}", one(File))


def files_delete(file: str | File) -> Call[None]:
    """``DELETE /files/{id}``."""
    return Call("DELETE", f"/files/{id_of(file, 'file id')}", nothing)


def files_list() -> Call[Page[File]]:
    """``GET /files``."""
    return Call("GET", "/files", page_of(File))
