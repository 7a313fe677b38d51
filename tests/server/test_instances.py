"""Instances: one model version on several coglet processes (no mocks).

Concurrency is proven without timings: the model is a rendezvous. Each run
drops its tag into a shared folder and waits (up to a minute) until as many
tags as expected are there, then reports whether they all met. Runs that wait
for each other can only meet if they run at the same time.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("coglet")

from _backend import wait_until

from replicate_widgets import Client
from replicate_widgets.server import serve
from replicate_widgets.server._cog.models import LocalModel, load_model
from replicate_widgets.server._engine.instances import (
    RunnerPool,
    detect_gpus,
    gpu_slots,
    parse_nvidia_smi,
)
from replicate_widgets.server._engine.runner_events import RunnerEvent

RENDEZVOUS = """
import os
import sys
import time

from cog import BaseRunner, Input, Path


class Predictor(BaseRunner):
    def run(
        self,
        tag: str = Input(default="a"),
        room: str = Input(default=""),
        expect: int = Input(default=2),
        hold: float = Input(default=0.0),
        crash: bool = Input(default=False),
    ) -> Path:
        gpu = os.environ.get("CUDA_VISIBLE_DEVICES", "-")
        print(f"tag={tag} pid={os.getpid()} gpu={gpu}", flush=True)
        if crash:
            os._exit(3)
        met = True
        if room:
            open(os.path.join(room, tag), "w").close()
            deadline = time.time() + 60
            while len(os.listdir(room)) < expect and time.time() < deadline:
                time.sleep(0.02)
            met = len(os.listdir(room)) >= expect
        end = time.time() + hold
        while time.time() < end:
            time.sleep(0.02)
        out = Path(f"/tmp/rendezvous-{tag}-{os.getpid()}.txt")
        out.write_text(f"{tag} met={met}")
        return out
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> LocalModel:
    folder = tmp_path_factory.mktemp("models") / "rendezvous"
    folder.mkdir()
    (folder / "predict.py").write_text(textwrap.dedent(RENDEZVOUS))
    return load_model(folder)


def room(tmp_path: Path) -> str:
    path = tmp_path / f"room-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    return str(path)


def fields(logs: str) -> dict[str, str]:
    """``tag=a pid=1 gpu=0`` -> ``{"tag": "a", "pid": "1", "gpu": "0"}``."""
    line = next(ln for ln in logs.splitlines() if ln.startswith("tag="))
    return dict(part.split("=", 1) for part in line.split())


async def collect(
    pool: RunnerPool,
    model: LocalModel,
    payload: dict[str, Any],
    *,
    pid: str = "",
    deployment: str = "",
) -> list[RunnerEvent]:
    instances = pool.get(model, deployment=deployment)
    pid = pid or f"test-{uuid.uuid4().hex}"
    return [e async for e in instances.run(pid, payload)]


def completion(events: list[RunnerEvent]) -> dict[str, Any]:
    assert [e.kind for e in events].count("completed") == 1
    return events[-1].data


def all_logs(events: list[RunnerEvent]) -> str:
    return "".join(str(e.data.get("data", "")) for e in events if e.kind == "log")


def output_text(data_url: str) -> str:
    import base64

    return base64.b64decode(data_url.partition(",")[2]).decode()


# ------------------------------------------------------------------ GPU slots
def test_gpu_slots_give_each_instance_its_own_gpu() -> None:
    assert gpu_slots(2, []) == [None, None]
    assert gpu_slots(4, ["0", "1", "2", "3"]) == ["0", "1", "2", "3"]
    assert gpu_slots(2, ["0", "1", "2", "3"]) == ["0", "1"]
    # More instances than GPUs: round again.
    assert gpu_slots(3, ["4", "7"]) == ["4", "7", "4"]


def test_detect_gpus_reads_cuda_visible_devices_then_nvidia_smi() -> None:
    listing = (
        "GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-1b2c)\n"
        "GPU 1: NVIDIA A100-SXM4-80GB (UUID: GPU-3d4e)\n"
    )
    assert parse_nvidia_smi(listing) == ["0", "1"]
    asked: list[list[str]] = []

    def run(cmd: list[str]) -> str:
        asked.append(cmd)
        return listing

    assert detect_gpus({}, run) == ["0", "1"]
    assert asked == [["nvidia-smi", "-L"]]
    # The user's choice wins, and nvidia-smi is not asked.
    assert detect_gpus({"CUDA_VISIBLE_DEVICES": "2,3"}, run) == ["2", "3"]
    assert detect_gpus({"CUDA_VISIBLE_DEVICES": ""}, run) == []
    assert detect_gpus({"CUDA_VISIBLE_DEVICES": "1,-1,2"}, run) == ["1"]
    assert len(asked) == 1

    def broken(cmd: list[str]) -> str:
        raise OSError("no driver")

    assert detect_gpus({}, broken) == []


# ----------------------------------------------------------- runner pool
def test_each_instance_has_its_own_process_and_gpu(
    model: LocalModel, tmp_path: Path
) -> None:
    async def main() -> None:
        pool = RunnerPool(instances=2, gpus=["0", "1"])
        shared = room(tmp_path)
        try:
            runs = await asyncio.gather(
                collect(pool, model, {"tag": "a", "room": shared}),
                collect(pool, model, {"tag": "b", "room": shared}),
            )
            seen = []
            for events, tag in zip(runs, "ab", strict=True):
                done = completion(events)
                assert done["status"] == "succeeded", done["error"]
                # Each met the other, and got its own logs and file.
                assert output_text(done["output"]) == f"{tag} met=True"
                info = fields(all_logs(events))
                assert info["tag"] == tag
                seen.append(info)
            assert {s["gpu"] for s in seen} == {"0", "1"}
            assert seen[0]["pid"] != seen[1]["pid"]
            assert len(pool.get(model).pids) == 2
        finally:
            await pool.close()

    asyncio.run(main())


def test_cancel_and_crash_touch_only_their_instance(
    model: LocalModel, tmp_path: Path
) -> None:
    async def main() -> None:
        pool = RunnerPool(instances=2, gpus=[])
        instances = pool.get(model)
        try:
            # Both hold an instance; one is canceled, the other finishes.
            shared = room(tmp_path)
            keep = asyncio.ensure_future(
                collect(pool, model, {"tag": "k", "room": shared, "hold": 2})
            )
            cut = asyncio.ensure_future(
                collect(
                    pool,
                    model,
                    {"tag": "c", "room": shared, "hold": 60},
                    pid="test-cut",
                )
            )
            await _until(lambda: len(list(Path(shared).iterdir())) == 2)
            assert await instances.cancel("test-cut")
            assert completion(await cut)["status"] == "canceled"
            kept = completion(await keep)
            assert kept["status"] == "succeeded", kept["error"]
            assert output_text(kept["output"]) == "k met=True"

            # A crash in one instance fails only its own run.
            shared = room(tmp_path)
            steady = asyncio.ensure_future(
                collect(
                    pool, model, {"tag": "s", "room": shared, "expect": 1, "hold": 5}
                )
            )
            await _until(lambda: bool(list(Path(shared).iterdir())))
            steady_pid = fields_of_pid(instances, "s")
            crashed = completion(
                await collect(pool, model, {"tag": "x", "crash": True})
            )
            assert crashed["status"] == "failed"
            assert "crashed" in crashed["error"]
            finished = completion(await steady)
            assert finished["status"] == "succeeded", finished["error"]
            assert steady_pid in instances.pids  # its process was not restarted
            again = completion(await collect(pool, model, {"tag": "y"}))
            assert again["status"] == "succeeded", again["error"]
        finally:
            await pool.close()

    asyncio.run(main())


def fields_of_pid(instances: Any, tag: str) -> int:
    """The process id of the instance that runs the prediction tagged ``tag``."""
    for runner in instances.runners:
        if runner.state == "busy":
            return int(runner.pid)
    raise AssertionError(f"no instance runs {tag}")


def test_idle_instances_stop_each_on_its_own_and_deployments_keep_min_warm(
    model: LocalModel, tmp_path: Path
) -> None:
    async def main() -> None:
        pool = RunnerPool(instances=1, idle_timeout=0.3, gpus=[])
        try:
            pool.configure_deployment("local/dep", model, 1, 2)
            deployed = pool.get(model, deployment="local/dep")
            # min_instances: a process starts with no prediction at all.
            await _until(lambda: len(deployed.pids) == 1)
            warm_pid = deployed.pids[0]
            # Queued work scales up to max_instances: two runs meet.
            shared = room(tmp_path)
            runs = await asyncio.gather(
                collect(
                    pool, model, {"tag": "a", "room": shared}, deployment="local/dep"
                ),
                collect(
                    pool, model, {"tag": "b", "room": shared}, deployment="local/dep"
                ),
            )
            for events in runs:
                assert output_text(completion(events)["output"]).endswith("met=True")
            # Idle: back down to min_instances, the warm process kept.
            await _until(lambda: deployed.pids == [warm_pid])
            # The version's own instances are not the deployment's.
            assert pool.get(model) is not deployed
            # min_instances 0: the last one stops when idle too.
            pool.configure_deployment("local/dep", model, 0, 2)
            await _until(lambda: deployed.pids == [])
            # A release with another version: the old instances close, the new
            # version's min_instances start.
            pool.configure_deployment("local/dep", model, 1, 1)
            await _until(lambda: len(deployed.pids) == 1)
            old_pid = deployed.pids[0]
            other = model.with_weights("data:text/plain,v2")
            pool.configure_deployment("local/dep", other, 1, 1)
            moved = pool.get(other, deployment="local/dep")
            await _until(lambda: deployed.state == "closed" and len(moved.pids) == 1)
            assert old_pid not in moved.pids
        finally:
            await pool.close()

    asyncio.run(main())


async def _until(check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


# ------------------------------------------------------------ the backend
def test_serve_instances_runs_predictions_at_once(
    model: LocalModel, tmp_path: Path
) -> None:
    shared = room(tmp_path)
    with (
        serve(
            port=0,
            models=[model],
            bundled=False,
            data_dir=tmp_path / "data",
            instances=2,
        ) as server,
        Client(base_url=server.url) as client,
        httpx.Client() as http,
    ):
        made = [
            client.predictions.create(
                "local/rendezvous", {"tag": tag, "room": shared}, wait=False
            )
            for tag in "ab"
        ]
        seen = []
        for prediction, tag in zip(made, "ab", strict=True):
            doc = wait_until(http, f"{server.url}/predictions/{prediction.id}")
            assert doc["status"] == "succeeded", doc["error"]
            # Nothing lost: each prediction has its own logs and file.
            assert client.read(doc["output"]).data == f"{tag} met=True".encode()
            info = fields(doc["logs"])
            assert info["tag"] == tag
            seen.append(info["pid"])
        assert seen[0] != seen[1]


def test_deployment_min_instances_start_a_process(
    model: LocalModel, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    with (
        serve(port=0, models=[model], bundled=False, data_dir=data) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        version = http.get("/models/local/rendezvous").json()["latest_version"]["id"]
        records = data / "processes"

        def groups() -> int:
            files = list(records.glob("*.json"))
            if not files:
                return 0
            return len(json.loads(files[0].read_text()).get("groups", {}))

        body = {
            "name": "warm",
            "model": "local/rendezvous",
            "version": version,
            "hardware": "cpu",
            "min_instances": 1,
            "max_instances": 2,
        }
        assert http.post("/deployments", json=body).status_code == 200
        asyncio.run(_until(lambda: groups() == 1))
        shared = room(tmp_path)
        made = [
            http.post(
                "/deployments/local/warm/predictions",
                json={"input": {"tag": tag, "room": shared}},
            ).json()
            for tag in "ab"
        ]
        for prediction, tag in zip(made, "ab", strict=True):
            doc = wait_until(http, f"/predictions/{prediction['id']}")
            assert doc["status"] == "succeeded", doc["error"]
            assert doc["deployment"] == "local/warm"
            assert http.get(doc["output"]).content == f"{tag} met=True".encode()
        assert http.delete("/deployments/local/warm").status_code == 204
        asyncio.run(_until(lambda: groups() == 0))
