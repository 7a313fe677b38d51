"""How this package's errors look in a notebook: one short message, what to do.

Every error this package raises on purpose already says what happened and what to
do next; the 20 to 30 lines of traceback through private modules that IPython would
print above it hide that. :func:`install` registers an IPython custom exception
handler for them that shows the message alone, followed by how to see the full
traceback (``%tb``, which reads ``sys.last_traceback``; ``%debug`` works too).
Every other exception keeps IPython's usual traceback.

Nothing is registered outside IPython, or when someone else already registered a
handler (IPython keeps only one).
"""

from __future__ import annotations

import sys
from typing import Any

from replicate_widgets._client.errors import ReplicateError, is_run_interrupted
from replicate_widgets._schema.types import SchemaError

__all__ = ["SHORT", "install", "short_traceback"]

SHORT: tuple[type[BaseException], ...] = (ReplicateError, SchemaError)
"""The exceptions shown as one short message (and interrupted runs)."""
# A handler takes exception types, not predicates: other KeyboardInterrupts go on
# to IPython's usual traceback.
_HANDLED: tuple[type[BaseException], ...] = (*SHORT, KeyboardInterrupt)

FULL_TRACEBACK_HINT = "(Full traceback: run %tb in the next cell.)"
_RED, _RESET = "\x1b[0;31m", "\x1b[0m"


def short_traceback(error: BaseException) -> list[str]:
    """Return the lines shown for ``error``: its type and message, then the hint."""
    message = str(error) or "(no message)"
    name = type(error).__name__
    return [f"{_RED}{name}{_RESET}: {message}", FULL_TRACEBACK_HINT]


def _show(
    shell: Any,
    etype: type[BaseException],
    value: BaseException,
    tb: Any,
    tb_offset: int | None = None,
) -> list[str]:
    """Show an error of :data:`SHORT`, or an interrupted run, as its message alone.

    IPython's ``CustomTB``, called as a method of the shell.
    """
    if not isinstance(value, SHORT) and not is_run_interrupted(value):
        # Someone else's Ctrl-C: IPython's usual traceback, as without this handler.
        shell.showtraceback(
            (etype, value, tb), tb_offset=tb_offset, running_compiled_code=True
        )
        return []
    # Where %tb and %debug look for the last exception.
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = value
    lines = short_traceback(value)
    # ipykernel's _showtraceback sends the error to the notebook (and marks the cell
    # failed, so "Run all" stops there); IPython's own prints it.
    shell._showtraceback(etype, value, lines)
    return lines


def install(shell: Any = None) -> bool:
    """Show :data:`SHORT` errors briefly in this IPython session; return whether set.

    Parameters
    ----------
    shell
        The IPython shell; default: the running one, if any. Nothing is imported
        when IPython is not already loaded.
    """
    if shell is None:
        ipython = sys.modules.get("IPython")
        if ipython is None:
            return False
        shell = ipython.get_ipython()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    current = tuple(getattr(shell, "custom_exceptions", ()) or ())
    if current and current != _HANDLED:
        return False  # someone else's handler: IPython keeps one, and it is theirs
    shell.set_custom_exc(_HANDLED, _show)
    return True
