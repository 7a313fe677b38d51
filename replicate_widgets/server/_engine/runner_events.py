"""The events a run produces, translated from coglet's SSE stream."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import httpx_sse

__all__ = [
    "CRASH_MESSAGE",
    "RunnerEvent",
    "completed_event",
    "completion_from",
    "event_from_sse",
    "response_json",
    "validation_message",
]

EventKind = Literal["start", "log", "notice", "output", "metric", "completed"]
CRASH_MESSAGE = (
    "The model's process crashed while running this prediction ({detail}). "
    "It will be restarted for the next prediction; check the logs for the cause."
)
_PREFIX = re.compile(r"^(?:(?:Prediction|Training) failed: )+")


@dataclass(frozen=True)
class RunnerEvent:
    """One event of a run, in the order coglet produced it.

    Attributes
    ----------
    kind
        ``start``, ``log``, ``output``, ``metric`` or ``completed``.
    data
        ``start``: ``{}``; ``log``: ``{"data", "source"}`` (``stdout``/``stderr``);
        ``notice``: ``{"data"}``, a line from the backend itself for the
        prediction's logs (the run may not have started);
        ``output``: ``{"chunk", "index"}``; ``metric``: ``{"name", "value",
        "mode"}``; ``completed``: ``{"status", "output", "error", "logs",
        "metrics"}`` with status ``succeeded``, ``failed`` or ``canceled``.
    """

    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)


def completed_event(
    status: str,
    *,
    output: Any = None,
    error: str | None = None,
    logs: str = "",
    metrics: dict[str, Any] | None = None,
) -> RunnerEvent:
    return RunnerEvent(
        "completed",
        {
            "status": status,
            "output": output,
            "error": error,
            "logs": logs,
            "metrics": metrics or {},
        },
    )


def validation_message(body: Any, hides: Callable[[list[str]], bool]) -> str:
    """Turn coglet's 422 body into an error that never quotes a secret.

    Parameters
    ----------
    body
        coglet's answer: ``{"detail": [{"loc": [...], "msg": ...}]}``, where a
        ``loc`` is ``["body", "input", "keys/1"]`` for item 1 of ``keys``.
    hides
        Tells whether the input at a path (keys and index strings) is or holds
        a secret; coglet's message quotes the value there.
    """
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        parts = []
        for item in detail:
            loc = [str(p) for p in item.get("loc", [])]
            if loc[:2] == ["body", "input"]:
                loc = loc[2:]
            path = [
                step.replace("~1", "/").replace("~0", "~")
                for part in loc
                for step in part.split("/")
            ]
            where = ".".join(path) or "input"
            message = str(item.get("msg", "invalid"))
            if hides(path):
                message = (
                    "invalid value (not shown because it is secret); check the "
                    "value passed for this input"
                )
            parts.append(f"{where}: {message}")
        return "Invalid input: " + "; ".join(parts)
    if hides([]):  # no place named: say nothing that could quote a secret
        return (
            "Invalid input: check the values passed (the model server's message "
            "is not shown because the input holds secrets)"
        )
    return f"Invalid input: {json.dumps(body)}"


def event_from_sse(sse: httpx_sse.ServerSentEvent) -> RunnerEvent | None:
    """Translate one coglet SSE event; ``None`` for keep-alives and unknown kinds."""
    if not sse.data:
        return None
    data = sse.json()
    if sse.event == "start":
        return RunnerEvent("start", {})
    if sse.event == "log":
        source = data.get("source", "stdout")
        return RunnerEvent("log", {"data": data.get("data", ""), "source": source})
    if sse.event == "output":
        chunk = {"chunk": data.get("chunk"), "index": data.get("index", 0)}
        return RunnerEvent("output", chunk)
    if sse.event == "metric":
        return RunnerEvent(
            "metric", {k: data.get(k) for k in ("name", "value", "mode")}
        )
    if sse.event == "completed":
        return completion_from(data)
    if sse.event == "error":
        # The replay buffer overflowed: the stream closes (and coglet cancels
        # the prediction) but the process itself is fine.
        return completed_event(
            "failed", error=f"The prediction's event stream broke off: {data}"
        )
    return None


def completion_from(data: dict[str, Any]) -> RunnerEvent:
    """Build the ``completed`` event from coglet's final snapshot."""
    status = data.get("status", "failed")
    error = data.get("error")
    if isinstance(error, str):
        if error.strip() == "Worker crashed":
            error = CRASH_MESSAGE.format(detail="Worker crashed")
        else:
            error = _PREFIX.sub("", error)
    return completed_event(
        status,
        output=data.get("output"),
        error=error,
        logs=data.get("logs") or "",
        metrics=data.get("metrics") or {},
    )


def response_json(response: httpx.Response) -> Any:
    """Return the body as JSON, or as text when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return response.text
