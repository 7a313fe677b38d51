"""Load benchmark: the local backend against a bare coglet, measured in one run.

Two workloads of replicate/hello-world, each against a bare coglet process
serving the model and against the backend (``python -m replicate_widgets.server``,
its own process, ``Prefer: wait``):

- **50 clients**: 200 predictions from 50 concurrent clients (4 each, back to
  back). coglet has one slot and answers 409 while busy, so its clients retry
  after 1 ms, as any proxy must; the backend queues instead.
- **one client**: 200 predictions one after another, which shows the fixed cost
  the backend adds to each prediction (its HTTP hop, bookkeeping and SQLite),
  the peers taking turns in blocks of 50.
  This client is its own ``httpx.AsyncClient`` with one connection: on every
  request httpx's pool checks each idle connection it holds, so a client left
  with the 50 connections of the first workload spent up to 4 ms more per
  request against the backend (which keeps idle connections for 75 s) than
  against coglet (which closes them sooner), and measured its own pool.

A third peer, for the one-client workload only, is the floor: ``bench/floor_proxy.py``,
a minimal Python proxy in front of its own coglet that sends each input on as the
backend does (kept connection, event stream, the backend's coglet client) and
does nothing else. backend/floor is what the backend's features and framework
cost; floor/coglet is what any extra Python process with an event stream costs.

All peers stay up for the whole run and take turns, round after round
(``--runs``), so a load that other work puts on the machine falls on both;
each round's ratio compares numbers taken moments apart. Prints each round,
then the median ratio and its range over the rounds, and the machine's load
average before and after (on two shared cores it moves the ratios more than
most changes to the backend do).

Checks: zero errors, every output right, and every prediction made through the
backend listed by it afterwards as succeeded (nothing lost). No assertions on
time.

Run: .venv/bin/python bench/load.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from replicate_widgets.server._cog.coglet_process import CogletProcess  # noqa: E402
from replicate_widgets.server._cog.models import load_model  # noqa: E402

HELLO = ROOT / "replicate_widgets" / "server" / "models" / "hello-world"
VERSION = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
CLIENTS = 50
PER_CLIENT = 4
SEQUENTIAL = 200
One = Callable[[str], Awaitable[None]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def drive(one: One, label: str, clients: int, per_client: int) -> list[float]:
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
    for line in errors[:5]:
        print(f"  {label}: error:", line)
    if errors:
        raise SystemExit(f"{label}: {len(errors)} of {total} failed")
    print(
        f"  {label:<17} {len(latencies)}/{total} ok, "
        f"p50 {percentile(latencies, 0.5) * 1000:7.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:7.1f} ms, "
        f"{total / wall:5.0f} predictions/s"
    )
    return latencies


async def in_turns(peers: dict[str, One], blocks: int = 4) -> dict[str, list[float]]:
    """Run ``SEQUENTIAL`` one-client predictions per peer, in turns, block by block.

    On two cores the latency of a chain of processes moves by a third from one
    second to the next (where the scheduler puts them), so the peers take
    turns in blocks of ``SEQUENTIAL / blocks``, the order rotating each time,
    rather than one after the other.
    """
    latencies: dict[str, list[float]] = {label: [] for label in peers}
    order = list(peers)
    for block in range(blocks):
        for label in order[block % len(order) :] + order[: block % len(order)]:
            one = peers[label]
            for i in range(SEQUENTIAL // blocks):
                text = f"{block}-{i}"
                start = time.perf_counter()
                await one(text)  # an error ends the run: no prediction may fail
                latencies[label].append(time.perf_counter() - start)
    for label, values in latencies.items():
        print(
            f"  {label:<17} {len(values)}/{len(values)} ok, "
            f"p50 {percentile(values, 0.5) * 1000:7.1f} ms, "
            f"p99 {percentile(values, 0.99) * 1000:7.1f} ms"
        )
    return latencies


@dataclass(frozen=True)
class Peer:
    """One prediction through a peer: from the 50 clients' pool, or the one client."""

    many: One
    single: One


def clients(base_url: str) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    """A pool for the 50 clients, and a one-connection client for the single one."""
    pooled = httpx.AsyncClient(
        base_url=base_url,
        limits=httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS),
        timeout=90,
        trust_env=False,
    )
    single = httpx.AsyncClient(
        base_url=base_url,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        timeout=90,
        trust_env=False,
    )
    return pooled, single


class Coglet:
    """A bare coglet serving hello-world, and a client that retries its 409s."""

    def __init__(self) -> None:
        self.process = CogletProcess(load_model(HELLO), "predict")
        self.retries = 0

    async def __aenter__(self) -> Peer:
        await self.process.start(60)
        base = f"http://127.0.0.1:{self.process.port}"
        self.many_http, self.one_http = clients(base)
        return Peer(partial(self.one, self.many_http), partial(self.one, self.one_http))

    async def one(self, http: httpx.AsyncClient, text: str) -> None:
        while True:
            r = await http.post("/predictions", json={"input": {"text": text}})
            if r.status_code != 409:  # at capacity: retry, as a proxy must
                break
            self.retries += 1
            await asyncio.sleep(0.001)
        body = r.json()
        if r.status_code != 200 or body.get("output") != f"hello {text}":
            raise RuntimeError(f"{r.status_code} {body}")

    async def __aexit__(self, *exc: object) -> None:
        await self.many_http.aclose()
        await self.one_http.aclose()
        await self.process.stop()


class Backend:
    """The backend in its own process, and a client that waits for each result."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self.created: list[str] = []

    async def __aenter__(self) -> Peer:
        path = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        self.proc = subprocess.Popen(
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
                self.data_dir,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if " at " not in line:
            self.proc.kill()
            raise SystemExit(f"the backend did not start: {line!r}")
        self.url = line.split(" at ")[1].split()[0]
        self.many_http, self.one_http = clients(self.url)
        return Peer(partial(self.one, self.many_http), partial(self.one, self.one_http))

    async def one(self, http: httpx.AsyncClient, text: str) -> None:
        r = await http.post(
            "/predictions",
            headers={"Prefer": "wait"},
            json={"version": VERSION, "input": {"text": text}},
        )
        body = r.json()
        if r.status_code != 201 or body.get("output") != f"hello {text}":
            raise RuntimeError(f"{r.status_code} {body}")
        self.created.append(body["id"])

    async def check_nothing_lost(self) -> None:
        listed: dict[str, str] = {}
        page: str | None = f"{self.url}/predictions"
        while page:
            data = (await self.one_http.get(page)).json()
            listed.update({p["id"]: p["status"] for p in data["results"]})
            page = data["next"]
        missing = [p for p in self.created if listed.get(p) != "succeeded"]
        print(
            f"listed: {len(listed)} predictions stored, {len(missing)} of "
            f"{len(self.created)} created missing or not succeeded"
        )
        if missing:
            raise SystemExit("predictions were lost")

    async def __aexit__(self, *exc: object) -> None:
        await self.many_http.aclose()
        await self.one_http.aclose()
        self.proc.terminate()
        self.proc.wait(30)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


class Floor:
    """``bench/floor_proxy.py`` in its own process, and a one-connection client."""

    async def __aenter__(self) -> One:
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "floor_proxy.py")],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("port "):
            self.proc.kill()
            raise SystemExit(f"the floor proxy did not start: {line!r}")
        self.http = clients(f"http://127.0.0.1:{line.split()[1]}")[1]
        return self.one

    async def one(self, text: str) -> None:
        r = await self.http.post("/predictions", json={"input": {"text": text}})
        if r.status_code != 201 or r.json().get("output") != f"hello {text}":
            raise RuntimeError(f"{r.status_code} {r.text}")

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.close()  # the proxy stops its coglet and exits
        self.proc.wait(30)
        self.proc.stdout.close()


Ratios = dict[str, list[float]]


async def one_round(coglet: Peer, backend: Peer, floor: One, ratios: Ratios) -> None:
    """Each peer under load, then each alone; record this round's ratios."""
    loaded = await drive(coglet.many, "coglet, 50", CLIENTS, PER_CLIENT)
    ours_loaded = await drive(backend.many, "backend, 50", CLIENTS, PER_CLIENT)
    singles = await in_turns(
        {"coglet, 1": coglet.single, "backend, 1": backend.single, "floor, 1": floor}
    )
    alone, ours_alone, floor_alone = singles.values()
    for name, upper, lower in (
        ("one client p50 backend/floor", ours_alone, floor_alone),
        ("one client p50 floor/coglet", floor_alone, alone),
    ):
        ratio = percentile(upper, 0.5) / percentile(lower, 0.5)
        ratios.setdefault(name, []).append(ratio)
        print(f"    {name}: {ratio:.2f}x")
    for workload, ours, theirs in (
        ("50 clients", ours_loaded, loaded),
        ("one client", ours_alone, alone),
    ):
        for q in (0.5, 0.99):
            a, b = percentile(ours, q), percentile(theirs, q)
            key = f"{workload} p{round(q * 100)}"
            ratios.setdefault(key, []).append(a / b)
            ratios.setdefault(f"{key} backend", []).append(a * 1000)
            ratios.setdefault(f"{key} coglet", []).append(b * 1000)
            print(f"    {key}: {a * 1000:.1f} / {b * 1000:.1f} ms = {a / b:.2f}x")


async def bench(runs: int, data_dir: str) -> tuple[Ratios, int]:
    ratios: Ratios = {}
    peer = Coglet()
    backend = Backend(data_dir)
    async with peer as coglet, backend as ours, Floor() as floor:
        print("warm-up:")
        for peer_of, label in ((coglet, "coglet"), (ours, "backend")):
            await drive(peer_of.many, f"{label}, 50", CLIENTS, PER_CLIENT)
            await drive(peer_of.single, f"{label}, 1", 1, 20)
        await drive(floor, "floor, 1", 1, 20)
        peer.retries = 0
        for run in range(runs):
            print(f"round {run + 1} of {runs}:")
            await one_round(coglet, ours, floor, ratios)
        await backend.check_nothing_lost()
    return ratios, peer.retries


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages: what else ran meanwhile."""
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except (AttributeError, OSError):  # not on Windows
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds (default 5)")
    args = parser.parse_args()
    print(
        f"replicate/hello-world: {CLIENTS * PER_CLIENT} predictions from {CLIENTS} "
        f"concurrent clients, and {SEQUENTIAL} from one client, per peer and round"
    )
    print(f"load average before: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="rw-bench-") as data_dir:
        ratios, retries = asyncio.run(bench(args.runs, data_dir))
    print(f"load average after: {load_average()}")
    print(f"(the bare coglet's clients retried {retries} 409 answers)")
    print(f"backend / coglet over {args.runs} rounds: median [range]")
    for key in ("50 clients p50", "50 clients p99", "one client p50", "one client p99"):
        values = ratios[key]
        print(
            f"  {key}: {statistics.median(values):.2f}x "
            f"[{min(values):.2f}-{max(values):.2f}] (backend "
            f"{statistics.median(ratios[key + ' backend']):.1f} ms, coglet "
            f"{statistics.median(ratios[key + ' coglet']):.1f} ms)"
        )
    for key in ("one client p50 backend/floor", "one client p50 floor/coglet"):
        values = ratios[key]
        print(
            f"  {key}: {statistics.median(values):.2f}x "
            f"[{min(values):.2f}-{max(values):.2f}]"
        )
    print("  targets: 50 clients p50 <= 1.25x; one client p50 < 1.5x")


if __name__ == "__main__":
    main()
