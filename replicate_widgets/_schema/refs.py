"""Finding the schemas inside what the API returns, and resolving ``$ref``/``allOf``.

Cog points each choice input at a component (``allOf: [{$ref: ...}]``) and keeps the
property's own ``default``/``x-order``/``description`` next to it, so resolution is a
merge where the referring schema's keys win.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from replicate_widgets._json_pointer import follow_pointer

from .types import SchemaError

_MAX_DEPTH = 32
"""How deep ``$ref`` chains may go; real documents use one level."""


class RefError(Exception):
    """A ``$ref`` that cannot be followed (external, dangling or cyclic)."""


def locate_document(doc: Any) -> dict[str, Any]:
    """Return the OpenAPI document (with ``components.schemas``) inside ``doc``.

    Parameters
    ----------
    doc : Mapping
        A full OpenAPI document, a version object (``openapi_schema``), a model
        object (``latest_version.openapi_schema``), a bare
        ``{"components": {"schemas": ...}}``, a bare ``{"schemas": ...}`` map, or an
        ``Input`` object schema on its own.

    Returns
    -------
    dict
        A document whose ``components.schemas`` is a dict.

    Raises
    ------
    SchemaError
        When nothing usable is found; the message says what was expected.
    """
    if not isinstance(doc, Mapping):
        raise SchemaError(
            "expected the model's OpenAPI schema as a dict (a model, a version, or its "
            f"openapi_schema), got {type(doc).__name__}; pass e.g. "
            "client.versions.get(...).openapi_schema"
        )
    if "latest_version" in doc and "components" not in doc:
        latest = doc["latest_version"]
        if not isinstance(latest, Mapping):
            raise SchemaError(
                "this model has no published version, so it has no input schema; "
                "pick a model that has been pushed, or pass a version's openapi_schema"
            )
        return locate_document(latest)
    if "openapi_schema" in doc and "components" not in doc:
        inner = doc["openapi_schema"]
        if not isinstance(inner, Mapping):
            raise SchemaError(
                "this version has no openapi_schema (the API returned null); "
                "choose another version of the model"
            )
        return locate_document(inner)
    components = doc.get("components")
    if isinstance(components, Mapping):
        schemas = components.get("schemas")
        if isinstance(schemas, Mapping):
            return dict(doc)
        raise SchemaError(
            "the document's 'components' has no 'schemas' object, so there are no "
            "inputs to show; pass the model version's full openapi_schema"
        )
    if isinstance(doc.get("schemas"), Mapping):
        return {"components": {"schemas": doc["schemas"]}}
    if isinstance(doc.get("properties"), Mapping):
        # an Input object schema given on its own: wrap it so refs still resolve
        return {"components": {"schemas": {"Input": dict(doc)}}}
    raise SchemaError(
        "this does not look like a Cog/Replicate model schema: expected "
        "'components.schemas' (an openapi_schema), 'openapi_schema' (a version) or "
        "'latest_version' (a model)"
    )


def schemas_of(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """Return ``doc["components"]["schemas"]`` of a located document."""
    schemas: Mapping[str, Any] = doc["components"]["schemas"]
    return schemas


def follow_ref(root: Mapping[str, Any], ref: Any) -> Any:
    """Return what a local JSON pointer ``ref`` (``#/a/b``) points at in ``root``.

    Raises
    ------
    RefError
        For non-local or dangling references.
    """
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise RefError(f"only local references ('#/...') are supported, got {ref!r}")
    try:
        return follow_pointer(root, ref)
    except LookupError:
        raise RefError(
            f"the reference {ref!r} points at nothing in the document"
        ) from None


def resolve(
    root: Mapping[str, Any], schema: Any, _seen: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Merge ``$ref`` targets and ``allOf`` parts into one schema; own keys win.

    Only the top level is resolved: nested schemas (``items``, ``properties``) keep
    their references and are resolved when they are looked at.

    Parameters
    ----------
    root : Mapping
        The document references are resolved against.
    schema : Any
        A schema object (anything else is an error).

    Returns
    -------
    dict
        A new dict; ``root`` and ``schema`` are not modified.

    Raises
    ------
    RefError
        For schemas that are not objects, and for references that cannot be followed
        (external, dangling, cyclic or nested deeper than 32 levels).
    """
    if not isinstance(schema, Mapping):
        raise RefError(f"a schema must be an object, got {type(schema).__name__}")
    if len(_seen) > _MAX_DEPTH:
        raise RefError("references nest too deeply (a cycle?)")
    merged: dict[str, Any] = {}
    ref = schema.get("$ref")
    if ref is not None:
        if ref in _seen:
            raise RefError(f"the reference {ref!r} refers to itself")
        merged.update(resolve(root, follow_ref(root, ref), (*_seen, str(ref))))
    parts = schema.get("allOf")
    if isinstance(parts, list):
        for part in parts:
            merged.update(resolve(root, part, (*_seen, "allOf")))
    elif parts is not None:
        raise RefError("'allOf' must be a list of schemas")
    merged.update({k: v for k, v in schema.items() if k not in ("$ref", "allOf")})
    return merged
