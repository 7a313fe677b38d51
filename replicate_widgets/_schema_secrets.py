"""Secret inputs on the client: which schemas are secret, and values with them masked.

Cog marks a ``Secret`` ``x-cog-secret: true`` (with ``format: password``); a
``list[Secret]`` carries the marks on its ``items``, an optional one may sit in
``anyOf`` next to ``null``, and other schemas put secrets in object properties or
behind ``$ref``. Whatever the widgets write or show (kept records, shared pages)
goes through `mask_values` first.

The local backend has its own copy of this walk (``replicate_widgets.server``
imports nothing from the client package, and the client does not load the server
to mask a value).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._schema_refs import RefError, follow_ref
from ._schema_types import SECRET_MASK

__all__ = ["has_mask", "is_secret", "mask_values"]

_BRANCHES = ("allOf", "anyOf", "oneOf")


def is_secret(schema: Any) -> bool:
    """Tell whether a schema node describes a secret value itself."""
    return isinstance(schema, Mapping) and (
        schema.get("x-cog-secret") is True or schema.get("format") == "password"
    )


def has_mask(value: Any) -> bool:
    """Tell whether `SECRET_MASK` stands anywhere in ``value`` (a lost secret)."""
    if isinstance(value, str):
        return value == SECRET_MASK
    if isinstance(value, (list, tuple)):
        return any(has_mask(v) for v in value)
    if isinstance(value, Mapping):
        return any(has_mask(v) for v in value.values())
    return False


def mask_values(
    values: Mapping[str, Any], document: Mapping[str, Any], component: str = "Input"
) -> dict[str, Any]:
    """Return ``values`` with every secret in them replaced by `SECRET_MASK`.

    Parameters
    ----------
    values : Mapping
        A prediction's ``input``.
    document : Mapping
        The located OpenAPI document (``ModelSchema.raw``).
    component : str
        The schema ``values`` follow: ``Input`` or ``TrainingInput``.

    Returns
    -------
    dict
        A new dict. ``None`` stays ``None``; a value of the wrong shape where
        secrets belong (text where a ``list[Secret]`` goes) is masked whole, as it
        may be the secret itself.
    """
    walker = _Walker(document)
    root = {"$ref": f"#/components/schemas/{component}"}
    masked = walker.mask(dict(values), root, frozenset())
    return dict(masked) if isinstance(masked, Mapping) else dict(values)


class _Walker:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self._document = document

    def _deref(self, ref: str) -> Any:
        try:
            return follow_ref(self._document, ref)
        except RefError:
            return None

    def holds(self, node: Any, seen: frozenset[str]) -> bool:
        """Whether ``node`` or anything below it is secret (``seen``: refs followed)."""
        if not isinstance(node, Mapping):
            return False
        if is_secret(node):
            return True
        ref = node.get("$ref")
        if (
            isinstance(ref, str)
            and ref not in seen
            and self.holds(self._deref(ref), seen | {ref})
        ):
            return True
        for key in _BRANCHES:
            branches = node.get(key)
            if isinstance(branches, list) and any(
                self.holds(b, seen) for b in branches
            ):
                return True
        return any(
            self.holds(c, seen) for c in (*_item_schemas(node), *_prop_schemas(node))
        )

    def mask(self, value: Any, node: Any, seen: frozenset[str]) -> Any:
        if value is None or not isinstance(node, Mapping):
            return value
        if is_secret(node):
            return SECRET_MASK
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            value = self.mask(value, self._deref(ref), seen | {ref})
        for key in _BRANCHES:
            branches = node.get(key)
            if isinstance(branches, list):
                for branch in branches:  # every branch may say where a secret is
                    value = self.mask(value, branch, seen)
        items = any(self.holds(c, frozenset()) for c in _item_schemas(node))
        props = any(self.holds(c, frozenset()) for c in _prop_schemas(node))
        if isinstance(value, (list, tuple)) and items:
            return [self.apply(v, _item_schema(node, i)) for i, v in enumerate(value)]
        if isinstance(value, Mapping) and props:
            return {
                k: self.apply(v, _prop_schema(node, str(k))) for k, v in value.items()
            }
        if items or props:
            return SECRET_MASK  # the wrong shape: it may be the secret itself
        return value

    def apply(self, value: Any, nodes: list[Any]) -> Any:
        for node in nodes:
            value = self.mask(value, node, frozenset())
        return value


def _item_schemas(node: Mapping[str, Any]) -> list[Any]:
    items = node.get("items")
    found = list(items) if isinstance(items, list) else [items]
    return [*found, node.get("additionalItems")]


def _prop_schemas(node: Mapping[str, Any]) -> list[Any]:
    found: list[Any] = []
    for key in ("properties", "patternProperties"):
        children = node.get(key)
        if isinstance(children, Mapping):
            found.extend(children.values())
    return [*found, node.get("additionalProperties")]


def _item_schema(node: Mapping[str, Any], index: int) -> list[Any]:
    items = node.get("items")
    if not isinstance(items, list):
        return [items]
    return [items[index] if index < len(items) else node.get("additionalItems")]


def _prop_schema(node: Mapping[str, Any], key: str) -> list[Any]:
    properties = node.get("properties")
    found: list[Any] = []
    if isinstance(properties, Mapping) and key in properties:
        found.append(properties[key])
    patterns = node.get("patternProperties")
    if isinstance(patterns, Mapping):
        for pattern, child in patterns.items():
            try:
                if re.search(str(pattern), key):
                    found.append(child)
            except re.error:
                continue
    if not found:
        found.append(node.get("additionalProperties"))
    return found
