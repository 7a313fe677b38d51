"""The public names of ``import replicate_widgets as rw``: listed alike, shown alike.

``__init__.py`` names each public object in ``__all__``, and each lazily loaded one
again in the lazy-import table and in the ``TYPE_CHECKING`` block (for type
checkers). Static typing needs all three written out; this test makes them agree.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import traceback
from pathlib import Path
from types import FunctionType

import pytest

import replicate_widgets as rw

INIT = Path(rw.__file__)


def _tree() -> ast.Module:
    return ast.parse(INIT.read_text(encoding="utf-8"))


def _type_checking_imports() -> dict[str, str]:
    """``name -> .module`` imported under ``if TYPE_CHECKING:``."""
    found: dict[str, str] = {}
    for node in _tree().body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom), ast.unparse(stmt)
                for alias in stmt.names:
                    found[alias.asname or alias.name] = "." * stmt.level + (
                        stmt.module or ""
                    )
    return found


def _eager_imports() -> set[str]:
    """Public names ``__init__`` imports at the top level (loaded with the package)."""
    names: set[str] = set()
    for node in _tree().body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names.update(a.asname or a.name for a in node.names)
    return {n for n in names if not n.startswith("_")}


def test_all_lists_every_public_name_once_sorted() -> None:
    assert rw.__all__ == sorted(set(rw.__all__))
    expected = _eager_imports() | set(rw._LAZY) | {"__version__"}
    assert set(rw.__all__) == expected


def test_lazy_table_and_type_checking_block_agree() -> None:
    assert _type_checking_imports() == rw._LAZY


def test_every_public_name_resolves() -> None:
    for name in rw.__all__:
        assert getattr(rw, name) is not None, name


def test_public_classes_and_functions_report_the_package() -> None:
    for name in rw.__all__:
        value = getattr(rw, name)
        if isinstance(value, (type, FunctionType)):
            assert value.__module__ == "replicate_widgets", name
            assert repr(value).startswith(("<class 'replicate_widgets.", "<function"))
    with pytest.raises(rw.SchemaError) as caught:
        rw.parse("not a schema")  # type: ignore[arg-type]
    shown = "".join(traceback.format_exception_only(caught.value))
    assert shown.startswith("replicate_widgets.SchemaError: "), shown


def test_lazy_names_load_nothing_until_asked() -> None:
    code = (
        "import sys, replicate_widgets as rw;"
        "print(sorted(n for n in rw._LAZY if n in vars(rw)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
