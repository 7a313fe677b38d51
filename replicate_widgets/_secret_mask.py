"""Secret inputs: where a schema puts them, and values with every one masked.

The one home of this rule for the client, the widgets and the local backend: a
leaf module (standard library only) that ``replicate_widgets.server`` may import
(see docs/architecture.md, "Import direction").

Cog marks a ``Secret`` input ``x-cog-secret: true`` (with ``format: password``
and ``writeOnly: true``). A ``list[Secret]`` carries the marks on its ``items``,
an ``Optional[...]`` one may sit inside ``anyOf`` next to ``null``, and schemas
not written by Cog may put secrets in object properties or behind ``$ref``. The
backend stores, returns and quotes inputs only through :meth:`SecretMask.mask`
and :meth:`SecretMask.hides`; only coglet receives the real values.

The widgets mask what they keep or share through
``replicate_widgets._schema.secrets.mask_values``, which uses this class.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._json_pointer import follow_pointer

__all__ = ["SECRET_MASK", "SecretMask", "is_secret"]

SECRET_MASK = "**********"  # noqa: S105 (a mask, not a password)
"""What a secret value is replaced with (Cog renders a ``Secret`` default so)."""

_BRANCHES = ("allOf", "anyOf", "oneOf")


def is_secret(node: Any) -> bool:
    """Tell whether a schema node describes a secret value itself."""
    return isinstance(node, Mapping) and (
        node.get("x-cog-secret") is True or node.get("format") == "password"
    )


class SecretMask:
    """The secrets of one input component of a version's ``openapi_schema``.

    Parameters
    ----------
    openapi
        The version's ``openapi_schema`` (``$ref`` targets are looked up in it).
    name
        The component the values follow: ``Input`` or ``TrainingInput``.
    """

    def __init__(self, openapi: Mapping[str, Any], name: str = "Input") -> None:
        self._document = openapi
        self._root: dict[str, Any] = {"$ref": f"#/components/schemas/{name}"}
        self.any = self._holds(self._root, frozenset())
        """Whether the component has a secret anywhere."""

    def mask(self, value: Any) -> Any:
        """Return ``value`` with every secret in it replaced by `SECRET_MASK`.

        ``None`` stays ``None`` (an unset secret tells nothing), and a value of the
        wrong shape where secrets belong (a string where a ``list[Secret]`` goes)
        is masked whole, since it may be the secret itself.
        """
        if not self.any:
            return value
        return self._mask(value, self._root, frozenset())

    def hides(self, value: Any, path: Sequence[Any]) -> bool:
        """Tell whether what lies at ``path`` in ``value`` is or holds a secret.

        A message about that place must not quote it. ``path`` holds keys and
        list indexes (digit strings count as indexes, as in coglet's ``keys/1``);
        where it cannot be followed further, the deepest place reached decides,
        except that a key or index the value does not have holds nothing.
        """
        if not self.any:
            return False
        original, masked = value, self.mask(value)
        for part in path:
            if original == masked:
                return False
            if isinstance(original, (list, tuple)) and isinstance(masked, list):
                if not (isinstance(part, int) or str(part).isdigit()):
                    break
                index = int(part)
                if index >= len(original):
                    return False
                original, masked = original[index], masked[index]
            elif isinstance(original, Mapping) and isinstance(masked, dict):
                if part not in original:
                    return False
                original, masked = original[part], masked[part]
            else:
                break
        return bool(original != masked)

    # -- walking the schema ---------------------------------------------------------

    def _deref(self, ref: str) -> Any:
        """Follow a local ``#/...`` pointer; ``None`` when it leads nowhere."""
        try:
            return follow_pointer(self._document, ref)
        except LookupError:
            return None

    def _holds(self, node: Any, seen: frozenset[str]) -> bool:
        """Whether ``node`` or anything below it is secret (``seen``: refs followed)."""
        if not isinstance(node, Mapping):
            return False
        if is_secret(node):
            return True
        ref = node.get("$ref")
        if (
            isinstance(ref, str)
            and ref not in seen
            and self._holds(self._deref(ref), seen | {ref})
        ):
            return True
        for key in _BRANCHES:
            branches = node.get(key)
            if isinstance(branches, list) and any(
                self._holds(b, seen) for b in branches
            ):
                return True
        return any(self._holds(child, seen) for child in _children(node))

    def _mask(self, value: Any, node: Any, seen: frozenset[str]) -> Any:
        if value is None or not isinstance(node, Mapping):
            return value
        if is_secret(node):
            return SECRET_MASK
        ref = node.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            value = self._mask(value, self._deref(ref), seen | {ref})
        for key in _BRANCHES:
            branches = node.get(key)
            if isinstance(branches, list):
                for branch in branches:  # every branch may say where a secret is
                    value = self._mask(value, branch, seen)
        items = any(self._holds(c, frozenset()) for c in _item_schemas(node))
        props = any(self._holds(c, frozenset()) for c in _property_schemas(node))
        if isinstance(value, (list, tuple)) and items:
            return [self._apply(v, _item_schema(node, i)) for i, v in enumerate(value)]
        if isinstance(value, Mapping) and props:
            return {
                k: self._apply(v, _property_schema(node, str(k)))
                for k, v in value.items()
            }
        if items or props:
            return SECRET_MASK  # the wrong shape: it may be the secret itself
        return value

    def _apply(self, value: Any, nodes: list[Any]) -> Any:
        for node in nodes:
            value = self._mask(value, node, frozenset())
        return value


def _item_schemas(node: Mapping[str, Any]) -> list[Any]:
    items = node.get("items")
    found = list(items) if isinstance(items, list) else [items]
    return [*found, node.get("additionalItems")]


def _property_schemas(node: Mapping[str, Any]) -> list[Any]:
    found: list[Any] = []
    for key in ("properties", "patternProperties"):
        children = node.get(key)
        if isinstance(children, Mapping):
            found.extend(children.values())
    return [*found, node.get("additionalProperties")]


def _children(node: Mapping[str, Any]) -> list[Any]:
    return [*_item_schemas(node), *_property_schemas(node)]


def _item_schema(node: Mapping[str, Any], index: int) -> list[Any]:
    items = node.get("items")
    if not isinstance(items, list):
        return [items]
    return [items[index] if index < len(items) else node.get("additionalItems")]


def _property_schema(node: Mapping[str, Any], key: str) -> list[Any]:
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
