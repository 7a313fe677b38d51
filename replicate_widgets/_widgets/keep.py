"""Keep outputs: save each finished prediction to disk before Replicate deletes it.

API predictions lose their inputs, outputs and logs after an hour. A `Keeper` writes a
finished prediction to ``<root>/<prediction id>/``: its output files (downloaded,
named with the extension of their sniffed type) and a ``record.json`` describing the
run, with output URLs replaced by those file names. History reads the folders back,
so finished work outlives the hour and the kernel.

Every file is written to a temporary name and renamed into place, and ``record.json``
is written last, so a folder without one is a save that never finished.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replicate_widgets._client.sniff import clean_mime
from replicate_widgets._client.types import Prediction
from replicate_widgets._schema.model_schema import ModelSchema

from .keep_files import (
    RECORD,
    Downloader,
    FileSaver,
    Reader,
    mask_secrets,
    replace_urls,
    shorten_data_uris,
    write_atomic,
)

__all__ = [
    "KEEP_ENV",
    "OUTPUTS_ENV",
    "Keeper",
    "KeptFile",
    "KeptRecord",
]

OUTPUTS_ENV = "REPLICATE_WIDGETS_OUTPUTS"
"""Environment variable naming the default folder outputs are kept in."""
KEEP_ENV = "REPLICATE_WIDGETS_KEEP"
"""Environment variable that turns keeping off: ``0``, ``false``, ``no`` or ``off``."""
DEFAULT_ROOT = "replicate-outputs"
FORMAT = 1


# Replicate ids are lowercase base32; the local backend's are similar. Anything that
# could climb out of the folder (``..``, ``/``, ``\\``) is refused.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def check_id(prediction_id: Any) -> str:
    """Return ``prediction_id`` if it is a safe folder name; raise ValueError if not."""
    if not isinstance(prediction_id, str) or not _ID.match(prediction_id):
        raise ValueError(
            f"{prediction_id!r} is not a prediction id: expected letters, digits, "
            "'-' or '_' (like 'vgcm4plb7tgzlyznry5d5jkgvu'); pass prediction.id"
        )
    return prediction_id


@dataclass(frozen=True)
class KeptFile:
    """One file saved with a prediction."""

    name: str
    """File name inside the prediction's folder."""
    mime: str
    """The type sniffed from the bytes."""
    size: int
    """Length in bytes."""
    sha256: str
    """Hex SHA-256 of the content."""
    url: str | None
    """Where it came from (long ``data:`` URIs are shortened); None if unknown."""
    path: Path
    """Where it is on disk."""
    role: str = "output"
    """``output``, or ``input`` for a file the prediction was given as a data URI."""

    def read(self) -> bytes:
        """Return the file's bytes."""
        return self.path.read_bytes()


@dataclass(frozen=True)
class KeptRecord:
    """A prediction read back from its folder."""

    id: str
    """The prediction id (also the folder's name)."""
    folder: Path
    """The prediction's folder."""
    status: str
    """Its final status."""
    model: str | None = None
    """``owner/name``."""
    version: str | None = None
    """The version id."""
    input: dict[str, Any] = field(default_factory=dict)
    """The input, secrets masked, kept input files replaced by their names."""
    output: Any = None
    """The output with every kept file's URL replaced by its file name."""
    original_output: Any = None
    """The output as the API returned it (long data: URIs shortened)."""
    logs: str | None = None
    """What the model printed."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """``predict_time`` and the like."""
    error: str | None = None
    """Why it failed, if it did."""
    created_at: str | None = None
    """When the prediction was created."""
    completed_at: str | None = None
    """When it finished."""
    saved_at: str | None = None
    """When it was kept."""
    files: tuple[KeptFile, ...] = ()
    """The files in the folder, outputs first."""
    missing: tuple[dict[str, Any], ...] = ()
    """Output files that could not be kept: ``{"url", "reason"}`` each."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """``record.json`` as read."""

    @property
    def output_paths(self) -> Any:
        """The output with every kept file as its absolute path (``str``)."""
        return replace_urls(
            self.output, {f.name: str(f.path) for f in self.files if f.role == "output"}
        )

    def read_files(self) -> dict[str, tuple[bytes, str]]:
        """Return ``{original URL: (bytes, mime)}`` of the kept outputs.

        Together with `prediction` this is what `share_html` takes, so a kept run
        can be shared long after its URLs expired.
        """
        return {
            f.url: (f.read(), f.mime)
            for f in self.files
            if f.role == "output" and f.url is not None and f.path.is_file()
        }

    def prediction(self) -> Prediction:
        """Rebuild the prediction (original output URLs, masked input)."""
        skip = ("files", "missing", "saved_at", "format", "original_output")
        data = {k: v for k, v in self.raw.items() if k not in skip}
        data["output"] = self.original_output
        data["input"] = self.input
        return Prediction.from_json(data)


def _read_record(folder: Path) -> KeptRecord:
    raw = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or raw.get("id") != folder.name:
        raise ValueError(f"{folder / RECORD} does not describe {folder.name}")
    files = tuple(
        KeptFile(
            name=str(f["name"]),
            mime=clean_mime(f.get("mime")),  # the record is a file anyone can edit
            size=int(f.get("size", 0)),
            sha256=str(f.get("sha256", "")),
            url=f.get("url"),
            path=folder / posixpath.basename(str(f["name"])),
            role=str(f.get("role", "output")),
        )
        for f in raw.get("files", [])
        if isinstance(f, dict) and "name" in f
    )
    return KeptRecord(
        id=raw["id"],
        folder=folder,
        status=str(raw.get("status", "")),
        model=raw.get("model"),
        version=raw.get("version"),
        input=raw.get("input") or {},
        output=raw.get("output"),
        original_output=raw.get("original_output"),
        logs=raw.get("logs"),
        metrics=raw.get("metrics") or {},
        error=raw.get("error"),
        created_at=raw.get("created_at"),
        completed_at=raw.get("completed_at"),
        saved_at=raw.get("saved_at"),
        files=files,
        missing=tuple(m for m in raw.get("missing", []) if isinstance(m, dict)),
        raw=raw,
    )


def _env_enabled() -> bool:
    value = os.environ.get(KEEP_ENV, "").strip().lower()
    return value not in ("0", "false", "no", "off")


class Keeper:
    """Saves finished predictions under ``root/<prediction id>/`` and reads them back.

    Parameters
    ----------
    root : Path or str or None
        The folder. ``None`` uses ``$REPLICATE_WIDGETS_OUTPUTS``, else
        ``replicate-outputs`` in the working directory. Created on first save.
    enabled : bool
        ``False`` turns saving off (`save` returns None); so does the environment
        variable ``REPLICATE_WIDGETS_KEEP=0``. Reading works either way.

    Examples
    --------
    >>> keeper = Keeper()                                   # doctest: +SKIP
    >>> folder = keeper.save(prediction, download=client.download)  # doctest: +SKIP
    >>> keeper.list()[0].output_paths                       # doctest: +SKIP
    """

    def __init__(self, root: Path | str | None = None, *, enabled: bool = True) -> None:
        if root is None:
            root = os.environ.get(OUTPUTS_ENV) or DEFAULT_ROOT
        if not isinstance(root, (str, os.PathLike)) or not str(root).strip():
            raise TypeError(
                f"root must be a folder path such as 'replicate-outputs', got {root!r}"
            )
        # absolute now: a later os.chdir() in the notebook must not move the outputs
        self.root = Path(root).expanduser().absolute()
        """The folder predictions are kept in."""
        self.enabled = bool(enabled) and _env_enabled()
        """Whether `save` writes anything."""
        self.skipped: builtins.list[tuple[Path, str]] = []
        """Folders the last `list` call could not read, with the reason."""

    def __repr__(self) -> str:
        state = "on" if self.enabled else "off"
        return f"Keeper(root={str(self.root)!r}, {state})"

    def path_for(self, prediction_id: str) -> Path:
        """Return the folder of ``prediction_id`` (which need not exist yet).

        Raises
        ------
        ValueError
            When the id could escape the root folder (``..``, ``/`` and the like).
        """
        return self.root / check_id(prediction_id)

    def save(
        self,
        prediction: Prediction,
        files: Mapping[str, Any] | None = None,
        read: Reader | None = None,
        *,
        schema: ModelSchema | None = None,
        download: Downloader | None = None,
    ) -> Path | None:
        """Keep a finished prediction; return its folder (None when keeping is off).

        Parameters
        ----------
        prediction : Prediction
            A prediction whose status is final.
        files : Mapping or None
            Output files already in memory: URL to ``(bytes, mime)`` or to a
            ``FileContent``. Nothing is downloaded twice.
        read : callable or None
            Reads any other output URL into memory (``client.read``), when there is
            no `download`. Without either, URLs not in ``files`` stay URLs in the
            record (data: URIs are decoded regardless).
        schema : ModelSchema or None
            The model's schema, so that ``secret`` inputs are masked. Without it,
            inputs named like ``token``, ``password`` or ``api_key`` are masked.
        download : callable or None
            Saves any other output URL straight to a file (pass ``client.download``),
            so large outputs never pass through memory. Preferred over `read`.

        Returns
        -------
        Path or None
            The prediction's folder.

        Raises
        ------
        ValueError
            When the prediction has not finished, or its id is not a safe name.
        """
        if not isinstance(prediction, Prediction):
            raise TypeError(
                f"save() takes a Prediction, not {type(prediction).__name__}; "
                "use Prediction.from_json(data) for a dict"
            )
        if not self.enabled:
            return None
        folder = self.path_for(prediction.id)
        if not prediction.is_terminal:
            raise ValueError(
                f"prediction {prediction.id} is still {prediction.status}; keep it "
                "once it has finished (succeeded, failed, canceled or aborted)"
            )
        previous = self._previous(folder)
        if previous is not None and prediction.data_removed:
            return folder  # the API deleted the data; what was kept is better
        folder.mkdir(parents=True, exist_ok=True)
        kept = {
            f.url: (f.path, f.mime)
            for f in (previous.files if previous else ())
            if f.url
        }
        saver = FileSaver(folder, files or {}, read, kept, download)
        names = saver.outputs(prediction.output)
        record = {
            "format": FORMAT,
            "id": prediction.id,
            "model": prediction.model,
            "version": prediction.version,
            "status": prediction.status,
            "input": saver.inputs(mask_secrets(prediction.input, schema)),
            "output": replace_urls(prediction.output, names),
            "original_output": shorten_data_uris(prediction.output),
            "logs": prediction.logs,
            "metrics": prediction.metrics,
            "error": prediction.error,
            "created_at": prediction.created_at,
            "started_at": prediction.started_at,
            "completed_at": prediction.completed_at,
            "saved_at": dt.datetime.now(dt.timezone.utc).isoformat(),
            "files": saver.entries,
            "missing": saver.missing,
        }
        text = json.dumps(record, ensure_ascii=False, indent=2, default=str)
        write_atomic(folder / RECORD, text.encode("utf-8"))
        return folder

    def _previous(self, folder: Path) -> KeptRecord | None:
        try:
            return _read_record(folder)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def load(self, prediction_id: str) -> KeptRecord:
        """Read one kept prediction.

        Raises
        ------
        FileNotFoundError
            When it was never kept (or its save did not finish).
        ValueError
            When the id is unsafe or ``record.json`` is damaged.
        """
        folder = self.path_for(prediction_id)
        if not (folder / RECORD).is_file():
            raise FileNotFoundError(
                f"no kept prediction {prediction_id} in {self.root}; "
                "Keeper.list() shows the ones there are"
            )
        try:
            return _read_record(folder)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"{folder / RECORD} is damaged ({exc}); delete the folder, or "
                "restore it from a backup"
            ) from None

    def list(self) -> builtins.list[KeptRecord]:
        """Return every kept prediction, newest first.

        Folders that cannot be read (an unfinished save, a damaged record, anything
        else that is not a kept prediction) are left out and noted in `skipped`.
        """
        self.skipped = []
        records: builtins.list[KeptRecord] = []
        if not self.root.is_dir():
            return records
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or not _ID.match(folder.name):
                continue
            if not (folder / RECORD).is_file():
                self.skipped.append((folder, f"no {RECORD} (an unfinished save?)"))
                continue
            try:
                records.append(_read_record(folder))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self.skipped.append((folder, f"unreadable {RECORD}: {exc}"))
        records.sort(key=lambda r: (r.created_at or r.saved_at or "", r.id))
        records.reverse()
        return records
