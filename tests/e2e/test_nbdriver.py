"""The notebook driver's own checks see what they claim to see."""

from __future__ import annotations

from nbdriver import cell_errors, open_and_run, wait_until_all_ran, write_notebook


def test_cell_errors_sees_a_traceback_and_not_stderr(page, lab):
    cells = ["import sys; print('only a warning', file=sys.stderr)", "1 / 0"]
    nb = write_notebook(lab.root, "errors.ipynb", cells)
    open_and_run(page, lab, nb)
    wait_until_all_ran(page)
    assert cell_errors(page) == ["ZeroDivisionError: division by zero"]
