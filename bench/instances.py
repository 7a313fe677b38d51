"""Instances benchmark: 8 CPU-bound predictions on 2 instances against 1, in one run.

Eight ``demo/fractal`` predictions (768x768, 12 zoom steps, a distinct seed
each) are created at once through the local backend's HTTP API, first on a
backend started with ``instances=1``, then on one with ``instances=2``. Both
instances are warmed up first (setup is not measured). The figure is the wall
time from the first create to the last completion; the ratio is 1 instance's
time over 2 instances' (2 cores: about 1.7x or better expected).

Checks, on both: all 8 succeeded; each prediction's logs name its own seed and
no other; each one's output files are its own (no URL shared between
predictions) and readable. It also prints the most predictions that ran at
once (from ``started_at``/``completed_at``). No assertions on time.

Run: .venv/bin/python bench/instances.py
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from replicate_widgets.server import serve  # noqa: E402

FRACTAL = ROOT / "replicate_widgets" / "server" / "models" / "fractal"
PREDICTIONS = 8
INPUT = {"width": 768, "height": 768, "steps": 12, "colormap": "fire"}
SEED = re.compile(r"^seed (\d+)$", re.MULTILINE)


def wait_all(http: httpx.Client, ids: list[str]) -> list[dict]:
    done: dict[str, dict] = {}
    while len(done) < len(ids):
        for pid in ids:
            if pid in done:
                continue
            doc = http.get(f"/predictions/{pid}").json()
            if doc["status"] in ("succeeded", "failed", "canceled"):
                done[pid] = doc
        time.sleep(0.05)
    return [done[pid] for pid in ids]


def batch(http: httpx.Client, seeds: list[int]) -> tuple[float, list[dict]]:
    began = time.perf_counter()
    ids = [
        http.post(
            "/models/demo/fractal/predictions", json={"input": {**INPUT, "seed": s}}
        ).json()["id"]
        for s in seeds
    ]
    docs = wait_all(http, ids)
    return time.perf_counter() - began, docs


def overlap(docs: list[dict]) -> int:
    """Return the most predictions that were running at the same moment."""
    edges = []
    for doc in docs:
        edges.append((datetime.fromisoformat(doc["started_at"]), 1))
        edges.append((datetime.fromisoformat(doc["completed_at"]), -1))
    running = most = 0
    for _, step in sorted(edges):
        running += step
        most = max(most, running)
    return most


def check(docs: list[dict], seeds: list[int], http: httpx.Client) -> None:
    """Check that nothing was lost or mixed up."""
    seen_urls: set[str] = set()
    for doc, seed in zip(docs, seeds, strict=True):
        if doc["status"] != "succeeded":
            raise SystemExit(f"{doc['id']} {doc['status']}: {doc['error']}")
        logged = [int(s) for s in SEED.findall(doc["logs"])]
        if logged != [seed]:
            raise SystemExit(f"{doc['id']} logs name seeds {logged}, not [{seed}]")
        urls = list(doc["output"])
        if seen_urls & set(urls):
            raise SystemExit(f"{doc['id']} shares output files with another")
        seen_urls.update(urls)
        for url in urls:
            body = http.get(url).content
            if not body.startswith(b"\x89PNG"):
                raise SystemExit(f"{url} is not a PNG")


def measure(instances: int) -> float:
    with (
        tempfile.TemporaryDirectory(prefix="rw-bench-") as data,
        serve(
            port=0,
            models=[FRACTAL],
            bundled=False,
            data_dir=data,
            instances=instances,
        ) as server,
        httpx.Client(base_url=server.url, timeout=120) as http,
    ):
        # Warm-up: as many at once as there are instances, so each has started.
        batch(http, list(range(900, 900 + instances)))
        seeds = [instances * 1000 + i for i in range(PREDICTIONS)]
        wall, docs = batch(http, seeds)
        check(docs, seeds, http)
        per = [d["metrics"]["predict_time"] for d in docs]
        print(
            f"{instances} instance(s): {PREDICTIONS} predictions in {wall:6.2f} s "
            f"({PREDICTIONS / wall:.2f}/s), predict_time mean "
            f"{sum(per) / len(per):.2f} s, at most {overlap(docs)} running at "
            "once; all succeeded, logs and files their own"
        )
        return wall


def main() -> None:
    print(f"{PREDICTIONS} demo/fractal predictions {INPUT}, created at once")
    one = measure(1)
    two = measure(2)
    print(
        f"2 instances vs 1: {one / two:.2f}x faster (wall {two:.2f} s vs {one:.2f} s)"
    )
    print("  expected on 2 cores: about 1.7x or better")


if __name__ == "__main__":
    main()
