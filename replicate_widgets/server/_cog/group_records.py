"""Records of the model process groups a backend started, and reaping them.

Every model process group normally dies with its backend through its lifeline
(:mod:`.lifeline`). This is the second line, for a group that could not
react (frozen, or its watching thread starved): each backend records its
groups under its data dir, and a starting backend kills the groups of recorded
backends that are no longer running.

One file per running backend, ``<data dir>/processes/<owner>.json``, rewritten
atomically on each change::

    {"pid": 1234, "started": 1700000000.12, "groups": {"5678": "/tmp/rw-coglet-x"}}

``pid`` and ``started`` (its start time) tell whether the backend still runs,
which a recycled pid cannot fake. Kernels share the default data dir, so a
live backend's groups are never touched. Before a recorded group is killed,
one of its processes must carry ``REPLICATE_WIDGETS_BACKEND=<owner>`` in its
environment (every model process inherits it): a group id can be reused once
the group is empty, and an unrelated process must never be killed for it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

import psutil

__all__ = ["OWNER_ENV", "GroupRecords"]

log = logging.getLogger(__name__)

OWNER_ENV = "REPLICATE_WIDGETS_BACKEND"
_OWNER_NAME = re.compile(r"^[0-9a-f]{32}$")
# The only temporary folders a record may have removed (see CogletProcess).
TMP_PREFIX = "rw-coglet-"


class GroupRecords:
    """The process groups one backend started, kept under its data dir.

    Parameters
    ----------
    data_dir
        The backend's data dir; records live in its ``processes`` folder.
    """

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "processes"
        self.owner = uuid.uuid4().hex
        """The value of ``REPLICATE_WIDGETS_BACKEND`` in this backend's groups."""
        me = psutil.Process()
        self._me = {"pid": me.pid, "started": me.create_time()}
        self._groups: dict[int, str] = {}
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The record file of this backend (present while it has groups)."""
        return self.directory / f"{self.owner}.json"

    def add(self, pgid: int, tmp: Path) -> None:
        """Record a group this backend started, with its temporary folder."""
        with self._lock:
            self._groups[pgid] = str(tmp)
            self._write()

    def discard(self, pgid: int) -> None:
        """Forget a group that was stopped."""
        with self._lock:
            if self._groups.pop(pgid, None) is not None:
                self._write()

    def _write(self) -> None:
        try:
            self._replace_file()
        except OSError as exc:
            # The lifeline still stops the groups with this backend; only the
            # reaping after a failed lifeline is lost, so the run goes on.
            log.warning(
                "cannot record model processes in %s (%s); free space or fix "
                "the permissions of the data dir",
                self.directory,
                exc.strerror,
            )

    def _replace_file(self) -> None:
        if not self._groups:
            self.path.unlink(missing_ok=True)
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        record = {**self._me, "groups": {str(k): v for k, v in self._groups.items()}}
        # Atomic: a starting backend may read it at any moment.
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        os.replace(tmp, self.path)

    def reap_stale(self) -> int:
        """Kill the groups of recorded backends that no longer run.

        Returns
        -------
        int
            How many process groups were killed.
        """
        killed = 0
        for path in sorted(self.directory.glob("*.json")):
            owner = path.stem
            if not _OWNER_NAME.match(owner) or owner == self.owner:
                continue
            record = _read(path)
            if record is None or _running(record):
                continue
            groups = record.get("groups")
            for pgid, tmp in (groups if isinstance(groups, dict) else {}).items():
                if str(pgid).isdigit() and _kill_group(int(pgid), owner):
                    killed += 1
                _remove_tmp(tmp)
            path.unlink(missing_ok=True)
        return killed


def _read(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _running(record: dict[str, Any]) -> bool:
    """Tell whether the backend that wrote ``record`` still runs."""
    try:
        process = psutil.Process(int(record["pid"]))
        return bool(process.create_time() == float(record["started"]))
    except (KeyError, TypeError, ValueError):
        return False  # not a record this code wrote: nothing alive to spare
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True  # cannot tell: leave it alone


def _kill_group(pgid: int, owner: str) -> bool:
    """SIGKILL group ``pgid`` if one of its processes carries ``owner``'s mark."""
    if pgid <= 1 or pgid == os.getpgrp():
        return False
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) != pgid:
                continue
            if process.environ().get(OWNER_ENV) != owner:
                continue
        except (OSError, psutil.Error):
            continue  # gone meanwhile, or not ours to read
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
            return True
        return False
    return False


def _remove_tmp(path: Any) -> None:
    """Remove a recorded temporary folder, if it is one of ours."""
    if not isinstance(path, str):
        return
    folder = Path(path)
    if folder.parent == Path(tempfile.gettempdir()) and folder.name.startswith(
        TMP_PREFIX
    ):
        shutil.rmtree(folder, ignore_errors=True)
