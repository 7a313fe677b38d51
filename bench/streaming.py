"""Token streaming through PanelState + Coalescer + PredictionPanel: messages and CPU.

Feeds 2,000 tokens a second for 10 s (by default) into a real PredictionPanel on the
widgets' background loop, exactly as stream events arrive, with a comm that records
and JSON-encodes every message (as the kernel would). Reports messages per second to
the browser, kernel CPU (process time / wall time) and whether every token arrived.
The peer, measured in the same run, is the naive design: one trait set per token.

    .venv/bin/python bench/streaming.py [--rate 2000] [--seconds 10] [--naive-seconds 2]

Targets: at most 20 messages/s and under 15% of one core for the coalesced panel.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
import uuid

import comm

from replicate_widgets._widgets.coalesce import Coalescer
from replicate_widgets._widgets.loop import submit
from replicate_widgets._widgets.panel.panel import PredictionPanel
from replicate_widgets._widgets.panel.state import PanelState


class CountingComm:
    """Encodes each message like the kernel does and counts messages and bytes."""

    kernel = "bench"

    def __init__(self, **_kwargs):
        self.comm_id = uuid.uuid4().hex
        self.lock = threading.Lock()
        self.messages = 0
        self.bytes = 0
        self.last_text = ""

    def send(self, data=None, _metadata=None, buffers=None):
        encoded = json.dumps(data)
        with self.lock:
            self.messages += 1
            self.bytes += len(encoded) + sum(len(b) for b in buffers or [])
            # What a browser would hold: a synced text replaces it, an append
            # (the panel's _appends) extends it where it ends.
            state = (data or {}).get("state", {})
            if "text" in state:
                self.last_text = state["text"]
            append = state.get("_appends", {}).get("text")
            if append and append["at"] == len(self.last_text):
                self.last_text += append["chunk"]

    def on_msg(self, callback):
        pass

    def close(self, *args, **kwargs):
        pass


def tokens(n):
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "a",
        "lazy",
        "dog",
        "while",
        "streaming",
        "tokens",
    ]
    return [f"{words[i % len(words)]} " for i in range(n)]


async def feed(emit, rate, seconds, tick=0.005):
    """Call emit(token) `rate` times a second for `seconds`, in ticks of `tick` s."""
    items = tokens(int(rate * seconds))
    per_tick = max(1, round(rate * tick))
    start = time.perf_counter()
    for i in range(0, len(items), per_tick):
        for token in items[i : i + per_tick]:
            emit(token)
        due = start + (i + per_tick) / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
    return "".join(items)


def run(kind, rate, seconds, made):
    panel = PredictionPanel()
    channel = made[-1]
    before = channel.messages

    async def coalesced():
        state = PanelState("text-stream")
        panel._state, panel._generation = state, 1
        panel._follower = type("F", (), {"media": {}, "media_errors": {}})()
        coalescer = Coalescer(lambda: panel._flush(1), max_rate=20)

        def emit(token):
            state.apply_event("output", token, time.time())
            coalescer.touch()

        expected = await feed(emit, rate, seconds)
        coalescer.close()
        return expected

    async def naive():
        def emit(token):
            panel.text = panel.text + token  # one comm message per token

        return await feed(emit, rate, seconds)

    wall0, cpu0 = time.perf_counter(), time.process_time()
    expected = submit(coalesced() if kind == "coalesced" else naive()).result()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    messages = channel.messages - before
    return {
        "kind": kind,
        "tokens": int(rate * seconds),
        "wall_s": wall,
        "messages": messages,
        "messages_per_s": messages / wall,
        "cpu_core_fraction": cpu / wall,
        "mb_sent": channel.bytes / 1e6,
        "all_tokens_arrived": channel.last_text == expected,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--naive-seconds", type=float, default=2)
    args = parser.parse_args()

    made = []
    comm.create_comm = lambda **kw: made.append(CountingComm(**kw)) or made[-1]

    ours = run("coalesced", args.rate, args.seconds, made)
    peer = run("naive", args.rate, args.naive_seconds, made)
    for r in (ours, peer):
        print(
            f"{r['kind']:>9}: {r['tokens']} tokens in {r['wall_s']:.2f}s -> "
            f"{r['messages']} messages ({r['messages_per_s']:.1f}/s), "
            f"CPU {100 * r['cpu_core_fraction']:.1f}% of a core, "
            f"{r['mb_sent']:.2f} MB encoded, "
            f"all tokens arrived: {r['all_tokens_arrived']}"
        )
    msg_ratio = peer["messages_per_s"] / ours["messages_per_s"]
    cpu_ratio = peer["cpu_core_fraction"] / max(ours["cpu_core_fraction"], 1e-9)
    # Bytes per token: the naive peer resends the whole text with every token; the
    # panel sends each token once (appends) plus the whole text at the end.
    byte_ratio = (peer["mb_sent"] / peer["tokens"]) / (ours["mb_sent"] / ours["tokens"])
    print(
        f"ratio naive/coalesced: {msg_ratio:.0f}x messages per second, "
        f"{cpu_ratio:.1f}x CPU, {byte_ratio:.0f}x bytes per token"
    )
    ok = (
        ours["all_tokens_arrived"]
        and ours["messages_per_s"] <= 21
        and ours["cpu_core_fraction"] < 0.15
    )
    print("targets (<= 20 msg/s, < 15% core, nothing lost):", "met" if ok else "MISSED")


if __name__ == "__main__":
    main()
