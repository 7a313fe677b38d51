"""Sweep wall time against the same predictions run one by one, on the local backend.

Starts the local backend on 127.0.0.1 with a small async model that can run several
predictions at once (as Replicate's cloud does) and a creation rate limit (429 with
Retry-After beyond it). Then, in the same run:

- the peer: each prediction created and awaited in turn (``client.run``), and
- ``Sweep(...).run()`` over the same grid, with ``max_concurrency`` in flight.

Prints both wall times and their ratio, and checks that every prediction of the
sweep succeeded and none was lost or created twice.

    .venv/bin/python bench/sweep.py [--cells 20] [--delay 0.5] [--concurrency 8]
                                    [--rate-limit 5]
"""

from __future__ import annotations

import argparse
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

from replicate_widgets._client.client import Client
from replicate_widgets._widgets.compare.compare import Sweep
from replicate_widgets.server import serve

PREDICTOR = """\
import asyncio

import cog
from cog import BaseRunner, Input


class Predictor(BaseRunner):
    @cog.concurrent(max={slots})
    async def run(
        self,
        seed: int = Input(description="Which cell", default=0),
        delay: float = Input(description="Seconds of work", default=0.5, ge=0),
    ) -> str:
        await asyncio.sleep(delay)  # stands in for a remote GPU's time
        return f"done {{seed}}"
"""


class CountingTransport(httpx.HTTPTransport):
    """The real transport, counting the 429s the server answers."""

    throttled = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.throttled += response.status_code == 429
        return response


def make_model(root: Path, slots: int) -> Path:
    folder = root / "sleepy"
    folder.mkdir()
    (folder / "predict.py").write_text(PREDICTOR.format(slots=slots))
    (folder / "model.json").write_text('{"owner": "bench", "name": "sleepy"}')
    (folder / "cog.yaml").write_text(
        textwrap.dedent(
            f"""\
            predict: "predict.py:Predictor"
            concurrency:
              max: {slots}
            """
        )
    )
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--rate-limit", type=float, default=5.0, help="creations/s; 0 for no limit"
    )
    args = parser.parse_args()

    transport = CountingTransport()
    with tempfile.TemporaryDirectory() as tmp:
        model = make_model(Path(tmp), args.concurrency)
        data = Path(tmp) / "data"
        with (
            serve(
                port=0,
                models=[model],
                bundled=False,
                data_dir=data,
                rate_limit=args.rate_limit or None,
            ) as server,
            Client(base_url=server.url, transport=transport) as client,
        ):
            base = {"delay": args.delay}
            seeds = list(range(args.cells))
            client.run("bench/sleepy", {"delay": 0})  # model started before timing

            t0 = time.perf_counter()
            for seed in seeds:
                client.run("bench/sleepy", {**base, "seed": seed})
            one_by_one = time.perf_counter() - t0

            sweep = Sweep(
                "bench/sleepy",
                base=base,
                grid={"seed": seeds},
                client=client,
                max_concurrency=args.concurrency,
            )
            before = {p.id for p in client.predictions.list()}
            transport.throttled = 0
            t0 = time.perf_counter()
            results = sweep.run()
            swept = time.perf_counter() - t0
            after = {p.id for p in client.predictions.list()} - before

            statuses = [p.status if p else None for p in results]
            ok = statuses.count("succeeded")
            assert ok == args.cells, statuses
            assert after == {p.id for p in results if p}, "lost or duplicated"
            assert [p.output for p in results if p] == [f"done {s}" for s in seeds]
            sweep.close()

    limit = f"{args.rate_limit:g}/s" if args.rate_limit else "off"
    print(
        f"{args.cells} predictions of {args.delay:.2f} s each, rate limit "
        f"{limit}, max_concurrency {args.concurrency}"
    )
    print(f"one by one (client.run in a loop): {one_by_one:7.2f} s")
    print(f"Sweep.run():                       {swept:7.2f} s  ({ok} succeeded)")
    print(f"ratio one-by-one / sweep:          {one_by_one / swept:7.2f}x")
    if args.rate_limit:
        floor = max(0.0, (args.cells - args.rate_limit) / args.rate_limit) + args.delay
        print(
            f"(the rate limit alone allows no less than ~{floor:.1f} s; "
            f"{transport.throttled} creations were throttled and retried)"
        )


if __name__ == "__main__":
    main()
