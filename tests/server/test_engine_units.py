"""Pure pieces of the backend: SSE encoding, webhook signing, inputs, helpers."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from replicate_widgets._model_names import BUNDLED_DIR
from replicate_widgets.server._catalog.registry import Registry
from replicate_widgets.server._clock import iso, parse_iso
from replicate_widgets.server._cog.models import load_model
from replicate_widgets.server._engine.engine import clean_error, parse_cancel_after
from replicate_widgets.server._engine.inputs import InputSchema, output_is_iterator
from replicate_widgets.server._engine.sse import EventLog, parse_last_event_id, replay
from replicate_widgets.server._engine.webhooks import check_filter, sign, verify
from replicate_widgets.server._problem import Problem
from replicate_widgets.server._storage.files_store import (
    FileStore,
    absolutize,
    new_id,
    parse_data_url,
)
from replicate_widgets.server._storage.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


# ------------------------------------------------------------------ webhooks
def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    # The published Standard Webhooks / Svix example, which Replicate's scheme
    # follows: the same secret, id, timestamp and body give this signature.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    got = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert got == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": f"v1,bogus {got}",
    }
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body + b" ")


def test_events_filter_rejects_unknown_names() -> None:
    assert check_filter(["start", "completed"]) == ["start", "completed"]
    with pytest.raises(ValueError, match="unknown event 'begin'"):
        check_filter(["begin"])
    with pytest.raises(ValueError, match="list"):
        check_filter("start")


# ----------------------------------------------------------------------- sse
def _collect(log: EventLog, after: int = -1) -> list[bytes]:
    async def run() -> list[bytes]:
        return [chunk async for chunk in log.follow(after)]

    return asyncio.run(run())


def test_event_log_format_and_resume() -> None:
    async def build() -> EventLog:
        log = EventLog(1690212292)
        await log.publish("output", "two\nlines")
        await log.publish("logs", "a log line")
        await log.finish("failed", "boom")
        return log

    log = asyncio.run(build())
    chunks = _collect(log)
    assert chunks[0] == b": hi\n\n"
    assert chunks[1] == b"id: 1690212292:0\nevent: output\ndata: two\ndata: lines\n\n"
    assert chunks[3] == b'id: 1690212292:2\nevent: error\ndata: {"detail": "boom"}\n\n'
    assert chunks[4] == b'id: 1690212292:3\nevent: done\ndata: {"reason": "error"}\n\n'
    resumed = _collect(log, parse_last_event_id("1690212292:1"))
    assert [c.split(b"\n")[1] for c in resumed[1:]] == [b"event: error", b"event: done"]


def test_followers_see_events_published_later() -> None:
    async def run() -> list[bytes]:
        log = EventLog(1)
        reader = asyncio.create_task(_drain(log))
        await asyncio.sleep(0)
        await log.publish("output", "x")
        await log.finish("canceled", None)
        return await reader

    async def _drain(log: EventLog) -> list[bytes]:
        return [c async for c in log.follow()]

    chunks = asyncio.run(run())
    assert chunks[-1].endswith(b'data: {"reason": "canceled"}\n\n')


def test_replay_of_a_finished_prediction() -> None:
    doc = {
        "created_at": "2024-01-01T00:00:00.000000Z",
        "status": "succeeded",
        "output": ["a", "b"],
    }
    chunks = _collect(replay(doc, iterator=True))
    assert [c.split(b"\n")[2] for c in chunks[1:]] == [
        b"data: a",
        b"data: b",
        b"data: {}",
    ]
    assert parse_last_event_id("garbage") == -1


# -------------------------------------------------------------------- inputs
def _schema_with(props: dict, required: list | None = None) -> dict:
    return {
        "components": {
            "schemas": {
                "Input": {
                    "type": "object",
                    "properties": props,
                    "required": required or [],
                },
                "Color": {"enum": ["red", "blue"], "type": "string"},
            }
        }
    }


def test_nullable_uri_enum_and_secret() -> None:
    schema = InputSchema(
        _schema_with(
            {
                "image": {"type": "string", "format": "uri", "nullable": True},
                "color": {"allOf": [{"$ref": "#/components/schemas/Color"}]},
                "key": {
                    "type": "string",
                    "format": "password",
                    "writeOnly": True,
                    "x-cog-secret": True,
                },
                "n": {"type": "integer", "minimum": 1},
            },
            ["n"],
        )
    )
    ok = {"image": None, "color": "red", "key": "sk-1", "n": 2}
    assert schema.errors(ok) == []
    assert schema.errors({**ok, "image": "data:text/plain;base64,aGk="}) == []
    assert schema.for_model(ok) == {"color": "red", "key": "sk-1", "n": 2}
    assert schema.masked(ok)["key"] == "**********"
    bad = schema.errors({"color": "green", "image": "not a url", "n": 0})
    fields = {f["field"]: f["type"] for f in bad}
    assert fields == {
        "input.color": "enum",
        "input.image": "anyOf",
        "input.n": "minimum",
    }
    missing = schema.errors({})
    assert missing == [
        {"type": "required", "field": "input", "description": "n is required"}
    ]
    assert schema.errors([1])[0]["field"] == "input"


def test_real_sdxl_schema_validates() -> None:
    version = json.loads((FIXTURES / "responses" / "version.json").read_text())
    schema = InputSchema(version["openapi_schema"])
    assert schema.errors({"prompt": "a cat", "scheduler": "K_EULER"}) == []
    assert schema.errors({"scheduler": "nope"})[0]["field"] == "input.scheduler"
    assert output_is_iterator(version["openapi_schema"])


# ------------------------------------------------------------------- helpers
@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30", 30), ("30s", 30), ("5m", 300), ("1h30m45s", 5445), ("24h", 86400)],
)
def test_cancel_after_durations(value: str, seconds: float) -> None:
    assert parse_cancel_after(value) == seconds


@pytest.mark.parametrize("value", ["", "4", "25h", "5 minutes", "m"])
def test_cancel_after_rejects(value: str) -> None:
    with pytest.raises(Problem) as info:
        parse_cancel_after(value)
    assert info.value.status == 400


def test_clean_error_strips_repeated_prefix() -> None:
    doubled = "Prediction failed: Prediction failed: ValueError: boom"
    assert clean_error(doubled) == "ValueError: boom"
    assert clean_error(None) is None


def test_file_store_outputs_and_signatures(tmp_path: Path) -> None:
    files = FileStore(tmp_path, b"k" * 32)
    mime, data = parse_data_url("data:image/png;base64,iVBORw0KGgo=")
    assert mime == "image/png"
    url = files.save_output(data, mime, "out-0")
    assert url.startswith("rwlocal:/outputs/")
    assert url.endswith("/out-0.png")
    assert files.local_output(url).read_bytes() == data
    assert absolutize({"a": [url]}, "http://h:1")["a"][0].startswith(
        "http://h:1/outputs/"
    )
    assert parse_data_url("data:,a%20b") == ("text/plain", b"a b")
    with pytest.raises(ValueError, match="data URL"):
        parse_data_url("http://x")
    assert files.check_signature("f", "9999999999", files.sign("f", 9999999999))
    assert not files.check_signature("g", "9999999999", files.sign("f", 9999999999))
    assert not files.check_signature("f", "1", files.sign("f", 1))
    assert len(new_id()) == 26
    assert new_id().islower()
    assert re.fullmatch("[a-z2-7]{26}", new_id())
    assert len({new_id() for _ in range(1000)}) == 1000


def test_timestamps_have_one_width_so_text_order_is_time_order() -> None:
    moments = [
        "0005-01-02T03:04:05Z",
        "2024-04-22T11:15:15+02:00",
        "2024-04-22T11:15:15.5Z",
        "2024-04-22T09:15:15.000001Z",
    ]
    stamps = [iso(parse_iso(m)) for m in moments]
    assert stamps == [
        "0005-01-02T03:04:05.000000Z",
        "2024-04-22T09:15:15.000000Z",
        "2024-04-22T11:15:15.500000Z",
        "2024-04-22T09:15:15.000001Z",
    ]
    assert sorted(stamps) == sorted(stamps, key=parse_iso)


# ------------------------------------------------------------------ registry
def test_versions_resolve_by_id_and_by_model_until_deleted(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    registry = Registry(store)
    base = load_model(
        BUNDLED_DIR / "hello-world", owner="replicate", name="hello-world"
    )
    registry.register(base)
    assert registry.resolve(base.version_id) == (
        "replicate",
        "hello-world",
        base.version_id,
    )
    assert registry.latest_version_id("replicate", "hello-world") == base.version_id
    registry.create_model(
        {"owner": "alice", "name": "tuned", "visibility": "private", "hardware": "cpu"}
    )
    with pytest.raises(Problem, match="has no versions yet"):
        registry.latest_version_id("alice", "tuned")
    older = registry.add_trained(base, ("alice", "tuned"), "data:,one")
    newer = registry.add_trained(base, ("alice", "tuned"), "data:,two")
    assert registry.latest_version_id("alice", "tuned") == newer
    assert registry.resolve(older) == ("alice", "tuned", older)
    assert registry.resolve(f"alice/tuned:{older}") == ("alice", "tuned", older)

    registry.delete_version("alice", "tuned", newer)
    assert registry.latest_version_id("alice", "tuned") == older
    with pytest.raises(Problem, match="does not exist") as gone:
        registry.resolve(newer)
    assert gone.value.status == 404
    # Known to the store but not loaded in this run: found, and not runnable.
    restarted = Registry(store)
    assert restarted.resolve(older) == ("alice", "tuned", older)
    with pytest.raises(Problem, match="not loaded"):
        restarted.runnable(older)
    store.close()
