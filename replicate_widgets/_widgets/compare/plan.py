"""Planning a Compare or Sweep: model references, grids of cells and their checks.

Everything a person can get wrong in a Compare or Sweep call is found here, before a
widget exists or a prediction is created; :mod:`.compare` draws and runs the cells.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from replicate_widgets._client.checks import short_ref
from replicate_widgets._client.errors import NotFoundError
from replicate_widgets._client.types import Prediction
from replicate_widgets._schema.model_schema import ModelSchema, parse
from replicate_widgets._schema.types import SchemaError
from replicate_widgets._widgets.model_lookup import find_model
from replicate_widgets._widgets.playground.load import did_you_mean, local_model_names

if TYPE_CHECKING:
    from replicate_widgets._client.client import Client

__all__ = [
    "Cell",
    "check_concurrency",
    "compare_cells",
    "grid_axes",
    "model_list",
    "resolve_model",
    "summary",
    "sweep_cells",
]


@dataclass
class Cell:
    """One prediction of the grid: what it runs and how it went."""

    label: str
    """What varies in this cell, e.g. ``seed=1 · steps=3``."""
    ref: str
    """The model reference the prediction is created with."""
    input: dict[str, Any]
    """The prediction's input."""
    schema: ModelSchema = field(repr=False)
    """The model's schema (for the panel's output kind)."""
    prediction: Prediction | None = None
    """The prediction, once created (its final state once it ends)."""
    error: str = ""
    """Why the cell has no result, when it has none."""


def resolve_model(client: Client, ref: str) -> tuple[str, ModelSchema]:
    """Return the reference to run and the parsed schema for ``owner/name[:version]``.

    Raises
    ------
    ValueError
        For a malformed reference, a model without versions or without a schema, or
        a model the backend does not have (the message names the backend).
    """
    try:
        found = find_model(client, ref)
    except NotFoundError:
        guess = did_you_mean(ref, local_model_names(client))
        raise ValueError(
            f"{ref} is not on the backend at {client.base_url}.{guess} Check the "
            "spelling, or pass client=/backend= for the backend that has it."
        ) from None
    if not found.doc:
        raise ValueError(
            f"{ref} has no version with an openapi_schema, so its inputs cannot be "
            "checked. Push a version first, or name one with 'owner/name:<id>'."
        )
    return found.ref, parse(found.doc)


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


def _check(schema: ModelSchema, values: Mapping[str, Any], where: str) -> list[str]:
    return [f"{where}: {k}: {v}" for k, v in schema.validate(values).items()]


def model_list(models: Sequence[str]) -> list[str]:
    """Return Compare's ``models`` as a list, or say how to write it.

    Raises
    ------
    ValueError
        When ``models`` is a single string or empty.
    """
    if isinstance(models, str) or not models:
        raise ValueError(
            "Compare() takes a list of model references, e.g. "
            "['replicate/hello-world', 'demo/echo']."
        )
    return list(models)


def compare_cells(
    client: Client, models: Sequence[str], input: Mapping[str, Any] | None
) -> list[Cell]:
    """Return one cell per model, all running ``input``.

    Raises
    ------
    ValueError
        When a reference cannot be run.
    SchemaError
        When the inputs do not fit a model; the message lists every problem.
    """
    values = dict(input or {})
    cells, problems = [], []
    for ref in models:
        run_ref, schema = resolve_model(client, ref)
        problems += _check(schema, values, ref)
        if not problems:
            cells.append(Cell(short_ref(ref), run_ref, schema.to_input(values), schema))
    if problems:
        raise SchemaError(
            "Nothing was started; these inputs do not fit:\n  " + "\n  ".join(problems)
        )
    return cells


def sweep_cells(
    client: Client,
    model: str,
    base: Mapping[str, Any] | None,
    axes: dict[str, list[Any]],
) -> tuple[list[Cell], int, str]:
    """Return the sweep's cells (first axis down, second across), columns and title.

    ``axes`` come from :func:`grid_axes`.

    Raises
    ------
    ValueError
        When the model reference cannot be run.
    SchemaError
        When a grid value or a base input does not fit the schema; the message lists
        every problem.
    """
    run_ref, schema = resolve_model(client, model)
    shared = dict(base or {})
    problems = []
    for name in list(shared) + list(axes):
        try:
            schema.field(name)
        except KeyError as exc:
            problems.append(str(exc.args[0]))
    cells: list[Cell] = []
    if not problems:
        for combo in itertools.product(*axes.values()):
            varied = dict(zip(axes, combo, strict=True))
            label = " · ".join(f"{k}={_show(v)}" for k, v in varied.items())
            values = {**shared, **varied}
            problems += _check(schema, values, label)
            if not problems:
                cells.append(Cell(label, run_ref, schema.to_input(values), schema))
    if problems:
        raise SchemaError(
            "Nothing was started; fix the sweep first:\n  " + "\n  ".join(problems)
        )
    sizes = [len(v) for v in axes.values()]
    columns = sizes[-1] if len(sizes) > 1 else min(sizes[0], 4)
    title = f"{short_ref(model)}: " + " \N{MULTIPLICATION SIGN} ".join(
        f"{k} ({n})" for k, n in zip(axes, sizes, strict=True)
    )
    return cells, columns, title


def summary(cells: list[Cell]) -> str:
    """Say how many cells succeeded and how the rest ended."""
    counts: dict[str, int] = {}
    for cell in cells:
        status = cell.prediction.status if cell.prediction else "not started"
        counts[status] = counts.get(status, 0) + 1
    done = counts.pop("succeeded", 0)
    rest = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return f"{done} of {len(cells)} succeeded" + (f"; {rest}." if rest else ".")


def check_concurrency(value: int) -> int:
    """Return ``value`` if it is a usable ``max_concurrency``.

    Raises
    ------
    ValueError
        Saying what to pass instead.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"max_concurrency must be a whole number of predictions, 1 or more; "
            f"got {value!r}."
        )
    return value


def grid_axes(grid: Mapping[str, Sequence[Any]] | None) -> dict[str, list[Any]]:
    """Return Sweep's ``grid`` as input name to list of values, or say how to write it.

    Raises
    ------
    ValueError
        When ``grid`` is not a non-empty mapping of names to non-empty lists.
    """
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(
            "Sweep needs grid={input name: [values, ...]}, e.g. "
            "grid={'seed': [1, 2], 'steps': [3, 6]}."
        )
    axes: dict[str, list[Any]] = {}
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise ValueError(
                f"grid[{name!r}] must be a list of values to try, e.g. [1, 2, 3]; "
                f"got {values!r}."
            )
        if not values:
            raise ValueError(f"grid[{name!r}] is empty: give at least one value.")
        axes[name] = list(values)
    return axes
