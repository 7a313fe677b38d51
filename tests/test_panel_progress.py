"""tqdm progress parsing and the bounded log buffer."""

from __future__ import annotations

import json
import pathlib

import pytest

from replicate_widgets._client.progress import LogBuffer, Progress, parse_progress

RESPONSES = pathlib.Path(__file__).parent / "fixtures" / "responses"


def test_real_sdxl_logs():
    logs = json.loads((RESPONSES / "prediction-processing.json").read_text())["logs"]
    assert parse_progress(logs) == Progress(19 / 50, 19, 50)


def test_carriage_return_redraws_and_colours():
    logs = "\x1b[32m 10%|#         | 1/10\x1b[0m\r 20%|##        | 2/10 [00:01<00:04]\r"
    assert parse_progress(logs) == Progress(0.2, 2, 10)


def test_last_bar_wins_and_other_lines_are_ignored():
    logs = " 50%|#####     | 5/10\nloading weights 3/4 done\nimage saved\n"
    assert parse_progress(logs).current == 5
    assert parse_progress("no bars here\n") is None
    assert parse_progress(" 0%|          | 0/0") is None  # no division by zero


def test_log_buffer_keeps_everything_and_shows_a_bounded_tail():
    buf = LogBuffer(limit=100)
    lines = [f"line {i:04d}\n" for i in range(100)]
    for line in lines:
        buf.append(line)
    assert buf.full == "".join(lines)
    assert len(buf.tail) <= 100
    assert buf.tail.startswith("line ")  # cut at a line start
    assert buf.tail.endswith("line 0099\n")
    assert buf.dropped == buf.size - len(buf.tail)
    buf.replace("short")
    assert (buf.tail, buf.dropped, buf.size) == ("short", 0, 5)


def test_log_buffer_tail_mostly_grows_at_its_end():
    # A sliding window would move its start at every write once full; jumping a
    # quarter ahead keeps most updates appends (what the panel sends cheaply).
    buf = LogBuffer(limit=1000)
    previous, jumps = "", 0
    for i in range(10_000):
        buf.append(f"line {i:04d}\n")
        tail = buf.tail
        assert len(tail) <= 1000
        assert tail.endswith(f"line {i:04d}\n")
        if not tail.startswith(previous):
            jumps += 1
            assert tail.startswith("line ")  # still cut at a line start
        previous = tail
    assert 0 < jumps <= 10_000 // 20
    assert buf.dropped == buf.size - len(buf.tail)


def test_log_buffer_rejects_a_non_positive_limit():
    with pytest.raises(ValueError, match="limit must be positive"):
        LogBuffer(0)
