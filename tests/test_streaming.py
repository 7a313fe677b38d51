from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from _client_support import TOKEN, Recorder, load

from replicate_widgets._client.async_client import AsyncClient
from replicate_widgets._client.client import Client
from replicate_widgets._client.retry import RetryPolicy
from replicate_widgets._client.streaming import StreamTracker
from replicate_widgets._client.types import Prediction, StreamEvent

FAST = RetryPolicy(max_retries=2, backoff_base=0.001, backoff_max=0.01)
TOKENS = load("prediction-processing-streamed-tokens")
PID = TOKENS["id"]
STREAM = TOKENS["urls"]["stream"]
CHUNKS = [c for c in TOKENS["output"] if c]  # the real token chunks of the recording


def frame(event: str, data: str, event_id: str | None) -> str:
    lines = [f"id: {event_id}"] if event_id else []
    lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return "\n".join(lines) + "\n\n"


def full_stream() -> list[str]:
    frames = [": hi\n\n"]
    for i, chunk in enumerate(CHUNKS):
        frames.append(frame("output", chunk, f"1690212292:{i}"))
        if i == 2:
            frames.append(frame("logs", "step 3/11", f"1690212292:{i}l"))
    frames.append(frame("done", "{}", "1690212292:done"))
    return frames


def sse_response(frames: list[str], *, drop_after: int | None = None) -> httpx.Response:
    def body() -> Iterator[bytes]:
        for n, text in enumerate(frames):
            if drop_after is not None and n == drop_after:
                # Split mid-frame first, as a real dropped connection would.
                yield text[: len(text) // 2].encode()
                raise httpx.RemoteProtocolError("peer closed connection")
            yield text.encode()

    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=body()
    )


def async_sse_response(
    frames: list[str], *, drop_after: int | None = None
) -> httpx.Response:
    async def body() -> AsyncIterator[bytes]:
        for n, text in enumerate(frames):
            if drop_after is not None and n == drop_after:
                yield text[: len(text) // 2].encode()
                raise httpx.RemoteProtocolError("peer closed connection")
            yield text.encode()

    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=body()
    )


def processing(**changes: object) -> dict:
    body = load("prediction-processing-streamed-tokens")
    body.update(changes)
    return body


def outputs(events: list[StreamEvent]) -> str:
    return "".join(e.data for e in events if e.event == "output")


# -- the tracker (pure) ---------------------------------------------------------------


def test_tracker_drops_repeated_ids_and_stops_at_done():
    t = StreamTracker()
    assert t.accept("output", "a", "1") == StreamEvent("output", "a", "1")
    assert t.accept("output", "a", "1") is None
    assert t.accept("ping", "", "2") is None
    assert t.accept("done", "{}", "3") is not None
    assert t.done
    assert t.accept("output", "late", "4") is None
    assert t.last_event_id == "3"


def test_tracker_catch_up_emits_only_missing_list_items_and_log_lines():
    t = StreamTracker()
    t.accept("output", CHUNKS[0], "1")
    t.accept("output", CHUNKS[1], "2")
    t.accept("logs", "line one", "3")
    polled = Prediction.from_json(
        processing(status="succeeded", output=CHUNKS, logs="line one\nline two\n")
    )
    events = t.catch_up(polled)
    assert [e.event for e in events] == ["logs"] + ["output"] * (len(CHUNKS) - 2) + [
        "done"
    ]
    assert events[0].data == "line two"
    assert t.output_text == "".join(CHUNKS)
    assert t.done
    assert t.catch_up(polled) == []


def test_tracker_catch_up_string_output_and_failure():
    t = StreamTracker()
    t.accept("output", "Hello", "1")
    failed = Prediction.from_json(
        processing(status="failed", output="Hello, world", error="OOM", logs="")
    )
    events = t.catch_up(failed)
    assert events[0] == StreamEvent("output", ", world")
    assert events[1].event == "error"
    assert json.loads(events[1].data) == {"detail": "OOM"}
    assert json.loads(events[2].data) == {"reason": "error"}


@pytest.mark.parametrize("status", ["canceled", "aborted"])
def test_tracker_catch_up_end_reasons(status):
    t = StreamTracker()
    events = t.catch_up(Prediction.from_json(processing(status=status, output=None)))
    assert events[-1] == StreamEvent("done", json.dumps({"reason": status}))


def test_tracker_gives_up_after_empty_reconnects():
    t = StreamTracker(max_reconnects=2)
    assert t.connection_ended(got_events=True)
    assert t.connection_ended(got_events=False)
    assert t.connection_ended(got_events=False)
    assert not t.connection_ended(got_events=False)


# -- the sync client -------------------------------------------------------------------


def make(routes):
    rec = Recorder(routes)
    client = Client(
        api_token=TOKEN,
        transport=httpx.MockTransport(rec),
        retry=FAST,
        poll_interval=0.001,
    )
    return client, rec


def test_stream_reads_events_in_order_and_stops_at_done():
    frames = [*full_stream(), frame("output", "after done", "x:99")]
    client, rec = make({f"GET {STREAM}": [sse_response(frames)]})
    events = list(client.stream_prediction(Prediction.from_json(processing())))
    assert outputs(events) == "".join(CHUNKS)
    assert events[-1] == StreamEvent("done", "{}", "1690212292:done")
    assert [e.data for e in events if e.event == "logs"] == ["step 3/11"]
    req = rec.last
    assert req.headers["accept"] == "text/event-stream"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"


def test_multiline_data_is_joined():
    frames = [frame("output", "line 1\nline 2", "a"), frame("done", "{}", "b")]
    client, _ = make({f"GET {STREAM}": [sse_response(frames)]})
    events = list(client.stream_prediction(Prediction.from_json(processing())))
    assert events[0].data == "line 1\nline 2"


def test_dropped_stream_reconnects_with_last_event_id_without_duplicates():
    frames = full_stream()
    client, rec = make(
        {f"GET {STREAM}": [sse_response(frames, drop_after=4), sse_response(frames)]}
    )
    events = list(client.stream_prediction(Prediction.from_json(processing())))
    assert outputs(events) == "".join(CHUNKS)
    assert sum(e.event == "done" for e in events) == 1
    stream_requests = [r for r in rec.requests if str(r.url) == STREAM]
    assert len(stream_requests) == 2
    assert "last-event-id" not in stream_requests[0].headers
    assert stream_requests[1].headers["last-event-id"] == "1690212292:2"


def test_stream_that_cannot_reconnect_falls_back_to_polling():
    frames = full_stream()
    gone = httpx.Response(
        408, text=":408: 408 Request Timeout", headers={"content-type": "text/plain"}
    )
    client, rec = make(
        {
            f"GET {STREAM}": [sse_response(frames, drop_after=3), gone],
            f"GET /predictions/{PID}": [
                (200, processing(output=CHUNKS[:5])),
                (200, processing(status="succeeded", output=CHUNKS, logs="done\n")),
            ],
        }
    )
    events = list(client.stream_prediction(Prediction.from_json(processing())))
    assert outputs(events) == "".join(CHUNKS)
    assert events[-1].event == "done"
    assert events[-1].id is None  # recovered by polling
    assert any(r.url.path.endswith(PID) for r in rec.requests)


def test_error_event_then_done():
    frames = [
        frame("output", "partial", "1"),
        frame("error", json.dumps({"detail": "CUDA out of memory"}), "2"),
        frame("done", json.dumps({"reason": "error"}), "3"),
    ]
    client, _ = make({f"GET {STREAM}": [sse_response(frames)]})
    events = list(client.stream_prediction(Prediction.from_json(processing())))
    assert [e.event for e in events] == ["output", "error", "done"]
    assert json.loads(events[1].data)["detail"] == "CUDA out of memory"


def test_prediction_without_stream_url_is_polled():
    start = load("prediction-starting")
    pid = start["id"]
    logs = "  10%|#         | 1/10\n"
    client, _ = make(
        {
            f"GET /predictions/{pid}": [
                (200, dict(start, status="processing", logs=logs)),
                (
                    200,
                    dict(
                        start, status="succeeded", logs=logs + "saved\n", output=["u1"]
                    ),
                ),
            ]
        }
    )
    events = list(client.stream_prediction(Prediction.from_json(start)))
    assert [(e.event, e.data) for e in events] == [
        ("logs", "  10%|#         | 1/10"),
        ("logs", "saved"),
        ("output", "u1"),
        ("done", "{}"),
    ]


def test_run_uses_stream_then_returns_final_output():
    client, rec = make(
        {
            "POST /models/meta/meta-llama-3-8b-instruct/predictions": [
                (201, processing())
            ],
            f"GET {STREAM}": [sse_response(full_stream())],
            f"GET /predictions/{PID}": [
                (200, processing(status="succeeded", output=CHUNKS))
            ],
        }
    )
    out = client.run("meta/meta-llama-3-8b-instruct", {"prompt": "haiku"})
    assert "".join(out) == "".join(CHUNKS)
    assert any(str(r.url) == STREAM for r in rec.requests)


def test_stream_creates_prediction_then_follows_it():
    client, rec = make(
        {
            "POST /models/meta/meta-llama-3-8b-instruct/predictions": [
                (201, processing())
            ],
            f"GET {STREAM}": [sse_response(full_stream())],
        }
    )
    events = list(client.stream("meta/meta-llama-3-8b-instruct", {"prompt": "haiku"}))
    assert outputs(events) == "".join(CHUNKS)
    assert "prefer" not in rec.requests[0].headers


# -- the async client ------------------------------------------------------------------


def amake(routes):
    rec = Recorder(routes)
    client = AsyncClient(
        api_token=TOKEN,
        transport=httpx.MockTransport(rec),
        retry=FAST,
        poll_interval=0.001,
    )
    return client, rec


def test_async_dropped_stream_reconnects_without_duplicates():
    frames = full_stream()

    async def main() -> list[StreamEvent]:
        client, rec = amake(
            {
                f"GET {STREAM}": [
                    async_sse_response(frames, drop_after=6),
                    async_sse_response(frames),
                ]
            }
        )
        async with client:
            events = [
                e
                async for e in client.stream_prediction(
                    Prediction.from_json(processing())
                )
            ]
        assert rec.requests[1].headers["last-event-id"] == "1690212292:3"
        return events

    events = asyncio.run(main())
    assert outputs(events) == "".join(CHUNKS)
    assert sum(e.event == "done" for e in events) == 1


def test_async_falls_back_to_polling():
    frames = full_stream()

    async def main() -> list[StreamEvent]:
        client, _ = amake(
            {
                f"GET {STREAM}": [
                    async_sse_response(frames, drop_after=2),
                    httpx.Response(404, json={"detail": "gone"}),
                ],
                f"GET /predictions/{PID}": [
                    (200, processing(status="succeeded", output=CHUNKS)),
                ],
            }
        )
        async with client:
            return [
                e
                async for e in client.stream_prediction(
                    Prediction.from_json(processing())
                )
            ]

    events = asyncio.run(main())
    assert outputs(events) == "".join(CHUNKS)
    assert events[-1] == StreamEvent("done", "{}")


def test_async_run_with_stream():
    async def main() -> object:
        client, _ = amake(
            {
                "POST /models/meta/meta-llama-3-8b-instruct/predictions": [
                    (201, processing())
                ],
                f"GET {STREAM}": [async_sse_response(full_stream())],
                f"GET /predictions/{PID}": [
                    (200, processing(status="succeeded", output=CHUNKS))
                ],
            }
        )
        async with client:
            return await client.run(
                "meta/meta-llama-3-8b-instruct", {"prompt": "haiku"}
            )

    assert "".join(asyncio.run(main())) == "".join(CHUNKS)  # type: ignore[arg-type]


def test_finished_prediction_is_not_streamed_again():
    done = processing(status="succeeded", output=CHUNKS, logs="ok\n")
    client, rec = make({f"GET /predictions/{PID}": [(200, done)]})
    events = list(client.stream_prediction(Prediction.from_json(done)))
    assert outputs(events) == "".join(CHUNKS)
    assert [str(r.url) for r in rec.requests] == [done["urls"]["get"]]


def test_stream_read_timeout_reconnects():
    frames = full_stream()

    def stalls() -> Iterator[bytes]:
        yield frames[1].encode()
        raise httpx.ReadTimeout("no data for 90 s")

    stalled = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=stalls()
    )
    client, rec = make({f"GET {STREAM}": [stalled, sse_response(frames)]})
    events = list(client.stream_prediction(Prediction.from_json(processing())))
    assert outputs(events) == "".join(CHUNKS)
    assert rec.last.headers["last-event-id"] == "1690212292:0"
