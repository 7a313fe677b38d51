"""``Composite``: a widget made of other widgets, as one anywidget.

A Playground is a form, a panel and a code view; a Sweep is a grid of panels. They
used to be ipywidgets boxes holding ipywidgets controls, which only Jupyter's own
widget manager can draw: marimo (and other anywidget hosts) cannot. Here the
composite is one anywidget whose view draws its own controls and mounts its parts
(other anywidgets) with anywidget's ``host.getWidget``, which every anywidget host
since anywidget 0.11 provides (docs/front-ends.md).

The parts travel as ``"anywidget:<model id>"`` references; the browser asks for a
part's model by that id. Buttons and other controls of the composite's own view
send ``{"kind": "action", "name": ..., "value": ...}`` messages, dispatched here
to the handler registered with :meth:`Composite.on_action`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import ipywidgets
import traitlets

from .view import View

__all__ = ["ActionHandler", "Composite", "MarkupTrait", "widget_refs"]


_REF = "anywidget:"
_log = logging.getLogger(__name__)

ActionHandler = Callable[[Any], object]
"""Called with the action's ``value`` (``None`` when the view sent none)."""


def widget_refs(value: Any, _owner: object = None) -> Any:
    """Return ``value`` with every widget in it replaced by its reference string.

    Dicts and lists are walked; a widget becomes ``"anywidget:<model id>"``
    (``None`` once closed, so a view never asks for a model that is gone).
    """
    if isinstance(value, ipywidgets.Widget):
        model_id = value.model_id
        return f"{_REF}{model_id}" if model_id else None
    if isinstance(value, Mapping):
        return {str(k): widget_refs(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [widget_refs(v) for v in value]
    return value


class MarkupTrait(traitlets.Unicode[str, str]):
    """A synced string of markup built by ``_html`` (the one place that escapes).

    Stored as a plain ``str``: a ``markupsafe.Markup`` has ``__html__``, which some
    hosts' serializers (marimo's) treat as an object to format rather than a string.
    """

    def validate(self, obj: Any, value: Any) -> str:
        return str(super().validate(obj, value))


def _parts_from_json(_value: Any, _owner: object) -> Any:
    # The view never writes parts; a stray update from it is ignored.
    raise traitlets.TraitError("parts are set by the kernel only")


def _widgets_in(value: Any) -> Iterable[ipywidgets.Widget]:
    if isinstance(value, ipywidgets.Widget):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _widgets_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _widgets_in(item)


class Composite(View):
    """Base class of the widgets made of other widgets (Playground, Sweep, ...).

    Subclasses set ``_esm`` to their own view, put their child widgets in
    :attr:`parts` and register handlers for their view's actions.
    """

    parts = traitlets.Dict().tag(
        sync=True, to_json=widget_refs, from_json=_parts_from_json
    )
    """Named child widgets (or lists of them) the view mounts where it draws them."""

    def __init__(self, **kwargs: Any) -> None:
        self._actions: dict[str, ActionHandler] = {}
        super().__init__(**kwargs)
        self.on_msg(self._on_composite_message)

    def on_action(self, name: str, handler: ActionHandler) -> None:
        """Call ``handler(value)`` when the view sends the action ``name``."""
        self._actions[name] = handler

    def _on_composite_message(
        self, _widget: object, content: Any, _buffers: object
    ) -> None:
        if not isinstance(content, dict) or content.get("kind") != "action":
            return
        name = content.get("name")
        handler = self._actions.get(name) if isinstance(name, str) else None
        if handler is None:
            return  # an action this widget does not know: a stale or hostile view
        try:
            handler(content.get("value"))
        except Exception:
            # A handler's bug must not cost the kernel's comm loop its other messages.
            _log.exception("%s: action %r failed", type(self).__name__, name)

    def own_parts(self) -> list[ipywidgets.Widget]:
        """Return the child widgets in :attr:`parts`, each once."""
        return list(dict.fromkeys(_widgets_in(self.parts)))

    def close(self) -> None:
        """Close this widget and every part it holds."""
        # Also runs from __del__, possibly of a widget whose __init__ raised early.
        if "parts" in getattr(self, "_trait_values", {}):
            for part in self.own_parts():
                part.close()
        super().close()
