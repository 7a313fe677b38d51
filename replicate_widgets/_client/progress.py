"""Reading model logs: progress from tqdm-style lines, colour codes, a bounded buffer.

Models report progress by logging tqdm bars (``" 38%|###8  | 19/50 [00:01<00:01]"``).
Replicate's own clients take the last line that looks like one; so do we, reading only
the tail of the logs so the cost does not grow with a long run. The public
``Prediction.progress`` and the panel's bar both come from `Progress.parse`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LogBuffer", "Progress", "parse_progress", "strip_ansi"]

# The convention of replicate-python's Prediction.Progress: percent, bar, current/total.
_BAR = re.compile(r"^\s*(\d+)%\s*\|.*?\|\s*(\d+)/(\d+)")
# Terminal escapes: CSI sequences (colours, cursor moves) and OSC ones (titles,
# links). Left in, they break the "^\s*NN%" anchor of a coloured bar and show as
# noise in a shared page.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A tqdm line is short; the tail we scan holds the last several of them.
_TAIL = 4096


def strip_ansi(text: str) -> str:
    """Return ``text`` without terminal escape sequences (colours, titles)."""
    return _ANSI.sub("", text)


@dataclass(frozen=True)
class Progress:
    """Progress parsed from a tqdm-style log line such as ``42%|####  | 42/100``."""

    percentage: float
    """Fraction done, 0.0 to 1.0 (``current / total``)."""
    current: int
    """Steps done."""
    total: int
    """Steps in all."""

    def as_dict(self) -> dict[str, float | int]:
        """Return the JSON form the panel syncs to the browser."""
        return {
            "fraction": self.percentage,
            "current": self.current,
            "total": self.total,
        }

    @classmethod
    def parse(cls, logs: str) -> Progress | None:
        """Return the progress of the last tqdm-style line in ``logs``, or ``None``.

        Colour codes are ignored; a bar with a total of 0 is skipped.
        """
        return parse_progress(logs)


def parse_progress(logs: str) -> Progress | None:
    r"""Return the progress of the last tqdm-style line in ``logs``, if any.

    Parameters
    ----------
    logs
        Log text; lines may end with ``\n``, ``\r\n`` or tqdm's bare ``\r``.

    Returns
    -------
    Progress or None
        None when no line looks like a progress bar.
    """
    tail = _ANSI.sub("", logs[-_TAIL:])
    for line in reversed(_LINE_BREAK.split(tail)):
        match = _BAR.match(line)
        if match is None:
            continue
        current, total = int(match.group(2)), int(match.group(3))
        if total <= 0:
            continue
        return Progress(min(current / total, 1.0), current, total)
    return None


class LogBuffer:
    """Logs kept in full, with a bounded tail for display.

    Parameters
    ----------
    limit
        Most characters shown in the browser; the rest is counted in
        :attr:`dropped` and available through :attr:`full`.
    """

    def __init__(self, limit: int = 100_000) -> None:
        if limit <= 0:
            raise ValueError(f"limit must be positive, got {limit!r}")
        self._limit = limit
        self._parts: list[str] = []
        self._size = 0
        self._start = 0  # where the tail begins in the full text

    def append(self, chunk: str) -> None:
        """Add ``chunk`` to the end of the logs."""
        if chunk:
            self._parts.append(chunk)
            self._size += len(chunk)

    def replace(self, text: str) -> None:
        """Set the whole log text (e.g. from a polled prediction)."""
        self._parts = [text] if text else []
        self._size = len(text)
        if self._start > self._size:
            self._start = 0

    @property
    def full(self) -> str:
        """Every character logged so far."""
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def size(self) -> int:
        """Length of :attr:`full`."""
        return self._size

    @property
    def dropped(self) -> int:
        """Characters left out of :attr:`tail`."""
        return self._size - len(self.tail)

    @property
    def tail(self) -> str:
        """At most ``limit`` last characters, starting at a line start when one is near.

        When the tail outgrows ``limit`` its start jumps ahead to leave a quarter
        of the room free, instead of sliding with every write: between jumps the
        tail only grows at its end, so the panel can send the browser appends
        rather than the whole tail at every flush.
        """
        text = self.full
        if len(text) - self._start > self._limit:
            start = len(text) - self._limit * 3 // 4
            # Start on a whole line unless that would throw away much of the window.
            newline = text.find("\n", start, start + self._limit // 10)
            self._start = newline + 1 if newline >= 0 else start
        return text[self._start :]
