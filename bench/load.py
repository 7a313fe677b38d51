"""Load benchmark: the local backend against a bare coglet, measured in one run.

200 predictions of replicate/hello-world from 50 concurrent clients (4 each,
back to back), first against a bare coglet process serving the model, then
against the backend (``python -m replicate_widgets.server``, its own process)
with ``Prefer: wait``. coglet has one slot and answers 409 while busy, so its
clients retry at once, as any proxy must; the backend queues instead.

Checks: zero errors, every output right, and all 200 predictions listed by the
backend afterwards (nothing lost). Prints p50/p99 latency per prediction and the
backend's overhead at p50 as a ratio against coglet. No assertions on time.

Run: .venv/bin/python bench/load.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from replicate_widgets.server._coglet_process import CogletProcess  # noqa: E402
from replicate_widgets.server._models import load_model  # noqa: E402

HELLO = ROOT / "replicate_widgets" / "server" / "models" / "hello-world"
VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
CLIENTS = 50
PER_CLIENT = 4
TOTAL = CLIENTS * PER_CLIENT
SEQUENTIAL = 50


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def drive(
    one, label: str, clients: int = CLIENTS, per_client: int = PER_CLIENT
) -> list[float]:
    """Run ``clients`` workers, ``per_client`` predictions each; return latencies."""
    latencies: list[float] = []
    errors: list[str] = []

    async def worker(w: int) -> None:
        for i in range(per_client):
            text = f"{w}-{i}"
            start = time.perf_counter()
            try:
                await one(text)
            except Exception as exc:
                errors.append(f"{text}: {exc!r}")
                continue
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(clients)))
    wall = time.perf_counter() - began
    total = clients * per_client
    print(
        f"{label:>8}: {len(latencies)}/{total} ok, {len(errors)} errors, "
        f"p50 {percentile(latencies, 0.5) * 1000:7.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:7.1f} ms, "
        f"mean {statistics.fmean(latencies) * 1000:7.1f} ms, "
        f"{total / wall:6.0f} predictions/s"
    )
    for line in errors[:5]:
        print("   error:", line)
    if errors:
        raise SystemExit(f"{label}: {len(errors)} errors")
    return latencies


async def bare_coglet() -> tuple[list[float], list[float]]:
    process = CogletProcess(load_model(HELLO), "predict")
    await process.start(60)
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{process.port}",
            limits=limits,
            timeout=60,
            trust_env=False,
        ) as http:

            async def one(text: str) -> None:
                while True:
                    r = await http.post("/predictions", json={"input": {"text": text}})
                    if r.status_code != 409:  # at capacity: retry, as a proxy must
                        break
                    await asyncio.sleep(0.001)
                body = r.json()
                if r.status_code != 200 or body.get("output") != f"hello {text}":
                    raise RuntimeError(f"{r.status_code} {body}")

            await drive(one, "warm-up")
            loaded = await drive(one, "coglet")
            alone = await drive(one, "1 client", 1, SEQUENTIAL)
            return loaded, alone
    finally:
        await process.stop()


async def backend(data_dir: str) -> tuple[list[float], list[float]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "replicate_widgets.server",
            "--port",
            "0",
            "--no-bundled",
            "--model",
            str(HELLO),
            "--data-dir",
            data_dir,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if " at " not in line:
        proc.kill()
        raise SystemExit(f"the backend did not start: {line!r}")
    url = line.split(" at ")[1].split()[0]
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    created: list[str] = []
    try:
        async with httpx.AsyncClient(
            limits=limits, timeout=90, trust_env=False
        ) as http:

            async def one(text: str) -> None:
                r = await http.post(
                    f"{url}/predictions",
                    headers={"Prefer": "wait"},
                    json={"version": VERSION, "input": {"text": text}},
                )
                body = r.json()
                if r.status_code != 201 or body.get("output") != f"hello {text}":
                    raise RuntimeError(f"{r.status_code} {body}")
                created.append(body["id"])

            await drive(one, "warm-up")
            latencies = await drive(one, "backend")
            alone = await drive(one, "1 client", 1, SEQUENTIAL)
            listed: dict[str, str] = {}
            page: str | None = f"{url}/predictions"
            while page:
                data = (await http.get(page)).json()
                listed.update({p["id"]: p["status"] for p in data["results"]})
                page = data["next"]
            missing = [p for p in created if listed.get(p) != "succeeded"]
            print(
                f"{'listed':>8}: {len(listed)} predictions stored, "
                f"{len(missing)} of {len(created)} created missing or not succeeded"
            )
            if missing:
                raise SystemExit("predictions were lost")
            return latencies, alone
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stdout.close()


def main() -> None:
    print(
        f"{TOTAL} predictions of replicate/hello-world, {CLIENTS} concurrent "
        f"clients x {PER_CLIENT}"
    )
    coglet, coglet_alone = asyncio.run(bare_coglet())
    with tempfile.TemporaryDirectory(prefix="rw-bench-") as data_dir:
        ours, ours_alone = asyncio.run(backend(data_dir))
    print(f"under load ({CLIENTS} concurrent clients):")
    for q in (0.5, 0.99):
        a, b = percentile(ours, q), percentile(coglet, q)
        print(
            f"  p{round(q * 100)}: backend {a * 1000:.1f} ms / coglet "
            f"{b * 1000:.1f} ms = {a / b:.2f}x (overhead {100 * (a / b - 1):+.0f}%)"
        )
    print("  target: overhead at p50 <= +25%")
    a, b = percentile(ours_alone, 0.5), percentile(coglet_alone, 0.5)
    print(
        f"one client, sequential: p50 backend {a * 1000:.1f} ms / coglet "
        f"{b * 1000:.1f} ms = {a / b:.2f}x (the fixed cost per prediction of the "
        "extra HTTP hop, SSE parsing, bookkeeping and SQLite)"
    )


if __name__ == "__main__":
    main()
