"""Import jsonschema without compiling a grammar this package never uses.

``import jsonschema`` imports ``rfc3987_syntax`` when it is installed (Jupyter
servers install it, through ``jsonschema[format-nongpl]``), and that module compiles
a Lark grammar for IRIs at import: about 2 s, most of ``import replicate_widgets``
and so of the time from running a cell to seeing its form. This package checks no
formats (``_schema_validate.FORMATS`` is empty), so the grammar is needed only if the
person's own code validates ``"format": "iri"``.

Importing this module (the package's ``__init__`` does it first) puts a stand-in
for ``rfc3987_syntax`` in ``sys.modules`` before jsonschema is imported.
jsonschema takes its ``is_valid_syntax`` from it; the real module is imported
(and replaces the stand-in) on the first call, or on the first use of any other
name. Nothing changes in what validates and what does not.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

__all__: list[str] = []

_NAME = "rfc3987_syntax"
_lock = threading.Lock()


class _StandIn(types.ModuleType):
    """``rfc3987_syntax`` until it is really used."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # import machinery probing: not a use
            raise AttributeError(name)
        return getattr(_real(), name)


def _is_valid_syntax(*args: Any, **kwargs: Any) -> Any:
    return _real().is_valid_syntax(*args, **kwargs)


def _real() -> types.ModuleType:
    with _lock:
        module = sys.modules.get(_NAME)
        if not isinstance(module, _StandIn):
            return module or importlib.import_module(_NAME)
        del sys.modules[_NAME]
        try:
            return importlib.import_module(_NAME)
        except BaseException:
            sys.modules[_NAME] = module
            raise


def _defer_iri_grammar() -> None:
    """Put the stand-in in place, unless jsonschema or the module is already loaded."""
    if _NAME in sys.modules or "jsonschema" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(_NAME)
    except (ImportError, ValueError):
        return
    if spec is None:
        return  # not installed: jsonschema skips the IRI formats itself
    stand_in = _StandIn(_NAME, "Stand-in until first use (replicate_widgets).")
    stand_in.is_valid_syntax = _is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[_NAME] = stand_in


_defer_iri_grammar()
