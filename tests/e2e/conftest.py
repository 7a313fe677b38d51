"""Fixtures for the browser tests: a throwaway JupyterLab (which also serves Voila),
a throwaway Jupyter Notebook 7 in a server of its own, throwaway marimo servers, and
headless Chromium.

Every test here is marked ``e2e`` and skipped when Debian's Chromium is missing
(install it with ``make chromium``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from labharness import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    Lab,
    start_lab,
    start_notebook7,
)
from marimoharness import Marimo, start_marimo

NON_LOOPBACK = re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/]).*")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            if not os.access(CHROMIUM, os.X_OK):
                item.add_marker(
                    pytest.mark.skip(reason=f"{CHROMIUM} missing: run `make chromium`")
                )


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    work = tmp_path_factory.mktemp("lab")
    root = work / "nb"
    root.mkdir()
    server = start_lab(root, work / "state")
    server.root = root
    yield server
    server.stop()


@pytest.fixture(scope="session")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """``jupyter notebook`` (Notebook 7): a server of its own, never shown a
    JupyterLab page (labharness says why)."""
    work = tmp_path_factory.mktemp("notebook7")
    root = work / "nb"
    root.mkdir()
    server = start_notebook7(root, work / "state")
    server.root = root
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context; collects page errors and console errors for the test.

    Afterwards the kernels of the test's server (``lab`` or ``notebook7``, whichever
    the test asks for) are stopped, so the next test gets fresh ones.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    pg.js_errors = []
    pg.js_error_stacks = []  # the same errors with their stacks (where they came from)
    pg.console_errors = []
    pg.on("pageerror", lambda e: pg.js_errors.append(str(e)))
    pg.on("pageerror", lambda e: pg.js_error_stacks.append(e.stack or str(e)))
    pg.on(
        "console",
        lambda m: pg.console_errors.append(m.text) if m.type == "error" else None,
    )
    external: list[str] = []

    def block(route: Any) -> None:  # no internet here: fail external requests at once
        external.append(route.request.url)
        route.abort()

    ctx.route(NON_LOOPBACK, block)
    pg.external_requests = external
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        pg.screenshot(
            path=str(ARTIFACTS / f"failed-{request.node.name}.png"), full_page=True
        )
    ctx.close()
    for name in ("lab", "notebook7"):
        if name in request.fixturenames:
            request.getfixturevalue(name).shutdown_sessions()


@pytest.fixture(scope="module")
def marimo_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., Marimo]]:
    """Start marimo on a notebook: ``server = marimo_server(path, mode="run")``.

    Each server has its own throwaway home (marimo's config, the local backend's
    data); all are stopped when the module's tests are done. Use it with ``page``.
    """
    started: list[Marimo] = []

    def start(notebook: Path, mode: str = "run") -> Marimo:
        server = start_marimo(notebook, tmp_path_factory.mktemp("marimo"), mode)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    rep = (yield).get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{rep.when}", rep)
