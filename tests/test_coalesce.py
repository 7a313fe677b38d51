"""Coalescer: however fast updates come, few flushes, and the last always."""

from __future__ import annotations

import asyncio

import pytest

from replicate_widgets._widgets.coalesce import Coalescer


class FakeTime:
    """A clock and a call_later that only move when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[list] = []  # [due, callback, cancelled]

    def clock(self) -> float:
        return self.now

    def call_later(self, delay, callback):
        timer = [self.now + delay, callback, False]
        self.timers.append(timer)

        class Handle:
            def cancel(self_inner) -> None:
                timer[2] = True

        return Handle()

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            due = [t for t in self.timers if not t[2] and t[0] <= end]
            if not due:
                break
            timer = min(due, key=lambda t: t[0])
            self.timers.remove(timer)
            self.now = timer[0]
            timer[1]()
        self.now = end


def make(rate=20.0):
    t = FakeTime()
    state = {"value": 0, "seen": []}
    c = Coalescer(
        lambda: state["seen"].append(state["value"]),
        max_rate=rate,
        clock=t.clock,
        call_later=t.call_later,
    )
    return t, state, c


def test_1000_tokens_in_one_second_give_at_most_21_flushes_and_the_last_value():
    t, state, c = make()
    for i in range(1, 1001):
        state["value"] = i
        c.touch()
        t.advance(0.001)
    c.close()
    assert len(state["seen"]) <= 1 * 20 + 2
    assert state["seen"][-1] == 1000
    assert state["seen"] == sorted(state["seen"])


def test_rate_bound_holds_over_any_one_second_window():
    t, _state, c = make(rate=20)
    times = []
    c._flush = lambda: times.append(t.now)  # record when each flush happened
    for _ in range(10_000):  # 2,000 events/s for 5 s
        c.touch()
        t.advance(0.0005)
    c.close()
    for start in times:
        in_window = [x for x in times if start <= x < start + 1.0]
        assert len(in_window) <= 21


def test_first_change_after_quiet_goes_out_at_once():
    t, state, c = make()
    state["value"] = 1
    c.touch()
    assert state["seen"] == [1]
    t.advance(5)
    state["value"] = 2
    c.touch()
    assert state["seen"] == [1, 2]


def test_a_pending_change_is_flushed_by_the_timer_without_more_events():
    t, state, c = make()
    c.touch()
    state["value"] = 7
    c.touch()  # inside the 50 ms window: scheduled, not sent
    assert state["seen"] == [0]
    assert c.pending
    t.advance(0.05)
    assert state["seen"] == [0, 7]
    assert not c.pending


def test_close_always_sends_a_final_flush_and_stops():
    t, state, c = make()
    c.close()
    assert len(state["seen"]) == 1
    c.touch()
    t.advance(1)
    assert len(state["seen"]) == 1


def test_flush_now_sends_what_is_pending():
    t, state, c = make()
    c.touch()
    state["value"] = 3
    c.touch()
    c.flush_now()
    assert state["seen"] == [0, 3]
    t.advance(1)
    assert state["seen"] == [0, 3]  # the cancelled timer does not flush again


def test_rejects_a_non_positive_rate():
    with pytest.raises(ValueError, match="max_rate must be positive"):
        Coalescer(lambda: None, max_rate=0)


def test_defaults_to_the_running_loop():
    seen = []

    async def main():
        c = Coalescer(lambda: seen.append(1), max_rate=100)
        c.touch()
        c.touch()
        await asyncio.sleep(0.05)
        c.close()

    asyncio.run(main())
    assert len(seen) == 3  # immediate, trailing, final
