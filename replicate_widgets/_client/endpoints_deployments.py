"""The ``/deployments`` endpoints as :class:`~.http.Call` builders.

Kept apart from :mod:`.endpoints` (which also builds the predictions a deployment
runs) so each module stays small; like it, these functions check their arguments
before any request and do no I/O.
"""

from __future__ import annotations

import re
from typing import Any

from replicate_widgets._model_names import is_model_name

from .checks import parse_model
from .http import Call
from .parsers import nothing, one, page_of
from .types import Page
from .types_deployments import Deployment

_VERSION_ID = re.compile(r"^[0-9a-f]{64}$")
_UPDATABLE = ("version", "hardware", "min_instances", "max_instances")


def _path(ref: str) -> str:
    return f"/deployments/{parse_model(ref, what='deployment').path}"


def _check_version(version: Any) -> None:
    if not isinstance(version, str) or not _VERSION_ID.match(version):
        raise ValueError(
            f"version must be a 64-character version id, got {version!r}; find ids "
            "with client.versions.list('owner/name')."
        )


def _check_instances(min_instances: Any, max_instances: Any) -> None:
    # Only the lower bound and the order are checked here: the upper bounds are
    # the server's to set (5 and 20 today) and may be raised for an account.
    for key, value in (
        ("min_instances", min_instances),
        ("max_instances", max_instances),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{key} must be a whole number >= 0, got {value!r}.")
    both = min_instances is not None and max_instances is not None
    if both and min_instances > max_instances:
        raise ValueError(
            f"min_instances ({min_instances}) cannot exceed max_instances "
            f"({max_instances})."
        )


def _check_hardware(hardware: Any) -> None:
    if not isinstance(hardware, str) or not hardware:
        raise ValueError(
            "hardware must be a SKU such as 'cpu' or 'gpu-t4' (see "
            "client.hardware.list())."
        )


def deployments_list() -> Call[Page[Deployment]]:
    """``GET /deployments``."""
    return Call("GET", "/deployments", page_of(Deployment))


def deployments_get(ref: str) -> Call[Deployment]:
    """``GET /deployments/{owner}/{name}``."""
    return Call("GET", _path(ref), one(Deployment))


def deployments_create(
    *,
    name: str,
    model: str,
    version: str,
    hardware: str,
    min_instances: int,
    max_instances: int,
) -> Call[Deployment]:
    """``POST /deployments`` with every field the API requires."""
    if not is_model_name(name):
        hint = (
            " Pass the name alone: the deployment is created under your account."
            if isinstance(name, str) and "/" in name
            else ""
        )
        raise ValueError(
            f"name {name!r} is not a deployment name: use lowercase letters, digits, "
            f"'-', '_' and '.', starting and ending with a letter or digit.{hint}"
        )
    parse_model(model)
    _check_version(version)
    _check_hardware(hardware)
    for key, value in (
        ("min_instances", min_instances),
        ("max_instances", max_instances),
    ):
        if value is None:
            raise ValueError(f"{key} is required, a whole number >= 0.")
    _check_instances(min_instances, max_instances)
    body = {
        "name": name,
        "model": model,
        "version": version,
        "hardware": hardware,
        "min_instances": min_instances,
        "max_instances": max_instances,
    }
    return Call("POST", "/deployments", one(Deployment), json=body)


def deployments_update(ref: str, changes: dict[str, Any]) -> Call[Deployment]:
    """``PATCH /deployments/{owner}/{name}`` with only the fields given."""
    path = _path(ref)
    body = {key: value for key, value in changes.items() if value is not None}
    if not body:
        raise ValueError(
            f"Nothing to update: pass at least one of {', '.join(_UPDATABLE)}, e.g. "
            "client.deployments.update('owner/name', max_instances=3)."
        )
    if "version" in body:
        _check_version(body["version"])
    if "hardware" in body:
        _check_hardware(body["hardware"])
    _check_instances(body.get("min_instances"), body.get("max_instances"))
    return Call("PATCH", path, one(Deployment), json=body)


def deployments_delete(ref: str) -> Call[None]:
    """``DELETE /deployments/{owner}/{name}``."""
    return Call("DELETE", _path(ref), nothing)
