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
    "replicate_widgets._loopback",
    "replicate_widgets._model_names",
    "replicate_widgets._secret_mask",
}
"""Shared by the client and the server; standard library only."""
CLIENT = "replicate_widgets._client"
SCHEMA = "replicate_widgets._schema"
WIDGETS = "replicate_widgets._widgets"
SERVER = "replicate_widgets.server"
CLIENT_ROOTS = [
    "replicate_widgets._client.client",
    "replicate_widgets._client.async_client",
    "replicate_widgets._schema.model_schema",
    "replicate_widgets.schema",
]
"""What a script that only needs the client imports."""
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


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


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
    server = [m for m in _modules() if _in(m, SERVER)]
    assert len(server) > 20  # the walk found the server's modules
    for module in server:
        outside = {m for m in _internal(module) if not _in(m, SERVER)} - LEAVES
        assert not outside, f"{module} imports {sorted(outside)}"


@pytest.mark.parametrize("package", [CLIENT, SCHEMA])
def test_the_client_and_schema_packages_import_no_widget_and_no_server(
    package: str,
) -> None:
    modules = [m for m in _modules() if _in(m, package)]
    assert len(modules) > 5  # the walk found the package's modules
    for module in modules:
        ours = {m for m in _internal(module) if _in(m, WIDGETS) or _in(m, SERVER)}
        assert not ours, f"{module} imports {sorted(ours)}"
        widgets = {m.split(".")[0] for m in _imports(module)} & WIDGET_LIBRARIES
        assert not widgets, f"{module} imports {sorted(widgets)}"


def test_the_schema_layer_does_not_need_the_client() -> None:
    for module in (m for m in _modules() if _in(m, SCHEMA)):
        client = {m for m in _internal(module) if _in(m, CLIENT)}
        assert not client, f"{module} imports {sorted(client)}"


def test_the_widgets_shared_modules_import_no_single_widget() -> None:
    """``_widgets/*.py`` is what every widget builds on; a widget's package is above."""
    shared = [m for m in _modules() if m.count(".") == 2 and _in(m, WIDGETS)]
    assert len(shared) > 10
    for module in shared:
        above = {m for m in _internal(module) if _in(m, WIDGETS) and m.count(".") > 2}
        assert not above, f"{module} imports {sorted(above)}"


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
