"""The panel's output files on the wire: display bytes sent to the views that ask.

A widget trait is always sent whole, so image bytes inside the panel's ``media`` list
would be sent again every time an iterator yields one more image (n images cost n²/2
transfers). Instead the list names each file's bytes by an id, and a view asks for
the ids it has not got (``{"kind": "media", "ids": [...]}``); each answer is one
custom message with the bytes as a binary buffer. Custom messages with buffers work
in every anywidget host (marimo included), unlike view-less child models, which
marimo disposes of (docs/front-ends.md).
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from replicate_widgets._widgets.panel.follow import Follower

from .state import PanelState

__all__ = ["MAX_IDS_ASKED", "MediaStore", "NotDownloaded"]

MAX_IDS_ASKED = 256
"""The most ids one request from a view is answered for."""

SAVED_BYTES = 16_000_000
"""The most display bytes a finished run's ``media`` carries (see ``entries``)."""


class NotDownloaded(RuntimeError):
    """What a source's ``read`` raises for a file it leaves on the backend on purpose.

    The panel then names the file and why, instead of reporting a failed fetch.
    """


# How the follower reports a NotDownloaded (``"<type name>: <message>"``).
_NOT_DOWNLOADED = f"{NotDownloaded.__name__}: "


class MediaStore:
    """The display bytes of one panel's files, by id, for the views that ask.

    Parameters
    ----------
    inline_limit
        Audio, video and text files larger than this are links, not sent up front.

    Notes
    -----
    :meth:`entries` and :meth:`clear` run on the widgets' background thread, like the
    panel's traits; :meth:`get` runs on the kernel's main thread when a view asks.
    Single dict operations are atomic, so a view asking mid-update gets either the
    bytes or "missing", and asks again after the next update names them.
    """

    def __init__(self, inline_limit: int) -> None:
        self.inline_limit = inline_limit
        self._ids: dict[str, tuple[bytes, str]] = {}
        self._bytes: dict[str, bytes] = {}
        self._counter = itertools.count()

    def entries(self, state: PanelState, follower: Follower) -> list[dict[str, Any]]:
        """Return the ``media`` trait value: fetched, pending and missing files.

        Each fetched file has an ``id`` a view asks for its bytes by. Once the run is
        over (``state.final``) the list also carries the bytes themselves (up to
        :data:`SAVED_BYTES` in all), sent once more: a notebook saved with its
        widgets' state, or a view drawn with no kernel behind it, still shows them.
        """
        objects = state.object_urls()
        inline = set(objects)
        budget = SAVED_BYTES if state.final else 0
        media = []
        for url in dict.fromkeys([*state.file_urls, *objects]):
            item = follower.media.get(url)
            if item is not None:
                entry = item.to_trait(self.inline_limit)
                entry["inline"] = url in inline
                data = entry["data"]
                entry["id"] = self.id_for(item.key, data)
                if entry["id"] is not None and len(data) <= budget:
                    budget -= len(data)
                else:
                    entry["data"] = None
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

    def id_for(self, key: str, data: bytes) -> str | None:
        """Return the id ``data`` (the bytes of ``key``) is sent under; None if empty.

        The same bytes keep their id, so views that have them do not ask again; new
        bytes for a key get a new id (a view never shows stale bytes from its cache).
        """
        if not data:
            return None
        known = self._ids.get(key)
        if known is not None and known[0] is data:
            return known[1]
        media_id = f"{key}.{next(self._counter)}"
        if known is not None:
            self._bytes.pop(known[1], None)
        self._ids[key] = (data, media_id)
        self._bytes[media_id] = data
        return media_id

    def get(self, media_id: str) -> bytes | None:
        """Return the bytes sent under ``media_id``; None for an id not held (now)."""
        return self._bytes.get(media_id)

    def clear(self) -> None:
        """Forget every file (the panel shows another prediction, or closed)."""
        self._ids = {}
        self._bytes = {}
