"""Driving notebooks in JupyterLab from Playwright: write, open, run, wait.

The same helpers drive Jupyter Notebook 7 (open with :func:`open_in_notebook7`): its
notebook page is JupyterLab's notebook plugins in another shell, the harness exposes
its app as ``window.jupyterapp`` too, and ``shell.currentWidget`` is the notebook's
panel there as well, so the commands, prompts and output models below are the same.

Shared by the browser tests (no ``test_`` prefix, so pytest does not collect it).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

# True once the notebook's kernel is connected and idle (the app is exposed by the
# harness). The status-bar indicator reads "idle" before a kernel exists.
KERNEL_IDLE = """() => {
  const k = window.jupyterapp?.shell?.currentWidget?.sessionContext?.session?.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""

# Every code cell has an execution count: all cells ran.
ALL_CELLS_RAN = """() => {
  const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]:/.test(p.textContent));
}"""

KERNELSPEC = {
    "kernelspec": {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    },
    "language_info": {"name": "python"},
}


def write_notebook(
    root: Path, name: str, cells: list[str], stale: Iterable[str] = ()
) -> str:
    """Write a notebook of code ``cells`` into ``root``; return its name.

    Files named in ``stale`` (outputs an earlier run left in ``root``) are removed
    first, so :func:`read_json` cannot return an old run's answer.
    """
    for old in stale:
        (root / old).unlink(missing_ok=True)
    nb = new_notebook(cells=[new_code_cell(c) for c in cells], metadata=KERNELSPEC)
    nbformat.write(nb, root / name)
    return name


def open_notebook(page: Any, lab: Any, nb: str) -> None:
    """Open ``nb`` in a fresh workspace and wait for its kernel to be idle.

    A fresh workspace each time: JupyterLab would otherwise restore notebooks that
    earlier tests opened, and "run all" could land in one of them.
    """
    page.goto(lab.page_url(f"lab/workspaces/{uuid.uuid4().hex}/tree/{nb}"))
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    current = page.evaluate("jupyterapp.shell.currentWidget.context.path")
    assert current == nb, f"JupyterLab shows {current}, not {nb}"


def open_in_notebook7(page: Any, lab: Any, nb: str) -> None:
    """Open ``nb`` in Jupyter Notebook 7 (``/notebooks/<path>``); wait for its kernel.

    ``lab`` is the ``notebook7`` fixture's server: a Notebook 7 page served by a
    server that has served JupyterLab pages inherits their tree path (see labharness).

    Notebook 7 shows one document per page and restores no workspace, so no fresh
    workspace is needed.
    """
    page.goto(lab.page_url(f"notebooks/{nb}"))
    inherited = page.evaluate(
        """() => JSON.parse(document.getElementById('jupyter-config-data')
                 .textContent).treePath ?? null"""
    )
    assert inherited is None, (
        f"this Notebook 7 page inherited JupyterLab's tree path {inherited!r}: "
        "open Notebook 7 pages in the notebook7 fixture's server"
    )
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    app = page.evaluate("jupyterapp.name")
    assert app == "Jupyter Notebook", f"{app} answered, not Jupyter Notebook 7"
    current = page.evaluate("jupyterapp.shell.currentWidget.context.path")
    assert current == nb, f"Notebook 7 shows {current}, not {nb}"


def open_and_run(page: Any, lab: Any, nb: str, before_run: str | None = None) -> None:
    """Open ``nb`` alone in a fresh workspace and start running every cell.

    ``before_run``, a JavaScript function, is evaluated in the page first: an
    observer installed there sees the widgets from their very first render.
    """
    open_notebook(page, lab, nb)
    assert page.locator(".jp-NotebookPanel").count() == 1
    if before_run is not None:
        page.evaluate(before_run)
    run_all(page)


def run_all(page: Any) -> None:
    """Start running every cell (returns at once; see :func:`wait_until_all_ran`)."""
    # Not awaited: the command's promise settles only when every cell has run.
    page.evaluate("() => { jupyterapp.commands.execute('notebook:run-all-cells'); }")


def wait_until_all_ran(page: Any, timeout_ms: int = 180_000) -> None:
    """Wait until every code cell has run and the kernel is idle again."""
    page.wait_for_function(ALL_CELLS_RAN, timeout=timeout_ms, polling=200)
    page.wait_for_function(KERNEL_IDLE, timeout=timeout_ms, polling=200)


def read_json(
    path: Path,
    check: Callable[[Any], bool] | None = None,
    timeout: float = 120,
) -> Any:
    """Wait for the kernel to write ``path`` (and, given ``check``, for its JSON to
    pass it) and return the JSON.
    """
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if path.exists():
            try:
                last = json.loads(path.read_text())
            except ValueError:  # caught mid-write
                last = None
            else:
                if check is None or check(last):
                    return last
        time.sleep(0.1)
    if check is None:
        raise AssertionError(f"{path.name} was never written by the kernel")
    raise AssertionError(f"{path.name} never reached the expected state: {last}")


# Error outputs of the current notebook, read from its model: JupyterLab renders a
# traceback with the same MIME type as text written to stderr, so the page's DOM
# cannot tell the two apart.
ERROR_OUTPUTS = """() => {
  const model = jupyterapp.shell.currentWidget.content.model;
  const errors = [];
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    if (cell.type !== 'code') continue;
    for (let j = 0; j < cell.outputs.length; j++) {
      const output = cell.outputs.get(j).toJSON();
      if (output.output_type === 'error') {
        errors.push(`${output.ename}: ${output.evalue}`);
      }
    }
  }
  return errors;
}"""


def cell_errors(page: Any) -> list[str]:
    """``ename: evalue`` of every error output in the current notebook."""
    errors: list[str] = page.evaluate(ERROR_OUTPUTS)
    return errors
