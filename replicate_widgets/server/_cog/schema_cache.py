"""Keep what the schema generator found for a model folder, to skip it next time.

Generating a model's schema imports the model in a subprocess (0.3 to 1 s each,
mostly cog's own imports), and the backend's start waited for every bundled
model's. The result depends only on the folder's files, what ``cog.yaml`` says
to run, the installed cog and Python, and the generator's own code, so it is
kept in the folder's ``.cog/schema-cache.json`` under a hash of all of those;
any change to one of them misses the cache and generates again.

Only the bundled models use it (:func:`~.models.bundled_models`): a person's
own model may import code from outside its folder, which no hash here covers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from replicate_widgets.server._storage.model_files import hash_files, write_json

__all__ = ["cache_key", "load_cached", "store_cached"]

_FILE = Path(".cog", "schema-cache.json")
# The generator: the worker and the modules it imports to describe a model.
_GENERATOR = sorted(
    p
    for p in Path(__file__).parent.glob("*.py")
    if p.name == "schema_worker.py" or p.name.startswith("cogschema")
)


def cache_key(directory: Path, parts: list[str]) -> str:
    """Return the key of ``directory``'s schema, given what else it depends on.

    ``parts`` are the run references, environment and cog version the caller
    passes to the generator.
    """
    digest = hashlib.sha256(b"schema-cache 1\0")
    for part in (hash_files(directory), sys.version, sys.executable, *parts):
        digest.update(part.encode() + b"\0")
    for path in _GENERATOR:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def load_cached(directory: Path, key: str) -> dict[str, Any] | None:
    """Return the generator's result kept under ``key``, or ``None``."""
    with contextlib.suppress(OSError, ValueError):
        kept = json.loads((directory / _FILE).read_text(encoding="utf-8"))
        if isinstance(kept, dict) and kept.get("key") == key:
            result = kept.get("result")
            if isinstance(result, dict) and result.get("ok"):
                return result
    return None


def store_cached(directory: Path, key: str, result: dict[str, Any]) -> None:
    """Keep a successful result; a folder that cannot be written just misses."""
    with contextlib.suppress(OSError):
        write_json(directory / _FILE, {"key": key, "result": result})
