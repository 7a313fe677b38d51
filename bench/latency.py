"""Output latency: from the model emitting a token to the client holding it.

A tiny Cog model (written to a temp folder) yields its own ``time.time()`` as each
token, every 100 ms; every receiver subtracts that from its clock when the token
reaches it. Same machine, same clock, same local backend, same run:

- ours: a ``PredictionPanel`` following the prediction (SSE on the background
  loop); the time is taken when the panel's ``text`` trait holds the token, i.e.
  when it would be sent to the browser;
- the official ``replicate`` client's ``stream()`` (SSE);
- the official client's ``run()``, which polls: a token is "held" when run returns.

    .venv/bin/python bench/latency.py [--tokens 30] [--runs 3]

Target: our median under 25 ms, and at least 10x faster than polling.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import replicate

from replicate_widgets import Client
from replicate_widgets._widgets.panel.panel import PredictionPanel
from replicate_widgets.server import serve

# The local backend needs no token; the official client insists on one.
NO_TOKEN = "unused"  # noqa: S105

MODEL = """
import time
from cog import BasePredictor, ConcatenateIterator, Input


class Predictor(BasePredictor):
    def predict(
        self,
        tokens: int = Input(default=30, ge=1, le=1000),
        every: float = Input(default=0.1, ge=0.0, le=5.0),
    ) -> ConcatenateIterator[str]:
        for _ in range(tokens):
            time.sleep(every)
            yield f"{time.time():.6f} "
"""


def ms(values):
    return statistics.median(values) * 1000


def ours(url, n):
    lags = []
    seen = 0
    lock = threading.Lock()
    panel = PredictionPanel(client=Client(base_url=url), output="text-stream")

    def on_text(change):
        nonlocal seen
        now = time.time()
        stamps = change["new"].split()
        with lock:
            for stamp in stamps[seen:]:
                lags.append(now - float(stamp))
            seen = len(stamps)

    panel.observe(on_text, names="text")
    with Client(base_url=url) as client:
        prediction = client.predictions.create(
            "local/clock", {"tokens": n, "every": 0.1}
        )
        panel.follow(prediction).result(120)
    return lags


def official_stream(url, n):
    client = replicate.Client(api_token=NO_TOKEN, base_url=url.removesuffix("/v1"))
    lags = []
    for event in client.stream("local/clock", input={"tokens": n, "every": 0.1}):
        now = time.time()
        lags.extend(now - float(s) for s in str(event).split())
    return lags


def official_run(url, n):
    client = replicate.Client(api_token=NO_TOKEN, base_url=url.removesuffix("/v1"))
    output = client.run("local/clock", input={"tokens": n, "every": 0.1}, wait=False)
    now = time.time()
    return [now - float(s) for s in "".join(output).split()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "clock"
        model.mkdir()
        (model / "predict.py").write_text(MODEL)
        with serve(port=0, models=[model], bundled=False, data_dir=tmp) as server:
            ours(server.url, 2)  # warm the model's process and the connections
            results = {"ours (panel, SSE)": [], "replicate stream()": []}
            results["replicate run() (polling)"] = []
            for _ in range(args.runs):
                results["ours (panel, SSE)"] += ours(server.url, args.tokens)
                results["replicate stream()"] += official_stream(
                    server.url, args.tokens
                )
                results["replicate run() (polling)"] += official_run(
                    server.url, args.tokens
                )
    expected = args.tokens * args.runs
    base = ms(results["ours (panel, SSE)"])
    print(f"{args.runs} runs x {args.tokens} tokens, one every 100 ms")
    print(
        f"{'receiver':30} {'tokens':>7} {'median ms':>10} {'p90 ms':>8} {'x ours':>8}"
    )
    for name, lags in results.items():
        p90 = statistics.quantiles(lags, n=10)[-1] * 1000 if len(lags) > 1 else 0
        print(
            f"{name:30} {len(lags):>7} {ms(lags):>10.1f} {p90:>8.1f}"
            f" {ms(lags) / base:>8.1f}"
        )
        if len(lags) != expected:
            print(f"  !! {name} received {len(lags)} of {expected} tokens")
    print(
        f"target: ours < 25 ms (got {base:.1f}); polling >= 10x ours "
        f"(got {ms(results['replicate run() (polling)']) / base:.1f}x)"
    )


if __name__ == "__main__":
    main()
