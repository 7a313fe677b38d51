"""Cold-start benchmark: a Playground's form in a new process vs a plain ipywidgets one.

Each sample is a new Python process (no kernel: what it measures is the cell's own
work) that runs, timed from the cell's first line::

    import replicate_widgets as rw
    p = rw.Playground("replicate/hello-world")

until the Playground object exists with its form built from the model's schema
(checked: the form has the model's ``text`` input), with the embedded local
backend (no token, no ``REPLICATE_BASE_URL``). The peer, in the same kind of
process and in turns with ours::

    import ipywidgets
    ipywidgets.VBox([ipywidgets.Text(), ipywidgets.Button()])

All samples share one data folder, as a person's kernels share theirs; the
first start with that new folder is run once before the rounds and printed
apart (the bundled models' schema cache lives in their own folders, so only
the first start after installing or changing them fills it). Each of our
samples then waits 2 s, as a person reading the form would, runs the model
once through the form's client and reports how long that first prediction
took (the model's process starts in the background once the form has read
the model). Prints medians, their ratio and the range over samples. No
assertions on time.

Run: .venv/bin/python bench/coldstart.py [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

OURS = """
import time
began = time.perf_counter()
import replicate_widgets as rw
imported = time.perf_counter()
p = rw.Playground("replicate/hello-world")
ready = time.perf_counter()
assert p.form is not None and p.error is None, p.error
assert [f.name for f in p.schema.inputs] == ["text"], p.schema.inputs
time.sleep(THINK)  # a person reads the form, then presses Run
ready_to_run = time.perf_counter()
out = p.client.run("replicate/hello-world", {"text": "cold"})
assert out == "hello cold", out
ran = time.perf_counter()
print(json.dumps({"import": imported - began, "form": ready - began,
                  "first_run": ran - ready_to_run}))
"""

PEER = """
import time
began = time.perf_counter()
import ipywidgets
form = ipywidgets.VBox([ipywidgets.Text(), ipywidgets.Button()])
ready = time.perf_counter()
print(json.dumps({"form": ready - began}))
"""


THINK = 2.0


def sample(code: str, env: dict[str, str]) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", f"import json\nTHINK = {THINK}\n" + code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the sample failed:\n{proc.stderr[-2000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def environment(data_dir: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "REPLICATE_API_TOKEN",
            "REPLICATE_BASE_URL",
            "REPLICATE_WIDGETS_LOCAL_URL",
        )
    }
    path = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["REPLICATE_WIDGETS_DATA_DIR"] = data_dir
    return env


def ms(seconds: float) -> str:
    return f"{seconds * 1000:6.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="samples (default 10)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rw-coldstart-") as data_dir:
        env = environment(data_dir)
        first = sample(OURS, env)
        print(
            f"first start with a new data folder: form {ms(first['form'])}, "
            f"first run {ms(first['first_run'])}"
        )
        ours: list[dict[str, float]] = []
        peer: list[float] = []
        for run in range(args.runs):
            ours.append(sample(OURS, env))
            peer.append(sample(PEER, env)["form"])
            print(
                f"  {run + 1:2}: Playground form {ms(ours[-1]['form'])} "
                f"(import {ms(ours[-1]['import'])}), first run "
                f"{ms(ours[-1]['first_run'])}; ipywidgets form {ms(peer[-1])}"
            )
    forms = [s["form"] for s in ours]
    ratios = [a / b for a, b in zip(forms, peer, strict=True)]
    print(f"medians over {args.runs} fresh processes, in turns:")
    print(
        f"  Playground form:  {ms(statistics.median(forms))} "
        f"[{ms(min(forms)).strip()}-{ms(max(forms)).strip()}] "
        f"(import {ms(statistics.median(s['import'] for s in ours)).strip()})"
    )
    print(
        f"  ipywidgets form:  {ms(statistics.median(peer))} "
        f"[{ms(min(peer)).strip()}-{ms(max(peer)).strip()}]"
    )
    print(
        f"  ratio: {statistics.median(ratios):.2f}x "
        f"[{min(ratios):.2f}x-{max(ratios):.2f}x]; target: form within 1 s"
    )
    print(
        f"  first prediction, Run pressed {THINK:.0f} s after the form appeared: "
        f"{ms(statistics.median(s['first_run'] for s in ours)).strip()}"
    )


if __name__ == "__main__":
    main()
