"""CodeView: the "copy as code" panel of a Playground (tabs, text, a Copy button)."""

from __future__ import annotations

import traitlets

from replicate_widgets._widgets.view import STATIC, View


class CodeView(View):
    """Shows code snippets in tabs, one per language, with a Copy button."""

    _esm = STATIC / "code.js"

    snippets = traitlets.Dict().tag(sync=True)
    """Language name to snippet text (made by ``_codegen.snippets``)."""

    language = traitlets.Unicode("python").tag(sync=True)
    """The tab shown."""
