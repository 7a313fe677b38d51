"""Finding a model's schema document: the version named, else the latest one.

Playground, Compare/Sweep and History all start from a reference a person typed
(or a run recorded) and need the same three answers: the ``openapi_schema`` to
build or check a form with, the reference to run, and the model's default example.
The rule for what to run lives here once: an official model runs by its name (the
API routes it to its current version), any other model by its latest version's
id, so the run matches the schema that was read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from replicate_widgets._client.checks import WIDGET_REF
from replicate_widgets._client.errors import ReplicateError

if TYPE_CHECKING:
    from replicate_widgets._client.client import Client
    from replicate_widgets._client.types import Version

__all__ = ["Found", "find_model", "split_ref"]


class Found(NamedTuple):
    """A model reference looked up on a backend."""

    doc: Mapping[str, Any] | None
    """The version's ``openapi_schema``; None when the backend has none for it."""
    ref: str
    """What to run: ``owner/name`` (official models) or ``owner/name:<version>``."""
    version: Version | Mapping[str, Any] | None
    """The version read (a :class:`Version`, or the model's ``latest_version``)."""
    version_id: str | None
    """The id of the version read; None for a model without versions."""
    official: bool
    """Whether the model is official (it runs by name, without a version)."""
    example: Mapping[str, Any] | None
    """The model's default example input, when the model was read by name."""


def split_ref(ref: str) -> tuple[str, str, str | None]:
    """``owner``, ``name`` and the version id (or None) of what a person typed.

    Raises
    ------
    ValueError
        When ``ref`` is not ``owner/name`` or ``owner/name:<64 hex digits>``.
    """
    match = WIDGET_REF.match(ref.strip()) if isinstance(ref, str) else None
    if match is None:
        raise ValueError(
            f"{ref!r} is not a model reference. Use 'owner/name' or "
            "'owner/name:<64-character version id>', e.g. 'replicate/hello-world'."
        )
    owner, name, version_id = match.groups()
    return owner, name, version_id


def find_model(client: Client, ref: str, *, any_version: bool = False) -> Found:
    """Read the schema of ``ref``: the version it names, else the latest one.

    With ``any_version``, a named version the backend cannot give (deleted, say)
    falls back to the latest one: History uses it to show an old run's inputs.

    Raises
    ------
    ValueError
        For a malformed reference.
    ReplicateError
        When the backend cannot say (e.g. :class:`NotFoundError` for a model it
        does not have).
    """
    owner, name, version_id = split_ref(ref)
    if version_id:
        try:
            version = client.versions.get(f"{owner}/{name}", version_id)
        except ReplicateError:
            if not any_version:
                raise
        else:
            doc = version.openapi_schema or None
            ref = f"{owner}/{name}:{version_id}"
            return Found(doc, ref, version, version_id, False, None)
    model = client.models.get(f"{owner}/{name}")
    latest = model.latest_version or {}
    run_ref = (
        f"{owner}/{name}"
        if model.is_official or not latest.get("id")
        else f"{owner}/{name}:{latest['id']}"
    )
    example = (model.default_example or {}).get("input")
    return Found(
        latest.get("openapi_schema") or None,
        run_ref,
        latest or None,
        latest.get("id") or None,
        bool(model.is_official),
        example if isinstance(example, Mapping) else None,
    )
