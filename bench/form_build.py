"""How long it takes to build an input form from a real model schema, Python side.

For every fixture schema (tests/fixtures/schemas and tests/fixtures/cog-golden) this
times, in the same run:

- ours: ``replicate_widgets.InputForm(doc)`` when that widget is importable
  (parse + the widget's initial state), else ``parse(doc)`` + ``Field.to_json()`` for
  every field + ``defaults()`` (the data the widget is built from);
- parse + to_json alone (always, for reference);
- the peer: ``ipywidgets_jsonschema.Form(schema)`` (ipywidgets-jsonschema 1.2.1), which
  builds ipywidgets from a JSON Schema. It gets the ``Input`` component with the
  document's components under ``$defs`` (how it resolves references), prepared outside
  the timed region.

Each figure is the median of several runs after one warm-up. Target: the 43-field
nightmareai/disco-diffusion form under 30 ms and at least 5x faster than the peer.

Run: ``.venv/bin/python bench/form_build.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replicate_widgets.schema import parse  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
TARGET = "nightmareai__disco-diffusion"
TARGET_MS = 30.0
TARGET_RATIO = 5.0


def load_docs() -> dict[str, dict[str, Any]]:
    paths = sorted(
        [*FIXTURES.glob("schemas/*.json"), *FIXTURES.glob("cog-golden/*.json")]
    )
    return {p.stem: json.loads(p.read_text("utf-8")) for p in paths}


def close_widgets() -> None:
    # both sides register every widget globally; drop them between runs
    import ipywidgets

    ipywidgets.Widget.close_all()


def median_ms(build: Callable[[], object], repeat: int) -> float:
    build()  # warm-up: imports, caches
    close_widgets()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        build()
        times.append((time.perf_counter() - start) * 1000)
        close_widgets()
    return statistics.median(times)


def ours_builder() -> tuple[str, Callable[[dict[str, Any]], object]]:
    try:
        from replicate_widgets._widgets.form import InputForm
    except ImportError as exc:
        print(f"InputForm not importable ({exc}); timing parse + to_json only")

        def build_data(doc: dict[str, Any]) -> object:
            schema = parse(doc)
            return [f.to_json() for f in schema.inputs], schema.defaults()

        return "parse+to_json", build_data
    return "InputForm", InputForm


def parse_and_json(doc: dict[str, Any]) -> object:
    schema = parse(doc)
    return [f.to_json() for f in schema.inputs], schema.defaults()


def peer_schema(doc: dict[str, Any]) -> dict[str, Any]:
    schemas = doc["components"]["schemas"]
    return {**schemas["Input"], "$defs": schemas}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per schema")
    args = parser.parse_args()

    try:
        from ipywidgets_jsonschema import Form as PeerForm
    except ImportError:
        sys.exit(
            "the peer is missing: .venv/bin/pip install ipywidgets-jsonschema==1.2.1"
        )

    label, ours = ours_builder()
    docs = load_docs()
    print(f"ours = {label}; peer = ipywidgets_jsonschema.Form; median of {args.repeat}")
    header = (
        f"{'schema':48} {'fields':>6} {label + ' ms':>14} {'parse+json ms':>14} "
        f"{'peer ms':>9} {'peer/ours':>9}"
    )
    print(header)
    print("-" * len(header))
    ratios = []
    target_row: tuple[float, float | None] | None = None
    for name, doc in docs.items():
        fields = len(parse(doc).inputs)
        ours_ms = median_ms(lambda d=doc: ours(d), args.repeat)
        data_ms = median_ms(lambda d=doc: parse_and_json(d), args.repeat)
        spec = peer_schema(doc)
        peer_ms: float | None
        note = ""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                peer_ms = median_ms(lambda s=spec: PeerForm(s), args.repeat)
        except Exception as exc:  # the peer cannot read every Cog schema
            peer_ms = None
            note = f"peer failed: {type(exc).__name__}: {str(exc)[:60]}"
        ratio = None if peer_ms is None else peer_ms / ours_ms
        if ratio is not None:
            ratios.append(ratio)
        shown_peer = "-" if peer_ms is None else f"{peer_ms:9.2f}"
        shown_ratio = "-" if ratio is None else f"{ratio:8.1f}x"
        print(
            f"{name:48} {fields:6d} {ours_ms:14.2f} {data_ms:14.2f} "
            f"{shown_peer:>9} {shown_ratio:>9} {note}"
        )
        if name == TARGET:
            target_row = (ours_ms, ratio)
    print("-" * len(header))
    if ratios:
        print(
            f"geometric mean peer/ours over {len(ratios)} schemas: "
            f"{statistics.geometric_mean(ratios):.1f}x"
        )
    if target_row is not None:
        ours_ms, ratio = target_row
        fast = "PASS" if ours_ms < TARGET_MS else "FAIL"
        print(f"{TARGET}: {ours_ms:.2f} ms with {label}", end=" ")
        print(f"(target < {TARGET_MS:.0f} ms): {fast}")
        if ratio is None:
            print(f"{TARGET}: the peer could not build this form")
        else:
            ok = "PASS" if ratio >= TARGET_RATIO else "FAIL"
            print(
                f"{TARGET}: {ratio:.1f}x faster than the peer "
                f"(target >= {TARGET_RATIO:.0f}x): {ok}"
            )


if __name__ == "__main__":
    main()
