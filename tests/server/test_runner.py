"""ModelRunner against real coglet processes on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import os
import signal
import textwrap
import uuid
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("coglet")

from PIL import Image

from replicate_widgets._model_names import BUNDLED_DIR
from replicate_widgets.server._cog.coglet_process import RunnerError
from replicate_widgets.server._cog.models import LocalModel, load_model
from replicate_widgets.server._engine.instances import RunnerPool
from replicate_widgets.server._engine.runner import (
    COGLET_PREDICTIONS,
    ModelRunner,
    _remove_trees,
)
from replicate_widgets.server._engine.runner_events import RunnerEvent

pytestmark = pytest.mark.integration

_loaded: dict[str, LocalModel] = {}


def bundled(folder: str) -> LocalModel:
    if folder not in _loaded:
        sidecar = json.loads((BUNDLED_DIR / folder / "model.json").read_text())
        _loaded[folder] = load_model(
            BUNDLED_DIR / folder, owner=sidecar["owner"], name=sidecar["name"]
        )
    return _loaded[folder]


def new_id() -> str:
    return f"test-{uuid.uuid4().hex}"


async def collect(
    runner: ModelRunner, payload: dict[str, Any], pid: str | None = None
) -> list[RunnerEvent]:
    return [event async for event in runner.run(pid or new_id(), payload)]


def completed(events: list[RunnerEvent]) -> dict[str, Any]:
    assert [e.kind for e in events].count("completed") == 1
    assert events[-1].kind == "completed"
    return events[-1].data


def run_async(fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(fn())


def decode_data_url(url: str) -> tuple[str, bytes]:
    header, _, payload = url.partition(",")
    return header[5:].split(";")[0], base64.b64decode(payload)


def png(color: tuple[int, int, int], size: tuple[int, int] = (24, 16)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); it has exited if /proc says so.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


# ---------------------------------------------------------------- bundled models
def test_hello_world_runs() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("hello-world"))
        try:
            events = await collect(runner, {"text": "world"})
        finally:
            await runner.close()
        kinds = [e.kind for e in events]
        assert kinds[0] == "start"
        result = completed(events)
        assert result["status"] == "succeeded"
        assert result["output"] == "hello world"
        assert result["error"] is None
        assert "predict_time" in result["metrics"]

    run_async(main)


def test_text_stream_is_seeded_and_streams_tokens() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("text-stream"))
        payload = {"prompt": "Alice was", "max_tokens": 8, "seed": 7, "delay": 0}
        try:
            first = await collect(runner, payload)
            second = await collect(runner, {**payload, "temperature": None})
        finally:
            await runner.close()
        outputs = [e.data for e in first if e.kind == "output"]
        assert [o["index"] for o in outputs] == list(range(8))
        result = completed(first)
        assert result["output"] == [o["chunk"] for o in outputs]
        assert all(isinstance(t, str) and t.strip() for t in result["output"])
        assert "seed 7" in result["logs"]
        # Same seed, same text; an explicit null was omitted, not sent.
        assert completed(second)["output"] == result["output"]

    run_async(main)


def test_fractal_yields_progress_and_images() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("fractal"))
        try:
            events = await collect(
                runner,
                {
                    "width": 256,
                    "height": 384,
                    "steps": 4,
                    "seed": 2,
                    "colormap": "fire",
                },
            )
        finally:
            await runner.close()
        result = completed(events)
        assert result["status"] == "succeeded", result["error"]
        assert len(result["output"]) == 4
        for url in result["output"]:
            mime, data = decode_data_url(url)
            assert mime == "image/png"
            assert Image.open(io.BytesIO(data)).size == (256, 384)
        logs = [e.data for e in events if e.kind == "log"]
        assert any("100%|██████████| 4/4" in log["data"] for log in logs)
        assert {log["source"] for log in logs} >= {"stderr"}
        # Images arrive as separate output events, interleaved with progress.
        kinds = [e.kind for e in events]
        assert kinds.index("output") < len(kinds) - 2

    run_async(main)


def test_image_filter_transforms_an_image_input() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("image-filter"))
        try:
            events = await collect(
                runner,
                {"image": png((200, 30, 30)), "filter": "invert", "strength": 1.0},
            )
        finally:
            await runner.close()
        result = completed(events)
        assert result["status"] == "succeeded", result["error"]
        mime, data = decode_data_url(result["output"])
        image = Image.open(io.BytesIO(data)).convert("RGB")
        assert mime == "image/png"
        assert image.size == (24, 16)
        assert image.getpixel((5, 5)) == (55, 225, 225)

    run_async(main)


def test_chiptune_synthesises_a_wav_from_a_list() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("chiptune"))
        try:
            ok = await collect(runner, {"notes": ["C4", "E4", "R", "G4"], "tempo": 240})
            bad = await collect(runner, {"notes": ["H9"]})
        finally:
            await runner.close()
        result = completed(ok)
        mime, data = decode_data_url(result["output"])
        assert mime in ("audio/wav", "audio/x-wav")
        with wave.open(io.BytesIO(data)) as wav:
            assert wav.getframerate() == 22050
            assert wav.getnframes() == 4 * int(0.25 * 22050)
        failure = completed(bad)
        assert failure["status"] == "failed"
        assert "is not a note" in failure["error"]
        assert not failure["error"].startswith("Prediction failed")

    run_async(main)


def test_text_stats_object_output_and_secret() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("text-stats"))
        text = "The owl hoots. The owl flies! Owls hunt at night?"
        try:
            signed = await collect(
                runner, {"text": text, "top": 2, "signing_key": "s3cret"}
            )
            unsigned = await collect(runner, {"text": text, "signing_key": None})
        finally:
            await runner.close()
        out = completed(signed)["output"]
        assert out["words"] == 10
        assert out["sentences"] == 3
        assert out["top_words"][0] == "owl"
        body = json.dumps([out["characters"], out["words"], out["top_words"]]).encode()
        assert out["signature"] == hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
        assert completed(unsigned)["output"]["signature"] is None

    run_async(main)


def test_echo_failure_is_a_clean_error() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("echo"))
        try:
            events = await collect(runner, {"text": "x", "fail": True})
        finally:
            await runner.close()
        result = completed(events)
        assert result["status"] == "failed"
        assert "failed on purpose" in result["error"]
        assert not result["error"].startswith("Prediction failed")
        assert any(
            "failing on purpose" in e.data["data"] for e in events if e.kind == "log"
        )

    run_async(main)


def test_invalid_input_fails_with_a_readable_message() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("hello-world"))
        try:
            events = await collect(runner, {"txt": "typo"})
        finally:
            await runner.close()
        result = completed(events)
        assert result["status"] == "failed"
        assert result["error"] == "Invalid input: text: Field required"

    run_async(main)


# ----------------------------------------------------------- lifecycle and faults
def test_cancel_stops_a_running_stream() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("text-stream"))
        pid = new_id()
        events: list[RunnerEvent] = []
        try:
            async for event in runner.run(
                pid, {"max_tokens": 500, "delay": 0.05, "seed": 1}
            ):
                events.append(event)
                if event.kind == "output" and event.data["index"] == 2:
                    assert await runner.cancel(pid)
            after = await collect(runner, {"max_tokens": 2, "delay": 0})
        finally:
            await runner.close()
        result = completed(events)
        assert result["status"] == "canceled"
        assert 3 <= len([e for e in events if e.kind == "output"]) < 500
        assert completed(after)["status"] == "succeeded"
        assert not await runner.cancel(pid)  # no longer known

    run_async(main)


def test_cancel_stops_code_stuck_in_one_blocking_call(tmp_path: Path) -> None:
    # coglet cancels by raising inside Python code, which cannot happen during one
    # long C call; the runner then kills the process so the cancel really stops it.
    folder = tmp_path / "sleeper"
    folder.mkdir()
    (folder / "predict.py").write_text(
        textwrap.dedent(
            """
            import time
            from cog import BasePredictor, Input

            class Predictor(BasePredictor):
                def predict(self, seconds: float = Input(default=60.0)) -> str:
                    print("sleeping", flush=True)
                    time.sleep(seconds)
                    return "woke"
            """
        )
    )

    async def main() -> None:
        runner = ModelRunner(load_model(folder))
        runner.cancel_grace = 0.5
        pid = new_id()
        events: list[RunnerEvent] = []
        try:
            async for event in runner.run(pid, {"seconds": 600}):
                events.append(event)
                if event.kind == "log":
                    first_pid = runner.pid
                    assert await runner.cancel(pid)
            after = await collect(runner, {"seconds": 0})
            second_pid = runner.pid
        finally:
            await runner.close()
        result = completed(events)
        assert result["status"] == "canceled"
        assert result["error"] is None
        assert "sleeping" in result["logs"]
        assert first_pid is not None
        assert process_gone(first_pid)
        assert completed(after)["status"] == "succeeded"
        assert second_pid != first_pid

    run_async(main)


def test_cancel_while_queued_never_runs() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("echo"))
        first_id, queued_id = new_id(), new_id()
        try:
            first = asyncio.ensure_future(
                collect(runner, {"text": "a", "delay": 1.0}, first_id)
            )
            queued = asyncio.ensure_future(collect(runner, {"text": "b"}, queued_id))
            while runner.state != "busy":
                await asyncio.sleep(0.02)
            assert await runner.cancel(queued_id)
            queued_events = await queued
            first_events = await first
        finally:
            await runner.close()
        assert [e.kind for e in queued_events] == ["completed"]
        assert completed(queued_events)["status"] == "canceled"
        assert completed(first_events)["output"] == "a"

    run_async(main)


def test_concurrent_runs_on_one_slot_all_succeed() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("echo"))
        try:
            results = await asyncio.gather(
                *(collect(runner, {"text": f"n{i}", "delay": 0.1}) for i in range(5))
            )
        finally:
            await runner.close()
        assert [completed(r)["output"] for r in results] == [f"n{i}" for i in range(5)]
        assert all(completed(r)["status"] == "succeeded" for r in results)

    run_async(main)


def test_killing_coglet_mid_prediction_fails_it_and_recovers() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("echo"))
        events: list[RunnerEvent] = []
        try:
            async for event in runner.run(new_id(), {"text": "x", "delay": 30}):
                events.append(event)
                if event.kind == "log":
                    killed = runner.pid
                    assert killed is not None
                    os.killpg(killed, signal.SIGKILL)
            result = completed(events)
            assert result["status"] == "failed"
            assert result["error"].startswith("The model's process crashed")
            assert "restarted" in result["error"]
            assert process_gone(killed)
            after = await collect(runner, {"text": "again"})
            assert completed(after)["output"] == "again"
            assert runner.pid not in (None, killed)
        finally:
            await runner.close()

    run_async(main)


def test_worker_crash_inside_the_model_recovers() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("echo"))
        try:
            crashed = await collect(runner, {"crash": True})
            first_pid = runner.pid
            after = await collect(runner, {"text": "alive"})
        finally:
            await runner.close()
        result = completed(crashed)
        assert result["status"] == "failed"
        assert result["error"].startswith("The model's process crashed")
        assert first_pid is None  # stopped, to be restarted on demand
        assert completed(after)["output"] == "alive"

    run_async(main)


def test_idle_runner_stops_its_process() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("hello-world"), idle_timeout=0.2)
        try:
            await collect(runner, {"text": "a"})
            pid = runner.pid
            assert pid is not None
            for _ in range(400):
                if runner.state == "stopped":
                    break
                await asyncio.sleep(0.05)
            assert runner.state == "stopped"
            assert process_gone(pid)
            assert (
                completed(await collect(runner, {"text": "b"}))["output"] == "hello b"
            )
        finally:
            await runner.close()
        assert runner.state == "closed"

    run_async(main)


def test_prediction_directories_are_pruned() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("image-filter"))
        pid = new_id()
        try:
            await collect(runner, {"image": png((1, 2, 3))}, pid)
        finally:
            await runner.close()
        assert not (COGLET_PREDICTIONS / pid).exists()

    run_async(main)


def test_folders_wait_for_a_pause_or_a_full_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Back-to-back runs leave their folders until runs pause, or 3 wait."""
    from replicate_widgets.server._engine import runner as runner_module

    monkeypatch.setattr(runner_module, "_PRUNE_DELAY", 0.5)
    monkeypatch.setattr(runner_module, "_PRUNE_MAX", 3)

    async def settle(runner: ModelRunner) -> None:
        await asyncio.gather(*runner._pruning)

    async def main() -> None:
        runner = ModelRunner(bundled("hello-world"))
        first, second, third = new_id(), new_id(), new_id()
        try:
            await collect(runner, {"text": "a"}, first)
            await asyncio.sleep(0.3)  # runs follow each other: nothing removed
            await collect(runner, {"text": "b"}, second)
            await settle(runner)
            assert (COGLET_PREDICTIONS / first).exists()
            await asyncio.sleep(0.3)  # 0.6 s after the first, 0.3 after the last
            await settle(runner)
            assert (COGLET_PREDICTIONS / first).exists()
            await asyncio.sleep(0.5)  # a pause: both go, the runner still open
            await settle(runner)
            assert not (COGLET_PREDICTIONS / first).exists()
            assert not (COGLET_PREDICTIONS / second).exists()
            batch = [new_id() for _ in range(3)]
            for pid in batch:
                await collect(runner, {"text": "c"}, pid)
            await settle(runner)  # the third filled the batch: removed at once
            assert not any((COGLET_PREDICTIONS / pid).exists() for pid in batch)
            await collect(runner, {"text": "d"}, third)
        finally:
            await runner.close()
        assert not (COGLET_PREDICTIONS / third).exists()

    run_async(main)


def test_training_produces_weights_that_a_new_version_uses() -> None:
    async def main() -> None:
        model = bundled("text-stream")
        pool = RunnerPool()
        text = "the red fox runs to the blue river and the red fox swims " * 4
        try:
            trainer = pool.get(model, "train")
            assert pool.get(model, "train") is trainer
            assert pool.get(model) is not trainer
            events = await collect(trainer, {"training_text": text, "order": 1})
            result = completed(events)
            assert result["status"] == "succeeded", result["error"]
            _, data = decode_data_url(result["output"])
            assert json.loads(data)["order"] == 1
            trained = model.with_weights(result["output"])
            generated = await collect(
                pool.get(trained),
                {"prompt": "the", "max_tokens": 20, "seed": 3, "delay": 0},
            )
            words = {w.strip().lower() for w in completed(generated)["output"]}
            assert words <= set(text.split())
        finally:
            await pool.close()

    run_async(main)


def test_training_a_model_without_train_is_refused() -> None:
    with pytest.raises(RunnerError, match="cannot be trained"):
        ModelRunner(bundled("hello-world"), "train")


def test_setup_failure_raises_with_the_reason(tmp_path: Path) -> None:
    folder = tmp_path / "broken-setup"
    folder.mkdir()
    (folder / "predict.py").write_text(
        textwrap.dedent(
            """
            from cog import BaseRunner

            class Predictor(BaseRunner):
                def setup(self) -> None:
                    raise RuntimeError("weights missing from the folder")

                def run(self, x: int) -> int:
                    return x
            """
        )
    )
    model = load_model(folder)

    async def main() -> None:
        runner = ModelRunner(model, setup_timeout=60)
        try:
            with pytest.raises(RunnerError, match="weights missing from the folder"):
                await collect(runner, {"x": 1})
            assert runner.state == "stopped"
        finally:
            await runner.close()

    run_async(main)


def test_pool_close_stops_every_process() -> None:
    async def main() -> None:
        pool = RunnerPool()
        runners = [pool.get(bundled("hello-world")), pool.get(bundled("echo"))]
        for runner in runners:
            await collect(runner, {"text": "x"})
        pids = [r.pid for r in runners]
        assert all(pids)
        await pool.close()
        assert all(process_gone(p) for p in pids if p)
        assert all(r.state == "closed" for r in runners)

    run_async(main)


def test_invalid_secret_is_not_echoed() -> None:
    async def main() -> None:
        runner = ModelRunner(bundled("text-stats"))
        try:
            events = await collect(runner, {"text": "hi", "signing_key": 987654321})
        finally:
            await runner.close()
        result = completed(events)
        assert result["status"] == "failed"
        assert result["error"].startswith("Invalid input: signing_key:")
        assert "987654321" not in result["error"]

    run_async(main)


def test_409_from_a_busy_coglet_is_retried() -> None:
    import httpx

    async def main() -> None:
        runner = ModelRunner(bundled("echo"))
        try:
            await collect(runner, {"text": "boot"})
            # Occupy coglet's only slot behind the runner's back, so the
            # runner's own request meets coglet's 409 and must retry.
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{runner.port}"
            ) as raw:
                blocker = asyncio.ensure_future(
                    raw.post(
                        "/predictions", json={"input": {"text": "raw", "delay": 1.0}}
                    )
                )
                while (await raw.get("/health-check")).json()["status"] != "BUSY":
                    await asyncio.sleep(0.02)
                events = await collect(runner, {"text": "after"})
                assert (await blocker).json()["output"] == "raw"
        finally:
            await runner.close()
        assert completed(events)["output"] == "after"

    run_async(main)


ASYNC_MODEL = """
import asyncio
from pathlib import Path as FsPath
from typing import AsyncIterator

import cog
from cog import BaseRunner


class Predictor(BaseRunner):
    @cog.concurrent(max=2)
    async def run(self, n: int, rendezvous: str = "") -> AsyncIterator[str]:
        if rendezvous:
            # Both predictions check in; each waits to see the other.
            with open(rendezvous, "a") as fh:
                fh.write("x\\n")
            for _ in range(200):
                if len(FsPath(rendezvous).read_text().split()) >= 2:
                    break
                await asyncio.sleep(0.025)
            yield f"met {len(FsPath(rendezvous).read_text().split())}"
            return
        for i in range(n):
            await asyncio.sleep(0.01)
            yield f"item{i}"
        print("end of run", flush=True)
"""


def test_async_model_slots_and_live_outputs(tmp_path: Path) -> None:
    folder = tmp_path / "async-model"
    folder.mkdir()
    (folder / "predict.py").write_text(ASYNC_MODEL)
    model = load_model(folder)
    assert model.concurrency == 2
    assert model.is_async
    rendezvous = str(tmp_path / "rendezvous.txt")

    async def main() -> None:
        runner = ModelRunner(model)
        try:
            streamed = await collect(runner, {"n": 3})
            both = await asyncio.gather(
                collect(runner, {"n": 0, "rendezvous": rendezvous}),
                collect(runner, {"n": 0, "rendezvous": rendezvous}),
            )
        finally:
            await runner.close()
        # coglet alone collects async generators and sends every output after
        # the run's last log line; the wrapper streams them while it runs,
        # with several slots too (see _async_stream).
        kinds = [(e.kind, e.data.get("data", "")) for e in streamed]
        end = kinds.index(("log", "end of run\n"))
        first_output = [k for k, _ in kinds].index("output")
        assert first_output < end
        assert completed(streamed)["output"] == ["item0", "item1", "item2"]
        # COG_MAX_CONCURRENCY follows @cog.concurrent: both ran at once.
        assert [completed(r)["output"] for r in both] == [["met 2"], ["met 2"]]

    run_async(main)


LIVE_ASYNC_MODEL = """
from __future__ import annotations

import asyncio

from cog import {base}, AsyncConcatenateIterator, Input


class Predictor({base}):
    async def setup(self) -> None:
        self.prefix = "tok"

    async def {method}(
        self,
        n: int = Input(default=3, ge=1, le=500),
        fail_at: int = -1,
        marker: str = "",
    ) -> AsyncConcatenateIterator[str]:
        try:
            for i in range(n):
                if i == fail_at:
                    raise ValueError(f"failed at {{i}}")
                print(f"step {{i}}", flush=True)
                await asyncio.sleep(0.05)
                yield f"{{self.prefix}}{{i}} "
        finally:
            if marker:
                with open(marker, "w") as fh:
                    fh.write("cleaned up")
"""


@pytest.mark.parametrize(
    ("base", "method"), [("BasePredictor", "predict"), ("BaseRunner", "run")]
)
def test_single_slot_async_generator_streams_live(
    tmp_path: Path, base: str, method: str
) -> None:
    # coglet alone would send every item at the end; a single-slot model is
    # run through a plain-generator wrapper instead (see _async_stream).
    folder = tmp_path / "live-async"
    folder.mkdir()
    (folder / "predict.py").write_text(
        LIVE_ASYNC_MODEL.format(base=base, method=method)
    )
    model = load_model(folder)
    assert model.async_generator
    assert model.concurrency == 1
    assert model.predict_method == method
    schema = model.openapi_schema["components"]["schemas"]
    assert schema["Output"]["x-cog-array-display"] == "concatenate"

    marker = tmp_path / "cleaned-up.txt"

    async def main() -> None:
        runner = ModelRunner(model)
        try:
            streamed = await collect(runner, {})  # the Input() default: n=3
            failed = await collect(runner, {"n": 5, "fail_at": 2})
            pid = new_id()
            cancelled: list[RunnerEvent] = []
            async for event in runner.run(pid, {"n": 500, "marker": str(marker)}):
                cancelled.append(event)
                if event.kind == "output" and event.data["index"] == 1:
                    assert await runner.cancel(pid)
        finally:
            await runner.close()
        kinds = [(e.kind, e.data.get("data") or e.data.get("chunk")) for e in streamed]
        # Each token arrives before the next step's log line: live, not at the end.
        assert kinds.index(("output", "tok0 ")) < kinds.index(("log", "step 1\n"))
        assert completed(streamed)["output"] == ["tok0 ", "tok1 ", "tok2 "]
        result = completed(failed)
        assert result["status"] == "failed"
        assert "failed at 2" in result["error"]
        assert [e.data["chunk"] for e in failed if e.kind == "output"] == [
            "tok0 ",
            "tok1 ",
        ]
        assert completed(cancelled)["status"] == "canceled"
        assert len([e for e in cancelled if e.kind == "output"]) < 500
        # The generator's own finally ran when it was stopped.
        assert marker.read_text() == "cleaned up"

    run_async(main)


def test_processes_do_not_outlive_an_owner_that_forgot_close(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = tmp_path / "forgetful.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio
            from pathlib import Path
            from replicate_widgets.server._cog.models import load_model
            from replicate_widgets.server._engine.runner import ModelRunner

            async def main():
                model = load_model(Path({str(BUNDLED_DIR / "hello-world")!r}))
                runner = ModelRunner(model)
                async for _ in runner.run("forgetful-1", {{"text": "x"}}):
                    pass
                print(runner.pid, flush=True)

            asyncio.run(main())
            """
        )
    )
    root = str(Path(__file__).resolve().parents[2])
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": root},
    )
    pid = int(done.stdout.split()[-1])
    assert process_gone(pid)


def test_train_function_named_in_cog_yaml_sees_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "yaml-trainer"
    folder.mkdir()
    (folder / "vocab.txt").write_text("alpha beta gamma\n")
    (folder / "code.py").write_text(
        textwrap.dedent(
            """
            import tempfile
            from cog import BaseRunner, Input, Path

            class Runner(BaseRunner):
                def setup(self, weights=None):
                    self.words = Path(weights).read_text().split() if weights else []

                def run(self, n: int = 1) -> str:
                    return " ".join(self.words[:n])

            def train(repeat: int = Input(default=2, ge=1)) -> Path:
                # A relative path: train() must see the model folder's files.
                words = open("vocab.txt").read().split()
                out = Path(tempfile.mkdtemp()) / "weights.txt"
                out.write_text(" ".join(words * repeat))
                return out
            """
        )
    )
    (folder / "cog.yaml").write_text(
        'predict: "code.py:Runner"\ntrain: "code.py:train"\n'
    )
    model = load_model(folder)

    async def main() -> None:
        pool = RunnerPool()
        try:
            trained = completed(await collect(pool.get(model, "train"), {"repeat": 2}))
            assert trained["status"] == "succeeded", trained["error"]
            version = model.with_weights(trained["output"])
            result = completed(await collect(pool.get(version), {"n": 4}))
            assert result["output"] == "alpha beta gamma alpha"
            bad = completed(await collect(pool.get(model, "train"), {"repeat": 0}))
            assert bad["status"] == "failed"
            assert bad["error"].startswith("Invalid input: repeat:")
        finally:
            await pool.close()

    run_async(main)


def test_without_coglet_the_message_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # coglet cannot be uninstalled for one test; pretend it is missing.
    import replicate_widgets.server._cog.coglet_process as process_module
    import replicate_widgets.server._cog.models as models_module

    model = bundled("hello-world")
    monkeypatch.setattr(process_module, "coglet_available", lambda: False)
    monkeypatch.setattr(models_module, "coglet_available", lambda: False)

    async def main() -> None:
        runner = ModelRunner(model)
        with pytest.raises(RunnerError, match="REPLICATE_API_TOKEN") as info:
            await collect(runner, {"text": "x"})
        assert "Linux x86_64/aarch64 and macOS arm64" in str(info.value)
        await runner.close()

    run_async(main)
    from replicate_widgets.server._storage.model_files import ModelLoadError

    with pytest.raises(ModelLoadError, match="REPLICATE_API_TOKEN"):
        load_model(BUNDLED_DIR / "echo")


def test_prediction_folders_go_whatever_is_in_them(tmp_path: Path) -> None:
    as_left = tmp_path / "as-coglet-leaves-it"
    with_file = tmp_path / "with-a-file"
    for folder in (as_left, with_file):
        (folder / "inputs").mkdir(parents=True)
        (folder / "outputs").mkdir()
    (with_file / "outputs" / "out.png").write_bytes(b"x")
    _remove_trees([as_left, with_file, tmp_path / "never-made"])
    assert list(tmp_path.iterdir()) == []
