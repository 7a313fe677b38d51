"""``View``: the base of this package's anywidgets: code compiled once, whole close().

Two things every widget here needs, and plain ``anywidget.AnyWidget`` does not do:

- **View code compiled once per page.** anywidget imports each widget model's
  ``_esm`` from a fresh ``blob:`` URL, and a browser never frees a module it has
  imported: re-running a cell that shows a Sweep of four panels compiled and kept
  another 150 KB of script each time. Here ``_esm`` is a loader of a few hundred
  bytes, and the bundle travels in the ``_view_code`` trait; the loader imports
  it once per page (keyed by the bundle's hash) and every later view of the
  same class reuses that module. The bundle is still sent with each widget model
  (a kernel cannot know which page has it already, and a notebook saved with its
  widget state must render without a kernel). JupyterLab keeps the
  opening message of every widget, also once closed (a closed comm stays in the
  kernel connection's map), for the life of the page, so each widget's bundle
  string stays in the page's memory all the same (38 KB for a panel).
- **close() closes everything.** ipywidgets gives every ``DOMWidget`` a ``Layout``
  model and leaves it open when the widget closes: one widget model per widget
  that the kernel and the page kept for good.

Subclasses set ``_esm`` to their bundle's path, as with anywidget.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
from typing import Any, ClassVar

import anywidget
import ipywidgets
import traitlets

__all__ = ["View", "loader"]

# The bundle's default export (``{initialize?, render}``) is used by the loader's
# own default export. The map lives on ``globalThis`` so that views of the same
# class in any notebook of the page share one module; bundles are keyed by their
# hash, so a rebuilt bundle is imported afresh.
_LOADER = """\
const key = %s;
const store = (globalThis[Symbol.for("replicate_widgets.views")] ??= new Map());
function load(model) {
  let found = store.get(key);
  if (!found) {
    const url = URL.createObjectURL(
      new Blob([model.get("_view_code")], { type: "text/javascript" }));
    found = import(url).then((m) => m.default).finally(() => URL.revokeObjectURL(url));
    store.set(key, found);
  }
  return found;
}
export default {
  async initialize(ctx) { return (await load(ctx.model)).initialize?.(ctx); },
  async render(ctx) { return (await load(ctx.model)).render?.(ctx); },
};
"""


def loader(code: str, name: str) -> str:
    """Return the ``_esm`` that imports ``code`` (bundle ``name``) once per page."""
    digest = hashlib.sha256(code.encode()).hexdigest()[:16]
    return _LOADER % json.dumps(f"{name}:{digest}")


class View(anywidget.AnyWidget):
    """An anywidget whose bundle is compiled once per page; close() leaves nothing."""

    _view_bundle: ClassVar[str] = ""
    # The class's bundle (read from its ``_esm`` path when the class is made).

    _view_code = traitlets.Unicode("").tag(sync=True)
    """The view's bundle, imported by the ``_esm`` loader (see the module's doc)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        esm = cls.__dict__.get("_esm")
        if isinstance(esm, pathlib.Path):
            # Read once per class, not per widget: every widget sends the same string.
            cls._view_bundle = esm.read_text(encoding="utf-8")
            cls._esm = loader(cls._view_bundle, esm.stem)
        super().__init_subclass__(**kwargs)

    @traitlets.default("_view_code")
    def _default_view_code(self) -> str:
        return self._view_bundle

    def close(self) -> None:
        """Close the widget and the ``Layout`` model ipywidgets made for it."""
        # Also runs from __del__, possibly of a widget whose __init__ raised early;
        # read the trait's value without making a Layout just to close it.
        layout = getattr(self, "_trait_values", {}).get("layout")
        super().close()
        if isinstance(layout, ipywidgets.Widget):
            layout.close()
