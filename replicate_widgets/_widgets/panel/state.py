"""What a prediction panel shows, as a pure state machine (no widgets, no I/O).

:class:`PanelState` takes prediction snapshots (from polling or ``GET``) and stream
events (``output``, ``logs``, ``error``, ``done``) in any order they arrive and keeps
what the panel must draw: the status timeline, logs, progress, the output split by how
it is shown (text, files, a JSON value, an embedding summary) and errors. The widget
turns :meth:`PanelState.snapshot` into traits; tests feed it real event sequences.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, get_args

from replicate_widgets._client.progress import LogBuffer, parse_progress
from replicate_widgets._client.types import TERMINAL_STATUSES, Prediction
from replicate_widgets._schema.types import OutputKind

if TYPE_CHECKING:
    from replicate_widgets._schema.model_schema import ModelSchema

__all__ = [
    "OUTPUT_KINDS",
    "PanelState",
    "Phase",
    "is_file_url",
    "output_kind_of",
    "raw_json",
]

OUTPUT_KINDS: frozenset[str] = frozenset(get_args(OutputKind))
"""The output kinds of ``replicate_widgets.schema`` (``parse(doc).output.kind``)."""

_FILE_KINDS = {"file", "files", "file-stream"}
_MEDIA_MARK = "__media__"


def is_file_url(value: Any) -> bool:
    """Return True when ``value`` is a string that names an output file."""
    return isinstance(value, str) and (
        value.startswith(("https://", "http://", "data:")) and "\n" not in value
    )


def output_kind_of(spec: Any) -> str | None:
    """Read an output kind from a kind string or an object with a ``kind`` attribute.

    Raises
    ------
    ValueError
        When the kind is not one of :data:`OUTPUT_KINDS`.
    """
    if spec is None:
        return None
    kind = spec if isinstance(spec, str) else getattr(spec, "kind", None)
    if kind not in OUTPUT_KINDS:
        choices = ", ".join(sorted(OUTPUT_KINDS))
        raise ValueError(
            f"Unknown output kind {kind!r}. Pass one of {choices}, or the output "
            "spec from replicate_widgets.schema.parse(...).output, or None to guess "
            "from the output itself."
        )
    return str(kind)


def _guess_kind(output: Any) -> str | None:
    """Guess how to show an output no schema described."""
    if output is None:
        return None
    if isinstance(output, bool):
        return "boolean"
    if isinstance(output, (int, float)):
        return "number"
    if isinstance(output, str):
        return "file" if is_file_url(output) else "text"
    if isinstance(output, dict):
        return "object"
    if isinstance(output, list):
        if output and all(is_file_url(x) for x in output):
            return "files"
        if output and all(isinstance(x, str) for x in output):
            return "text-stream"  # token lists are the common unlabelled case
        if output and all(_is_number(x) for x in output):
            return "embedding"
        if output and all(
            isinstance(x, list) and x and all(_is_number(v) for v in x) for x in output
        ):
            return "embedding"
        return "json"
    return "json"


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _parse_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        # Python 3.10's fromisoformat rejects "Z" and 7+ fraction digits.
        text = value.replace("Z", "+00:00")
        head, sep, rest = text.partition(".")
        if sep:
            digits = "".join(c for c in rest if c.isdigit())
            zone = rest[len(digits) :]
            text = f"{head}.{digits[:6]}{zone}"
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return stamp.timestamp()


@dataclass
class Phase:
    """One step of the status timeline."""

    status: str
    """``starting``, ``processing`` or a terminal status."""
    start: float
    """Epoch seconds when it began."""
    end: float | None = None
    """Epoch seconds when it ended; None while it lasts (and for terminal ones)."""


class PanelState:
    """Everything the panel draws for one prediction.

    Parameters
    ----------
    output_kind
        How to show the output (one of :data:`OUTPUT_KINDS`); None to guess from the
        output itself.
    log_limit
        Characters of logs kept for display (the rest stay available in full).
    """

    def __init__(
        self, output_kind: str | None = None, log_limit: int = 100_000
    ) -> None:
        self.declared_kind = output_kind
        self.prediction_id = ""
        self.model = ""
        self.status = ""
        self.phases: list[Phase] = []
        self.metrics: dict[str, Any] = {}
        self.logs = LogBuffer(log_limit)
        self.text_parts: list[str] = []
        self.file_urls: list[str] = []
        self.value: Any = None
        self.embedding: dict[str, Any] | None = None
        self.error = ""
        self.cancel_reason = ""
        self.kind: str | None = output_kind
        self.final = False
        self.booting = False
        """The backend says the model's process is starting for this prediction."""
        self._streamed_logs = False
        self._streamed_output = False
        self.events_carry_content = False
        """True when stream events deliver all output and logs from the start (the
        follower's case): mid-run snapshots then update only status and metrics, or
        the stream's replay would repeat what a snapshot already showed."""

    # -- inputs ------------------------------------------------------------------

    def apply_prediction(self, p: Prediction, now: float) -> None:
        """Take in a prediction snapshot (created, polled, or the final re-fetch).

        Output and logs from a snapshot replace what the stream delivered only once the
        prediction is terminal: the final output is the truth, while mid-run snapshots
        would race the stream and show text twice.
        """
        self.prediction_id = p.id or self.prediction_id
        self.model = p.model or self.model
        self._advance(p.status, p, now)
        # Only the local backend says this (Replicate's API has no such field).
        self.booting = p.status == "starting" and p.raw.get("booting") is True
        if p.metrics:
            self.metrics = {k: v for k, v in p.metrics.items() if _is_json_scalar(v)}
        if p.error:
            self.error = _error_text(p.error)
        terminal = p.status in TERMINAL_STATUSES
        if terminal and self.declared_kind is None and p.output is not None:
            # A kind guessed from the first stream event yields to the final output,
            # except that images which streamed in stay an iterator of files.
            guess = _guess_kind(p.output)
            if not (self.kind == "file-stream" and guess == "files"):
                self.kind = guess
        from_events = self.events_carry_content
        if terminal or not (from_events or self._streamed_logs):
            self.logs.replace(p.logs or "")
        if terminal and p.output is not None:
            # The final output replaces whatever the stream or earlier polls showed.
            self.text_parts, self.file_urls = [], []
            self.value, self.embedding = None, None
        if terminal or not (from_events or self._streamed_output):
            self._set_output(p.output)
        self.final = terminal

    def apply_event(self, event: str, data: str, now: float) -> None:
        """Take in one server-sent event from ``urls.stream``."""
        if event == "output":
            self._streamed_output = True
            self._advance("processing", None, now)
            kind = self.kind or ("file-stream" if is_file_url(data) else "text-stream")
            self.kind = kind
            if kind in _FILE_KINDS:
                self.file_urls.append(data)
            else:
                self.text_parts.append(data)
        elif event == "logs":
            self._streamed_logs = True
            self._advance("processing", None, now)
            # Replicate sends a log line per event without its newline.
            self.logs.append(data if data.endswith("\n") else data + "\n")
        elif event == "error":
            self.error = _error_text(_json_or_text(data))
        elif event == "done":
            reason = _json_or_text(data)
            if isinstance(reason, dict):
                self.cancel_reason = str(reason.get("reason") or "")

    # -- derived -----------------------------------------------------------------

    @property
    def text(self) -> str:
        """The text output so far (streamed chunks joined)."""
        if len(self.text_parts) > 1:
            self.text_parts = ["".join(self.text_parts)]
        return self.text_parts[0] if self.text_parts else ""

    def timeline(self, now: float) -> list[dict[str, Any]]:
        """Return the phases with their durations in seconds, for display."""
        out = []
        for phase in self.phases:
            terminal = phase.status in TERMINAL_STATUSES
            end = (
                phase.end
                if phase.end is not None
                else (phase.start if terminal else now)
            )
            out.append(
                {
                    "status": phase.status,
                    "seconds": round(max(0.0, end - phase.start), 3),
                    "open": phase.end is None and not terminal,
                }
            )
        return out

    def progress(self) -> dict[str, Any]:
        """Return the last tqdm-style progress in the logs, or an empty dict."""
        found = parse_progress(self.logs.full)
        return found.as_dict() if found else {}

    def value_with_media(self, keys: dict[str, str]) -> Any:
        """Return :attr:`value` with file URLs replaced by ``{"__media__": key}``."""
        return _replace_urls(self.value, keys)

    def object_urls(self) -> list[str]:
        """File URLs found inside an object or JSON output, in order."""
        found: list[str] = []
        _collect_urls(self.value, found)
        return found

    # -- internals ---------------------------------------------------------------

    def _advance(self, status: str, p: Prediction | None, now: float) -> None:
        """Move the timeline forward to ``status`` (never backwards)."""
        order = ["starting", "processing"]
        if self.status in TERMINAL_STATUSES:
            return
        if (
            self.status in order
            and status in order
            and order.index(status) <= order.index(self.status)
        ):
            return
        if status == self.status:
            return
        created = _parse_time(p.created_at) if p else None
        started = _parse_time(p.started_at) if p else None
        completed = _parse_time(p.completed_at) if p else None
        if not self.phases:
            # A prediction watched after it began: rebuild the phases it went through.
            # Server timestamps when there are any (a kernel clock that lags the
            # server's shows 0 s, never a negative time: see timeline()).
            self.phases.append(
                Phase("starting", created if created is not None else now)
            )
            self.status = "starting"
            if status == "starting":
                return
        if status != "processing" and self.status == "starting":
            # Ended without us seeing it run (fast, or found finished): show both.
            at = started if started is not None else now
            self._close_open(at)
            self.phases.append(Phase("processing", at))
        at = now
        if status == "processing" and started is not None:
            at = started
        elif status in TERMINAL_STATUSES and completed is not None:
            at = completed
        self._close_open(at)
        self.phases.append(Phase(status, at))
        self.status = status

    def _close_open(self, at: float) -> None:
        if self.phases and self.phases[-1].end is None:
            last = self.phases[-1]
            last.end = max(last.start, at)

    def _set_output(self, output: Any) -> None:
        if output is None:
            return
        kind = self.kind or _guess_kind(output)
        self.kind = kind
        if kind in ("text", "text-stream"):
            if isinstance(output, list):
                self.text_parts = ["".join(str(x) for x in output)]
            else:
                self.text_parts = [output if isinstance(output, str) else str(output)]
        elif kind in _FILE_KINDS:
            items = output if isinstance(output, list) else [output]
            self.file_urls = [x for x in items if isinstance(x, str)]
        elif kind == "embedding":
            self.embedding = summarize_embedding(output)
        else:
            self.value = output


def raw_json(
    prediction: Prediction, schema: ModelSchema | None = None, log_limit: int = 100_000
) -> dict[str, Any]:
    """Return the prediction's JSON as the API sent it, fit to show in the page.

    Secret inputs are masked (by ``schema`` when given, else by their names), long
    ``data:`` URIs are cut to their type and length, and logs longer than
    ``log_limit`` characters keep their end (the panel offers them all).
    """
    from replicate_widgets._widgets.keep_files import mask_secrets, shorten_data_uris

    doc = dict(prediction.raw)
    if isinstance(doc.get("input"), dict):
        doc["input"] = mask_secrets(doc["input"], schema)
    logs = doc.get("logs")
    if isinstance(logs, str) and len(logs) > log_limit:
        doc["logs"] = "…" + logs[-log_limit:]
    shortened: dict[str, Any] = shorten_data_uris(doc, note="")
    return shortened


def summarize_embedding(output: Any) -> dict[str, Any]:
    """Describe a vector or a list of vectors by shape and value range."""
    rows = output if output and isinstance(output[0], list) else [output]
    flat = [float(v) for row in rows for v in row if _is_number(v)]
    finite = [v for v in flat if math.isfinite(v)]
    shape = (
        [len(rows), len(rows[0])]
        if output and isinstance(output[0], list)
        else [len(flat)]
    )
    summary: dict[str, Any] = {"shape": shape, "count": len(flat)}
    if finite:
        norm = math.sqrt(sum(v * v for v in rows[0] if _is_number(v)))
        summary.update(
            min=min(finite),
            max=max(finite),
            mean=sum(finite) / len(finite),
            norm=norm,
            preview=[round(float(v), 6) for v in rows[0][:8]],
        )
    return summary


def _replace_urls(value: Any, keys: dict[str, str]) -> Any:
    if isinstance(value, str) and value in keys:
        return {_MEDIA_MARK: keys[value]}
    if isinstance(value, list):
        return [_replace_urls(v, keys) for v in value]
    if isinstance(value, dict):
        return {str(k): _replace_urls(v, keys) for k, v in value.items()}
    return value


def _collect_urls(value: Any, found: list[str]) -> None:
    if is_file_url(value):
        found.append(value)
    elif isinstance(value, list):
        for v in value:
            _collect_urls(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            _collect_urls(v, found)


def _json_or_text(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("detail") or error.get("title") or json.dumps(error))
    return str(error)


def _is_json_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))
