"""Following a local JSON pointer (``#/components/schemas/Input``) in a document.

A leaf module (standard library only): the schema layer and the secret mask, which
the local backend uses too, follow ``$ref`` the same way (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["follow_pointer"]


def follow_pointer(root: Any, ref: str) -> Any:
    """Return what the local pointer ``ref`` (``#/a/b`` or ``#``) points at in ``root``.

    ``~1`` and ``~0`` stand for ``/`` and ``~`` (RFC 6901); digits index lists.

    Raises
    ------
    LookupError
        For a pointer that is not local (no leading ``#``) or leads nowhere.
    """
    if not ref.startswith("#"):
        raise LookupError(f"not a local reference: {ref!r}")
    node: Any = root
    for raw in ref[1:].split("/")[1:] if ref != "#" else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise LookupError(f"{ref!r} points at nothing in the document")
    return node
