"""``PATCH /v1/models/{owner}/{name}``: change a model's metadata and README.

Works for models made with ``POST /v1/models`` and for models served from
folders. The changed fields are stored with the model and listed under
:data:`~.registry.EDITED`, so a folder's ``model.json`` description does not
undo a PATCH on the next start, and a PATCHed README is served instead of the
folder's ``README.md``.
"""

from __future__ import annotations

from typing import Any

from replicate_widgets.server._problem import Problem, check_body
from replicate_widgets.server._storage.store import Store

from .registry import EDITED, Registry

EDITABLE = (
    "description",
    "github_url",
    "license_url",
    "paper_url",
    "readme",
    "weights_url",
)
"""The fields ``PATCH`` may change, as in Replicate's API."""


def update_model(
    store: Store, registry: Registry, owner: str, name: str, body: Any
) -> dict[str, Any]:
    """Apply a PATCH body to a stored model; return the model's API document.

    Raises
    ------
    Problem
        404 for an unknown model, 400 for a body that is not an object, 422 for
        unknown fields or values that are not strings (each named).
    """
    registry.model_doc(owner, name)  # 404 before looking at the body
    body = check_body(body, EDITABLE)
    not_strings = sorted(k for k, v in body.items() if not isinstance(v, str))
    if not_strings:
        raise Problem(
            422,
            f"{', '.join(not_strings)} must be string(s); send text such as "
            '{"description": "What the model does"}.',
        )
    doc = store.get_model(owner, name)
    assert doc is not None  # noqa: S101 (model_doc found it above)
    doc.update(body)
    doc[EDITED] = sorted(set(doc.get(EDITED, ())) | set(body))
    store.put_model(doc)
    return registry.model_doc(owner, name)


def edited_readme(store: Store, owner: str, name: str) -> str | None:
    """Return the README set with PATCH, or ``None`` when there is none."""
    doc = store.get_model(owner, name)
    readme = None if doc is None else doc.get("readme")
    return readme if isinstance(readme, str) else None
