"""The panel's output files on the wire: one small widget model per file's bytes.

A widget trait is always sent whole, so image bytes inside the panel's ``media`` list
would be sent again every time an iterator yields one more image (n images cost n²/2
transfers). Instead each file's display bytes live in a view-less
:class:`MediaBytes` model, opened once with the bytes as a binary buffer, and the list
only refers to it (``"IPY_MODEL_<id>"`` in the browser).
"""

from __future__ import annotations

import hashlib
from typing import Any

import ipywidgets
import traitlets

from ._follow import Follower
from ._panel_state import PanelState

__all__ = ["MediaBytes", "MediaModels", "NotDownloaded"]


class NotDownloaded(RuntimeError):
    """What a source's ``read`` raises for a file it leaves on the backend on purpose.

    The panel then names the file and why, instead of reporting a failed fetch.
    """


# How the follower reports a NotDownloaded (``"<type name>: <message>"``).
_NOT_DOWNLOADED = f"{NotDownloaded.__name__}: "


class MediaBytes(ipywidgets.Widget):  # type: ignore[misc]
    """A view-less widget model holding one output file's display bytes."""

    data = traitlets.Bytes(b"").tag(sync=True)
    """The bytes the browser shows (a downscaled copy for large images)."""


class MediaModels:
    """The :class:`MediaBytes` models of one panel, by media key.

    Parameters
    ----------
    inline_limit
        Audio, video and text files larger than this are links, not sent up front.

    Notes
    -----
    Used only from the widgets' background thread, like the panel's traits.
    """

    def __init__(self, inline_limit: int) -> None:
        self.inline_limit = inline_limit
        self._models: dict[str, MediaBytes] = {}

    def entries(self, state: PanelState, follower: Follower) -> list[dict[str, Any]]:
        """Return the ``media`` trait value: fetched, pending and missing files."""
        objects = state.object_urls()
        inline = set(objects)
        media = []
        for url in dict.fromkeys([*state.file_urls, *objects]):
            item = follower.media.get(url)
            if item is not None:
                entry = item.to_trait(self.inline_limit)
                entry["inline"] = url in inline
                entry["data"] = self.model_for(item.key, entry["data"])
            else:
                # Not fetched (yet): a stable key that data: URIs cannot collide on.
                key = "u" + hashlib.sha1(url.encode()).hexdigest()[:16]  # noqa: S324
                shown = "an output file" if url.startswith("data:") else url[:200]
                entry = {"key": key, "kind": "pending", "name": shown, "data": None}
                if url in follower.media_errors:
                    reason = follower.media_errors[url]
                    kept = reason.startswith(_NOT_DOWNLOADED)
                    entry["kind"] = "remote" if kept else "missing"
                    entry["reason"] = reason.removeprefix(_NOT_DOWNLOADED)
                    # One inside an object shows as its URL there, and nowhere else.
                    entry["inline"] = kept and url in inline
            media.append(entry)
        return media

    def close(self) -> None:
        """Close every model (after the list that referred to them is gone)."""
        models, self._models = self._models, {}
        for model in models.values():
            model.close()

    def model_for(self, key: str, data: bytes) -> MediaBytes | None:
        """Return the model holding ``data`` for ``key``, opened once; None if empty."""
        if not data:
            return None
        model = self._models.get(key)
        if model is None or model.data is not data:
            model = self._models[key] = MediaBytes(data=data)
        return model
