"""Tweak: a run's inputs into a Playground of the run's model, never another's.

Loading one model's inputs into another model's form would overwrite what the
person typed there with defaults. So History loads a run into the attached
Playground only when it runs that model; otherwise into a Playground it opens
below the table for that model (:class:`Workbench`), one per model, reused. What
the form cannot take is listed, with its values, never dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from replicate_widgets._schema.secrets import has_mask

from .entries import HistoryEntry, clean_inputs

__all__ = ["Workbench", "load_into_form", "runs_model", "short_value"]


class Workbench:
    """The Playgrounds Tweak opened below the table, one per model, oldest first.

    History shows them as parts of its own view, each with the line saying why it
    is there (:attr:`notes`) and a Close button.

    Parameters
    ----------
    changed
        Called (on the io loop, through History's scheduler) when a Playground was
        opened or closed, to show the list anew.
    schedule
        Runs a function on the io loop, the one writer of History's traits.
    """

    def __init__(
        self,
        changed: Callable[[], object],
        schedule: Callable[[Callable[[], object]], None],
    ) -> None:
        self._changed = changed
        self._schedule = schedule
        self._opened: list[tuple[Any, str]] = []

    @property
    def playgrounds(self) -> list[Any]:
        """The Playgrounds opened, oldest first."""
        return [pg for pg, _ in self._opened]

    @property
    def notes(self) -> list[str]:
        """Why each Playground is here (same order as :attr:`playgrounds`)."""
        return [why for _, why in self._opened]

    def find(self, entry: HistoryEntry) -> Any:
        """Return the opened Playground running ``entry``'s model, or ``None``."""
        for playground, _ in self._opened:
            if runs_model(playground, entry):
                return playground
        return None

    def open(
        self, entry: HistoryEntry, *, client: Any, keep: Any, instead_of: Any
    ) -> Any:
        """Open a Playground of ``entry``'s model and show it; return it.

        ``instead_of`` is the attached Playground (or ``None``), named in the note
        that says why this one opened.

        Raises
        ------
        ValueError
            When the run names no model, or the model cannot be loaded.
        """
        if "/" not in entry.model:
            raise ValueError(
                f"{entry.id} does not say which model ran it, so no Playground can "
                "be opened for it. Attach a Playground of its version: "
                "History(playground=Playground(version))."
            )
        from replicate_widgets._widgets.playground.playground import (
            Playground,  # it imports History's record()
        )

        playground = Playground(
            entry.model,
            client=client,
            keep=keep,
            example=False,  # the run's inputs are loaded next
        )
        if playground.form is None:
            error = playground.error or "it could not be loaded"
            playground.close()
            raise ValueError(f"Could not open a Playground for {entry.model}: {error}")
        why = f"Opened by Tweak on {entry.id}, a run of {entry.model}" + (
            " (the attached Playground runs another model and was left as it was)."
            if instead_of is not None
            else "."
        )
        self._opened.append((playground, why))
        self._schedule(self._changed)
        return playground

    def close_one(self, playground: Any) -> None:
        """Close an opened Playground and take it off the page."""
        found = [pg for pg, _ in self._opened if pg is playground]
        self._opened = [(pg, w) for pg, w in self._opened if pg is not playground]

        def drop() -> None:
            self._changed()
            for pg in found:
                pg.close()

        self._schedule(drop)

    def close(self) -> None:
        """Close every opened Playground."""
        for playground, _ in self._opened:
            playground.close()
        self._opened = []


def load_into_form(form: Any, stored: Mapping[str, Any]) -> list[str]:
    """Set the form to a run's inputs; fields the run left unset go back to defaults.

    Parameters
    ----------
    form
        The :class:`~replicate_widgets._widgets.form.InputForm` to fill.
    stored
        The run's inputs as the backend stored them (secrets masked).

    Returns
    -------
    list of str
        What was not loaded, one phrase each: inputs the form has no field for,
        with their values, and secrets (stored masked: the form keeps its own).
    """
    known = {f.name: f for f in form.schema.inputs}
    inputs = clean_inputs(stored)
    defaults = form.schema.defaults()
    values: dict[str, Any] = {}
    for name, field in known.items():
        if field.secret:
            if name in inputs:
                values[name] = inputs[name]  # only when stored unmasked
            continue
        values[name] = inputs.get(name, defaults.get(name))
    form.set(**values)
    lacking = [name for name in stored if name not in known]
    lost = [name for name in stored if name in known and name not in inputs]
    notes: list[str] = []
    if lacking:
        shown = ", ".join(f"{name} = {short_value(stored[name])}" for name in lacking)
        notes.append(
            f"{shown} (this form has no "
            f"{'such input' if len(lacking) == 1 else 'such inputs'})"
        )
    if lost:
        notes.append(
            f"{', '.join(lost)} (secret: stored masked, so the form keeps its own)"
        )
    return notes


def short_value(value: Any, limit: int = 40) -> str:
    """Show an input value in a few characters: JSON, cut short, files named."""
    if has_mask(value):
        return "(a masked secret)"
    if isinstance(value, str) and value.startswith("data:"):
        return "(a data: URI)"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def runs_model(playground: Any, entry: HistoryEntry) -> bool:
    """Tell whether ``playground`` runs the model that made ``entry``.

    A Playground runs ``owner/name``, ``owner/name:<version>`` or a bare version id;
    a run names its model ``owner/name`` and its version by id.
    """
    ref = getattr(playground, "model_ref", None)
    if not isinstance(ref, str) or not ref:
        return False
    if "/" in ref:
        return ref.split(":", 1)[0] == entry.model
    return ref == entry.version
