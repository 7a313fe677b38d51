"""When the runs a widget started must stop although nobody pressed Cancel.

A prediction a widget started is the widget's: when the widget goes, so does the
run, unless the person created the widget with ``keep_running=True``. A widget goes
when

- :meth:`close` is called (ipywidgets also calls it when the widget is collected);
- the notebook cell that created it runs again, or is deleted: IPython's
  ``pre_run_cell`` event names the cell about to run (``ExecutionInfo.cell_id``,
  sent by JupyterLab and VS Code), and JupyterLab lists deleted cells in the next
  execute request (``deletedCells``). This works in any front end that sends them,
  kernel-side. marimo sends neither: there the widget joins the cell's lifecycle
  registry, which marimo empties when the cell runs again or is deleted. The
  widget is then also closed: its output is being replaced, and an ipywidget
  nobody closes stays in the kernel's and the page's memory for good (re-running
  a cell ten times would keep ten grids);
- every view of its panel is gone from a notebook that is still open (the output
  was cleared, or the cell re-run): the panel's views tell the kernel (see
  :class:`~replicate_widgets._widgets.panel.panel.PredictionPanel`);
- a blocking ``run()`` is interrupted (``KeyboardInterrupt``).

The kernel itself going away is handled by the local backend
(:mod:`replicate_widgets._client.session`). Widgets take part by implementing
:class:`Stoppable` and calling :func:`watch_cell`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import sys
import threading
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from replicate_widgets._client.errors import run_interrupted
from replicate_widgets._widgets.loop import submit

if TYPE_CHECKING:
    from replicate_widgets._client.types import Prediction

__all__ = [
    "CANCEL_WAIT",
    "Busy",
    "Closable",
    "StartedRun",
    "Stoppable",
    "current_cell",
    "interrupted_and_kept",
    "interrupted_and_stopped",
    "stop_interrupted",
    "wait_briefly",
    "watch_cell",
]

T = TypeVar("T")
R = TypeVar("R", bound="Prediction")

CANCEL_WAIT = 10.0
"""Seconds an interrupted blocking call waits for the backend to agree it stopped."""


@dataclass
class StartedRun(Generic[R]):
    """A prediction or training a widget started, from before the backend created it."""

    id: str = ""
    """Set once the backend created it."""
    stop: bool = False
    """Cancel it: now if it exists, else as soon as it does."""
    handed_over: bool = False
    """Set just before it is handed to the widgets' loop: from then on it may exist."""
    job: concurrent.futures.Future[R] | None = None
    """What creates and follows it, once the loop has it."""
    reason: str = ""
    """Why the widget canceled it (closed, its output cleared), for what it shows."""

    def hand_over(
        self, form: Busy, work: Coroutine[Any, Any, R]
    ) -> concurrent.futures.Future[R]:
        """Mark ``form`` busy and give ``work`` (which frees it when done) to the loop.

        A Ctrl-C can land on any line here. Once :attr:`handed_over` is set, the
        interrupted caller stops the run (it may exist); before the loop has
        ``work``, nothing else would free the form, so it is freed here.
        """
        try:
            form.busy = True
            self.handed_over = True
            self.job = submit(work)
        except BaseException:
            if self.job is None:
                work.close()  # never to run: no "never awaited" warning
                form.busy = False
            raise
        return self.job


_lock = threading.Lock()
_by_cell: dict[str, weakref.WeakSet[Any]] = {}
_hooked: set[int] = set()  # ids of the IPython shells our hook is registered on


class Busy(Protocol):
    """A form that shows a run going on (its Run button off)."""

    busy: bool


class Stoppable(Protocol):
    """A widget whose runs stop when it goes (unless ``keep_running``)."""

    def _abandon(self, reason: str) -> None:
        """Stop what it started, because of ``reason`` (a short phrase)."""

    def close(self) -> None:
        """Close the widget and what it made."""


class Closable(Protocol):
    """A widget that is closed when its cell runs again (see :func:`watch_cell`)."""

    def close(self) -> None:
        """Close the widget and what it made."""


def _shell() -> Any:
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def _request_metadata(shell: Any) -> dict[str, Any]:
    """Return the running execute request's metadata (``{}`` outside a kernel)."""
    get_parent = getattr(shell, "get_parent", None)
    parent = get_parent() if callable(get_parent) else None
    meta = parent.get("metadata") if isinstance(parent, dict) else None
    return meta if isinstance(meta, dict) else {}


def current_cell() -> str | None:
    """Return the id of the notebook cell running now, if the front end sent it."""
    shell = _shell()
    if shell is None:
        return None
    cell = _request_metadata(shell).get("cellId")
    return cell if isinstance(cell, str) and cell else None


def watch_cell(widget: Stoppable | Closable) -> None:
    """Stop ``widget``'s runs and close it when this cell runs again or is deleted."""
    if _watch_marimo_cell(widget):
        return
    shell = _shell()
    cell = current_cell()
    if shell is None or cell is None:
        return
    with _lock:
        _by_cell.setdefault(cell, weakref.WeakSet()).add(widget)
        if id(shell) in _hooked:
            return
        _hooked.add(id(shell))
    shell.events.register("pre_run_cell", _before_cell)


def _before_cell(info: Any) -> None:
    """IPython's ``pre_run_cell``: the widgets of a cell that reruns or was deleted."""
    gone = [getattr(info, "cell_id", None)]
    shell = _shell()
    deleted = _request_metadata(shell).get("deletedCells") if shell else None
    if isinstance(deleted, list):
        gone.extend(deleted)
    widgets: list[Stoppable | Closable] = []
    with _lock:
        for cell in gone:
            if isinstance(cell, str) and cell in _by_cell:
                widgets.extend(_by_cell.pop(cell))
    for widget in widgets:
        _cell_gone(widget)


def _cell_gone(widget: Stoppable | Closable) -> None:
    """Stop what ``widget`` started and close it: its cell ran again or was deleted."""
    # A widget's failure to stop must not keep the cell from running.
    abandon = getattr(widget, "_abandon", None)  # only a Stoppable has runs
    with contextlib.suppress(Exception):
        if abandon is not None:
            abandon("its cell ran again or was deleted")
    with contextlib.suppress(Exception):
        widget.close()


def _watch_marimo_cell(widget: Stoppable | Closable) -> bool:
    """Under marimo, have marimo call :func:`_cell_gone` when the cell goes.

    marimo runs no IPython events and sends no cell ids; it ends what a cell made
    through the cell's lifecycle registry (it closes the widget's comm that way,
    without telling the widget). Both names are marimo's own internals, so if they
    move this does nothing and the widget's runs outlive its cell, as before.
    """
    if "marimo" not in sys.modules:  # never imported unless marimo runs us
        return False
    try:
        from marimo._runtime.context import get_context

        registry = get_context().cell_lifecycle_registry
        registry.add(_marimo_item()(widget))
    except Exception:  # no cell running (a button's handler), or marimo moved them
        return False
    return True


@functools.cache
def _marimo_item() -> Any:
    """Return the class of the item :func:`_watch_marimo_cell` registers (made once)."""
    from marimo._runtime.cell_lifecycle_item import CellLifecycleItem

    class CellGone(CellLifecycleItem):
        def __init__(self, widget: Stoppable | Closable) -> None:
            # Weak, as for IPython: the registry must not keep a closed widget.
            self._widget = weakref.ref(widget)

        def create(self, context: Any) -> None:
            del context

        def dispose(self, context: Any, deletion: bool) -> bool:
            del context, deletion
            widget = self._widget()
            if widget is not None:
                _cell_gone(widget)
            return True

    return CellGone


def wait_briefly(job: concurrent.futures.Future[T], seconds: float) -> T | None:
    """Wait up to ``seconds`` for ``job``; ``None`` if it did not end or failed.

    For the moments after an interrupt: a second Ctrl-C ends the wait at once
    instead of adding a traceback to the first one.
    """
    try:
        return job.result(seconds)
    except (KeyboardInterrupt, Exception):  # timed out, failed, canceled, Ctrl-C
        return None


def stop_interrupted(
    kind: str,
    run: StartedRun[Any],
    *,
    keep_running: bool,
    cancel_call: str,
    stop: Callable[[], concurrent.futures.Future[None]],
) -> KeyboardInterrupt:
    """Stop an interrupted blocking run (unless ``keep_running``); say what came of it.

    ``stop`` asks the backend to cancel ``run`` (now, or once it exists); the
    run's job follows it to its end, which the backend has reached by then.
    """
    if keep_running:
        return interrupted_and_kept(kind, run.id, cancel_call)
    wait_briefly(stop(), CANCEL_WAIT)
    final = wait_briefly(run.job, CANCEL_WAIT) if run.job is not None else None
    return interrupted_and_stopped(kind, run.id, final)


def interrupted_and_kept(
    kind: str, run_id: str | None, cancel_call: str
) -> KeyboardInterrupt:
    """Return what an interrupted blocking run says when its widget keeps its runs.

    ``kind`` is ``"prediction"`` or ``"training"``; ``cancel_call`` is how the
    person stops it later (``"pg.cancel()"``).
    """
    name = f"{kind} {run_id}" if run_id else "it"
    return run_interrupted(
        f"Stopped waiting; {name} keeps running (keep_running=True). "
        f"{cancel_call} stops it.",
        (run_id,) if run_id else (),
    )


def interrupted_and_stopped(
    kind: str, run_id: str | None, final: Prediction | None
) -> KeyboardInterrupt:
    """Return what an interrupted run says once its cancel was asked and waited for.

    ``final`` is the run as it ended, or None when it had not ended in time.
    """
    ids = (run_id,) if run_id else ()
    if not run_id:
        return run_interrupted(
            f"Interrupted before the backend created the {kind}; it is "
            "canceled as soon as it exists.",
            ids,
        )
    if final is not None and final.status == "canceled":
        return run_interrupted(f"Interrupted: canceled {kind} {run_id}.", ids)
    if final is not None and final.is_terminal:
        return run_interrupted(
            f"Interrupted, but {kind} {run_id} had already {final.status}.", ids
        )
    return run_interrupted(
        f"Interrupted: asked the backend to cancel {kind} {run_id}; it has not "
        "confirmed yet (the panel shows it when it does).",
        ids,
    )
