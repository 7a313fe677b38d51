"""The import direction of docs/architecture.md, checked rather than hoped for.

Read from the source (every import, including those inside functions and under
``TYPE_CHECKING``) and, for what importing costs, in a fresh interpreter.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "replicate_widgets"
LEAVES = {
    "replicate_widgets._json_pointer",
    "replicate_widgets._model_names",
    "replicate_widgets._secret_mask",
}
"""Shared by the client and the server; standard library only."""
CLIENT_ROOTS = [
    "replicate_widgets._client",
    "replicate_widgets._async_client",
    "replicate_widgets._schema",
    "replicate_widgets.schema",
]
"""The client and the schema layer are these and everything they import."""
WIDGET_LIBRARIES = {"anywidget", "ipywidgets", "traitlets", "IPython"}


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    found = {_name(p): p for p in PACKAGE.rglob("*.py")}
    # The bundled Cog models are programs of their own, not package modules.
    return {m: p for m, p in found.items() if ".server.models." not in m}


@cache
def _imports(module: str) -> frozenset[str]:
    """Every module ``module`` imports (absolute names), wherever the import is."""
    path = _modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            subs = [f"{base}.{alias.name}" for alias in node.names]
            named = [s for s in subs if s in _modules()]
            found.update(named)
            if len(named) < len(subs):
                found.add(base)
    return frozenset(found)


def _internal(module: str) -> set[str]:
    return {m for m in _imports(module) if m.split(".")[0] == "replicate_widgets"}


def _client_layer() -> set[str]:
    seen: set[str] = set()
    todo = list(CLIENT_ROOTS)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_internal(module) - {"replicate_widgets"})
    return seen


def test_the_leaves_import_only_the_standard_library_and_each_other() -> None:
    for leaf in LEAVES:
        outside = {
            m
            for m in _imports(leaf)
            if m.split(".")[0] not in sys.stdlib_module_names
            and m != "__future__"
            and m not in LEAVES
        }
        assert not outside, f"{leaf} imports {sorted(outside)}"


def test_the_server_imports_nothing_else_of_the_package_but_the_leaves() -> None:
    server = [m for m in _modules() if m.startswith("replicate_widgets.server")]
    assert len(server) > 20  # the walk found the server's modules
    for module in server:
        outside = {
            m
            for m in _internal(module)
            if not m.startswith("replicate_widgets.server") and m not in LEAVES
        }
        assert not outside, f"{module} imports {sorted(outside)}"


def test_the_client_and_schema_layer_import_no_widget_and_no_server() -> None:
    layer = _client_layer()
    assert "replicate_widgets._http" in layer  # the walk followed the imports
    for module in sorted(layer):
        assert not module.startswith("replicate_widgets.server"), module
        widgets = {m.split(".")[0] for m in _imports(module)} & WIDGET_LIBRARIES
        assert not widgets, f"{module} (client layer) imports {sorted(widgets)}"


@pytest.mark.parametrize("module", CLIENT_ROOTS)
def test_importing_the_client_loads_no_pillow_and_no_widget_library(
    module: str,
) -> None:
    code = (
        f"import sys, json, {module};"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    loaded = set(json.loads(out.stdout))
    assert "replicate_widgets" in loaded
    heavy = {"PIL", "uvicorn", "starlette", *WIDGET_LIBRARIES}
    assert not loaded & heavy, sorted(loaded & heavy)


def test_no_test_module_imports_another() -> None:
    """Helpers live in conftest.py or a ``_*.py`` module, never in a test module."""
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                assert not name.split(".")[-1].startswith("test_"), f"{path}: {name}"
