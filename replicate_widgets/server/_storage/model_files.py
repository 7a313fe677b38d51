"""Reading and writing the files of a model folder.

The default predictor of a folder without ``run:``/``predict:`` in ``cog.yaml``
(which :mod:`replicate_widgets.server._cog.cog_yaml` reads), the ``model.json`` sidecar,
the version hash over the folder's files, and atomic JSON writes for ``.cog/``.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

__all__ = [
    "ModelLoadError",
    "default_predictor",
    "force_streaming",
    "hash_files",
    "hash_folder",
    "read_sidecar",
    "writable_copy",
    "write_json",
]

_SKIP_DIRS = {".cog", "__pycache__", ".git", ".ipynb_checkpoints"}


class ModelLoadError(Exception):
    """A model folder cannot be served; the message says what to fix."""


_PARSE_LOCK = threading.Lock()


def default_predictor(source: Path) -> str:
    """Pick the predictor class in ``source`` (``run.py`` or ``predict.py``).

    For a folder whose ``cog.yaml`` names none: a class called ``Predictor`` or
    ``Runner``, else the only ``BasePredictor``/``BaseRunner`` subclass.
    """
    fallback = f"{source.name}:{'Runner' if source.name == 'run.py' else 'Predictor'}"
    try:
        # CPython 3.11 can fail "AST constructor recursion depth mismatch" when
        # threads parse at once, and models load on several threads.
        with _PARSE_LOCK:
            tree = ast.parse(source.read_text(encoding="utf-8"))
    except SyntaxError:
        return fallback  # the schema worker reports the error
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    names = [c.name for c in classes]
    for preferred in ("Predictor", "Runner"):
        if preferred in names:
            return f"{source.name}:{preferred}"
    runners = [
        c.name
        for c in classes
        if any(
            (isinstance(b, ast.Name) and b.id in ("BaseRunner", "BasePredictor"))
            or (
                isinstance(b, ast.Attribute)
                and b.attr in ("BaseRunner", "BasePredictor")
            )
            for b in c.bases
        )
    ]
    if len(runners) == 1:
        return f"{source.name}:{runners[0]}"
    return fallback


def read_sidecar(directory: Path) -> dict[str, Any]:
    path = directory / "model.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelLoadError(
            f"{path} is not valid JSON ({exc}); fix it or delete it"
        ) from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path} must hold a JSON object")
    pinned = data.get("version")
    if pinned is not None and not re.fullmatch(r"[0-9a-f]{64}", str(pinned)):
        raise ModelLoadError(
            f"{path}: 'version' must be 64 lowercase hex digits, got {pinned!r}"
        )
    return data


def hash_folder(directory: Path, schema: dict[str, Any]) -> str:
    digest = _hash_files(directory)
    digest.update(json.dumps(schema, sort_keys=True).encode())
    return digest.hexdigest()


def hash_files(directory: Path) -> str:
    """Return the sha256 of the folder's files, as :func:`hash_folder` walks them."""
    return _hash_files(directory).hexdigest()


def _hash_files(directory: Path) -> hashlib._Hash:
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(
            d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".")
        )
        for name in sorted(files):
            path = Path(root, name)
            if name.startswith(".") or name.endswith((".pyc", ".pyo")):
                continue
            if path.parent == directory and name == "model.json":
                continue  # metadata (description, cover), not the model
            digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest


def write_json(path: Path, document: dict[str, Any]) -> None:
    # Each backend start writes the same schemas again for every model: a file
    # that already holds the document is left alone (replacing it cost up to
    # 40 ms of the first form's wait on this disk; json.loads is C, an indented
    # json.dump is not).
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_bytes()) == document:
            return
    # Atomic, because a coglet starting in this folder may be reading it.
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8"
    ) as fh:
        json.dump(document, fh, indent=2)
    os.replace(fh.name, path)


def force_streaming(document: dict[str, Any]) -> dict[str, Any]:
    forced = copy.deepcopy(document)
    post = forced.get("paths", {}).get("/predictions", {}).get("post")
    if post is not None:
        post["x-cog-streaming"] = True
    return forced


def writable_copy(directory: Path) -> Path:
    """Return ``directory``, or a copy under the user cache if it is read-only.

    coglet needs ``.cog/`` next to ``predict.py``; an installed package may live
    in a read-only site-packages.
    """
    cog_dir = directory / ".cog"
    if os.access(directory, os.W_OK) and (
        not cog_dir.exists() or os.access(cog_dir, os.W_OK)
    ):
        return directory
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    target = cache / "replicate-widgets" / "models" / directory.name
    shutil.copytree(
        directory, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".cog")
    )
    return target
