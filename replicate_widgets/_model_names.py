"""What an owner or model name may be, and the names of the bundled demo models.

The one home of these rules for the client, the widgets and the local backend: a
leaf module (standard library only) that ``replicate_widgets.server`` may import
(see docs/architecture.md, "Import direction").

Replicate's names are lowercase letters, digits, ``-``, ``_`` and ``.``, starting
and ending with a letter or digit (``sdxl``, ``hello-world``, ``flux-1.1-pro``).
References typed by a person (``owner/name:version``) are parsed more leniently by
``replicate_widgets._client.checks``, which leaves the verdict to the server.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

__all__ = ["BUNDLED_DIR", "MODEL_NAME", "bundled_model_refs", "is_model_name"]

MODEL_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?$")
"""An owner, model or deployment name (anchored; use `is_model_name`)."""

BUNDLED_DIR = Path(__file__).parent / "server" / "models"
"""The demo model folders the local backend ships with."""
_BUNDLED_OWNER = "demo"


def is_model_name(value: object) -> bool:
    """Tell whether ``value`` is a valid owner, model or deployment name."""
    return isinstance(value, str) and MODEL_NAME.match(value) is not None


def bundled_model_refs() -> dict[Path, tuple[str, str]]:
    """Return ``(owner, name)`` of each bundled model folder, sorted by folder.

    Read from each folder's ``model.json`` (``owner`` defaults to ``demo``,
    ``name`` to the folder's name), so nothing is started or imported. A folder
    without ``predict.py`` is not a model; an unreadable ``model.json`` gives the
    defaults (the backend's loader reports it when it loads the folder).
    """
    found: dict[Path, tuple[str, str]] = {}
    for directory in sorted(BUNDLED_DIR.iterdir()):
        if not (directory / "predict.py").is_file():
            continue
        meta: object = {}
        with contextlib.suppress(OSError, ValueError):
            meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            meta = {}
        owner = str(meta.get("owner", _BUNDLED_OWNER))
        found[directory] = (owner, str(meta.get("name", directory.name)))
    return found
