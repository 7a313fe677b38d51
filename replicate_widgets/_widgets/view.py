"""``View``: the base of this package's anywidgets: code compiled once, whole close().

Two things every widget here needs, and plain ``anywidget.AnyWidget`` does not do:

- **View code sent and compiled once per page.** anywidget imports each widget
  model's ``_esm`` from a fresh ``blob:`` URL, and a browser never frees a module
  it has imported; JupyterLab also keeps every widget's opening message (its
  ``_esm`` and state), closed widgets included, for the life of the page. So
  ``_esm`` is the same small loader for every class (``static/loader.js``, built
  from ``js/src/shared/loader.ts``) and the model carries only its bundle's key
  (``_view_key``: name and hash). The loader keeps compiled bundles in a page-wide
  map by key; for a key the page lacks it sends ``{"kind": "view-code", "key"}``
  once (other views of the key wait for the same answer), and the widget answers
  with the bundle as a binary buffer. The first widget of each class in a kernel
  also carries its bundle (``_view_code``): a fresh page draws it even while the
  kernel is busy in the cell that shows it, as it cannot answer before the cell
  ends (marimo runs a whole notebook so). A page without a kernel (a notebook
  saved with its widget state) gets the code from the browser's copy, if it has
  one, or says it cannot. Code a bundle
  needs only sometimes (``_view_parts``: marked and DOMPurify for the form's
  Markdown descriptions) is a part, built to ``static/parts/``, asked for the same
  way when it is first needed.
- **close() closes everything.** ipywidgets gives every ``DOMWidget`` a ``Layout``
  model and leaves it open when the widget closes: one widget model per widget
  that the kernel and the page kept for good.

Subclasses set ``_esm`` to their bundle's path, as with anywidget.
"""

from __future__ import annotations

import functools
import hashlib
import pathlib
from typing import Any, ClassVar

import anywidget
import ipywidgets
import traitlets

__all__ = ["View", "bundle_key"]

STATIC = pathlib.Path(__file__).parents[1] / "static"
"""The built front end (``js/`` compiles to it): every view's code."""
_KIND = "view-code"  # the loader's request and the answer (js/src/shared/loader.ts)


@functools.cache
def _loader() -> str:
    """Return the ``_esm`` of every view: the same loader, read once."""
    return (STATIC / "loader.js").read_text(encoding="utf-8")


def bundle_key(code: bytes, name: str) -> str:
    """Return the key the loader keeps bundle ``name`` under: its name and hash."""
    return f"{name}:{hashlib.sha256(code).hexdigest()[:16]}"


class View(anywidget.AnyWidget):
    """An anywidget whose bundle is compiled once per page; close() leaves nothing."""

    _view_bundle_key: ClassVar[str] = ""
    _view_part_names: ClassVar[tuple[str, ...]] = ()
    # Set by a subclass: the parts (``static/parts/<name>.js``) its bundle may load.
    _view_codes: ClassVar[dict[str, bytes]] = {}
    # The class's bundle and parts by key (read from their files at class creation).
    _view_sent: ClassVar[set[str]] = set()
    # The bundles a widget of this kernel already carried in its opening message.

    _view_key = traitlets.Unicode("").tag(sync=True)
    """The key of the view's bundle, which the ``_esm`` loader asks for (module doc)."""

    _view_code = traitlets.Unicode("").tag(sync=True)
    """The bundle itself, in the first widget of its class in this kernel only."""

    _view_parts = traitlets.Dict(value_trait=traitlets.Unicode()).tag(sync=True)
    """The keys of the parts the view's bundle may load on demand, by name."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        esm = cls.__dict__.get("_esm")
        if isinstance(esm, pathlib.Path):
            # Read once per class, not per widget: every widget sends the same bytes.
            bundle = esm.read_bytes()
            cls._view_bundle_key = bundle_key(bundle, esm.stem)
            cls._view_codes = {cls._view_bundle_key: bundle}
            for name in cls._view_part_names:
                part = (STATIC / "parts" / f"{name}.js").read_bytes()
                cls._view_codes[bundle_key(part, name)] = part
            cls._esm = _loader()
        super().__init_subclass__(**kwargs)

    @traitlets.default("_view_key")
    def _default_view_key(self) -> str:
        return self._view_bundle_key

    @traitlets.default("_view_code")
    def _default_view_code(self) -> str:
        key = self._view_bundle_key
        if not key or key in View._view_sent:
            return ""
        View._view_sent.add(key)
        return self._view_codes[key].decode()

    @traitlets.default("_view_parts")
    def _default_view_parts(self) -> dict[str, str]:
        return {
            key.split(":")[0]: key
            for key in self._view_codes
            if key != self._view_bundle_key
        }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._on_view_message)

    def _on_view_message(self, _widget: object, content: Any, _buffers: object) -> None:
        if not isinstance(content, dict) or content.get("kind") != _KIND:
            return
        key = content.get("key")
        code = self._view_codes.get(key) if isinstance(key, str) else None
        if code is not None:
            self.send({"kind": _KIND, "key": key}, buffers=[code])
        else:  # a stale page asking for a bundle this kernel does not have
            self.send({"kind": _KIND, "key": str(key)[:200], "missing": True})

    def close(self) -> None:
        """Close the widget and the ``Layout`` model ipywidgets made for it."""
        # Also runs from __del__, possibly of a widget whose __init__ raised early;
        # read the trait's value without making a Layout just to close it.
        layout = getattr(self, "_trait_values", {}).get("layout")
        super().close()
        if isinstance(layout, ipywidgets.Widget):
            layout.close()
