"""Classifying a model's ``Output`` schema into how its value should be shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from replicate_widgets._secret_mask import is_secret

from .refs import RefError, resolve
from .types import OutputKind, OutputSpec

_MAX_DEPTH = 8
"""Output objects nest one or two levels in practice; deeper is shown as JSON."""


def _resolved(root: Mapping[str, Any], schema: Any) -> dict[str, Any] | None:
    if not isinstance(schema, Mapping):
        return None
    try:
        return resolve(root, schema)
    except RefError:
        return None


def _type(schema: Mapping[str, Any]) -> str | None:
    declared = schema.get("type")
    if isinstance(declared, list):
        names = [t for t in declared if isinstance(t, str) and t != "null"]
        declared = names[0] if len(names) == 1 else None
    return declared if isinstance(declared, str) else None


def _is_number_list(spec: OutputSpec) -> bool:
    if spec.kind == "number":
        return True
    return spec.kind == "embedding" and spec.items is not None


def build_output(root: Mapping[str, Any], schema: Any, _depth: int = 0) -> OutputSpec:
    """Describe an ``Output`` schema (possibly missing or broken) as an `OutputSpec`.

    Parameters
    ----------
    root : Mapping
        The document, for resolving references.
    schema : Any
        The ``Output`` component, or None when the document has none.

    Returns
    -------
    OutputSpec
        Never raises: anything unrecognised is ``json``.
    """
    resolved = _resolved(root, schema)
    if resolved is None or _depth > _MAX_DEPTH:
        return OutputSpec(kind="json", schema=resolved or {})
    kind = _type(resolved)
    fmt = resolved.get("format")
    if is_secret(resolved):
        return OutputSpec(kind="text", schema=resolved)
    if kind == "string":
        return OutputSpec(kind="file" if fmt == "uri" else "text", schema=resolved)
    if kind in ("integer", "number"):
        return OutputSpec(kind="number", schema=resolved)
    if kind == "boolean":
        return OutputSpec(kind="boolean", schema=resolved)
    if kind == "object" or (
        kind is None and isinstance(resolved.get("properties"), Mapping)
    ):
        props = resolved.get("properties")
        if not isinstance(props, Mapping) or not props:
            return OutputSpec(kind="json", schema=resolved)
        specs = {str(k): build_output(root, v, _depth + 1) for k, v in props.items()}
        return OutputSpec(kind="object", schema=resolved, properties=specs)
    if kind == "array":
        return _array(root, resolved, _depth)
    return OutputSpec(kind="json", schema=resolved)


def _array(root: Mapping[str, Any], schema: dict[str, Any], depth: int) -> OutputSpec:
    iterator = schema.get("x-cog-array-type") == "iterator"
    concatenate = schema.get("x-cog-array-display") == "concatenate"
    items = build_output(root, schema.get("items", {}), depth + 1)
    kind: OutputKind
    if items.kind == "text" and concatenate:
        kind = "text-stream"
    elif items.kind == "file" or (items.kind == "files" and items.items is not None):
        # Iterator[List[Path]] (batches of files) still shows as a stream of files
        kind = "file-stream" if iterator else "files"
    elif _is_number_list(items) and not iterator:
        kind = "embedding"
    else:
        kind = "json"
    return OutputSpec(kind=kind, schema=schema, items=items, iterator=iterator)
