"""History a page at a time: Newer/Older, filters by model, status and input text.

Cursor paging over many pages replays api.replicate.com responses (the local
backend answers everything on one page); filters run against the real local
backend on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import time

import pytest
from _history_api import ReplicateAPI, api_prediction

from replicate_widgets._client.client import Client
from replicate_widgets._widgets.history.entries import HistoryEntry, record, row_key
from replicate_widgets._widgets.history.history import SEARCH_PAGES, History
from replicate_widgets._widgets.history.pages import (
    Filters,
    newer_anchor,
    older_anchor,
    page_view,
    searchable_text,
)


@pytest.fixture(scope="module")
def client(local_client: Client) -> Client:
    return local_client


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def shown_ids(history: History) -> list[str]:
    """The ids of the rows drawn in the table, top to bottom."""
    ids = []
    for row in history.rows:
        found = re.search(r'class="rw-history-id"[^>]*>([^<]*)<', row["info_html"])
        assert found is not None
        assert found[1] == row["id"]
        ids.append(found[1])
    return ids


def summary(history: History) -> str:
    """The sentence above the table, as text."""
    return html.unescape(re.sub(r"<[^>]*>", "", history.summary))


def press(history: History, action: str, value=None) -> None:
    """What the view's button sends."""
    history._on_composite_message(
        history, {"kind": "action", "name": action, "value": value}, []
    )


def run(client: Client, model: str, **inputs) -> str:
    return client.predictions.wait(client.predictions.create(model, inputs)).id


# -- pages, worked out without widgets --------------------------------------------


def entry(i: int, minute: int, model="a/b", status="succeeded", **inputs):
    when = dt.datetime(2026, 1, 1, 12, minute, tzinfo=dt.timezone.utc)
    return HistoryEntry(
        f"p{i}", model=model, status=status, created_at=when.isoformat(), input=inputs
    )


def test_a_page_stays_put_when_newer_runs_arrive():
    entries = [entry(i, 50 - i) for i in range(10)]  # p0 newest
    first = page_view(entries, Filters(), None, 3, None, True)
    assert [e.id for e in first.rows] == ["p0", "p1", "p2"]
    second = page_view(entries, Filters(), older_anchor(first, None), 3, None, True)
    assert [e.id for e in second.rows] == ["p3", "p4", "p5"]
    assert second.first == 4
    entries.append(entry(99, 59))  # a run started meanwhile
    again = page_view(entries, Filters(), second.anchor, 3, None, True)
    assert [e.id for e in again.rows] == ["p3", "p4", "p5"]
    assert again.first == 5  # one more run above it now
    back = newer_anchor(entries, Filters(), again, 3, None)
    top = page_view(entries, Filters(), back, 3, None, True)
    assert [e.id for e in top.rows] == ["p0", "p1", "p2"]
    assert newer_anchor(entries, Filters(), top, 3, None) is None


def test_rows_older_than_what_the_api_sent_wait_for_it():
    """A kept run from last year is not shown before API runs not fetched yet."""
    api = [entry(i, 50 - i) for i in range(3)]
    kept = entry(7, 1)
    frontier = row_key(api[-1])
    view = page_view([*api, kept], Filters(), None, 5, frontier, False)
    assert [e.id for e in view.rows] == ["p0", "p1", "p2"]
    assert not view.full  # the page needs the next API page first
    assert view.older
    done = page_view([*api, kept], Filters(), None, 5, frontier, True)
    assert [e.id for e in done.rows] == ["p0", "p1", "p2", "p7"]


def test_filters_match_model_status_and_every_word_of_the_inputs():
    e = entry(1, 1, "demo/Fractal", "failed", prompt="A Red Fox", n=3)
    assert Filters(model="fractal").matches(e)
    assert not Filters(model="echo").matches(e)
    assert Filters(status="failed").matches(e)
    assert not Filters(status="succeeded").matches(e)
    assert Filters(text="fox red").matches(e)
    assert not Filters(text="fox blue").matches(e)
    assert Filters(text="3").matches(e)
    assert "base64" not in searchable_text({"image": "data:image/png;base64,AAAA"})
    with pytest.raises(ValueError, match="succeeded"):
        Filters(status="done")


# -- cursor pages of api.replicate.com ----------------------------------------------


def test_pages_are_read_from_the_api_only_as_the_table_needs_them():
    api = ReplicateAPI(
        [[api_prediction(i) for i in range(j, j + 3)] for j in (0, 3, 6)]
    )
    ids = [api_prediction(i)["id"] for i in range(9)]
    with Client("r8_test", transport=api.transport) as c:
        history = History(client=c, keeper=None, page_size=4)
        history.wait(30)
        # 4 rows need the second page (and a fifth run to know Older has more)
        assert api.listed == [0, 1]
        assert shown_ids(history) == ids[:4]
        assert not history.can_newer
        assert history.can_older
        assert "Runs 1 to 4 of the 6 most recent" in summary(history)
        press(history, "older")
        history.wait(30)
        assert api.listed == [0, 1, 2]
        assert shown_ids(history) == ids[4:8]
        assert history.can_newer
        history.older().result(30)
        assert shown_ids(history) == ids[8:]
        assert not history.can_older
        assert "Runs 9 to 9 of 9." in summary(history)
        history.newer().result(30)
        assert shown_ids(history) == ids[4:8]
        press(history, "newer")
        history.wait(30)
        assert shown_ids(history) == ids[:4]
        assert not history.can_newer
        assert api.listed == [0, 1, 2]  # paging back reads nothing again
        history.close()


def test_a_search_reads_a_bounded_number_of_pages_per_click():
    """Replicate's list cannot filter: History searches page by page and says so."""
    pages = [[api_prediction(i) for i in range(j, j + 3)] for j in range(0, 30, 3)]
    needle = pages[7][1]
    needle["input"] = {"prompt": "a lighthouse at dusk", "seed": 1}
    api = ReplicateAPI(pages)
    with Client("r8_test", transport=api.transport) as c:
        history = History(client=c, keeper=None, page_size=5)
        history.wait(30)
        assert api.listed == [0, 1]
        history.set_filters(text="Lighthouse").result(30)
        assert shown_ids(history) == []
        assert len(api.listed) == 2 + SEARCH_PAGES  # not the whole list at once
        assert summary(history) == (
            "No run with inputs containing “Lighthouse” among the 21 most recent "
            "runs; Older searches further back."
        )
        assert history.text_filter == "Lighthouse"
        history.older().result(30)
        assert shown_ids(history) == [needle["id"]]
        assert summary(history) == (
            "Runs 1 to 1 with inputs containing “Lighthouse”, searching all 30 runs."
        )
        assert not history.can_older
        assert not history.can_newer  # no match is newer: the first page
        history.close()


# -- the local backend --------------------------------------------------------------


def test_filter_by_model_status_and_input_text(client):
    cat = run(client, "replicate/hello-world", text="a cat named Ziggy")
    dog = run(client, "demo/echo", text="a dog named Ziggy")
    failed = run(client, "demo/echo", text="Ziggy fails", fail=True)
    history = History(client=client, keeper=None, page_size=50)
    history.wait(30)
    mine = {cat, dog, failed}

    def found() -> set[str]:
        return set(shown_ids(history)) & mine

    assert found() == mine
    # the browser's boxes apply on Enter, one reload per change
    history.text_filter = "ziggy"
    history.wait(30)
    assert found() == mine
    assert "inputs containing “ziggy”" in summary(history)
    history.model_filter = "demo/echo"
    history.wait(30)
    assert found() == {dog, failed}
    history.status_filter = "failed"
    history.wait(30)
    assert shown_ids(history) == [failed]
    history.set_filters(model="", status="", text="cat ziggy").result(30)
    assert shown_ids(history) == [cat]
    # the model box offers the models seen
    assert {"replicate/hello-world", "demo/echo"} <= set(history.models)
    history.set_filters(text="").result(30)
    assert not history.filters.active
    history.close()


def test_newer_and_older_pages_with_runs_arriving(client):
    ids = [run(client, "replicate/hello-world", text=f"page {i}") for i in range(5)]
    ids.reverse()  # newest first
    history = History(client=client, keeper=None, page_size=2)
    history.wait(30)
    assert shown_ids(history) == ids[:2]
    history.older().result(30)
    assert shown_ids(history) == ids[2:4]
    # a run started now joins the top; the page being read does not move
    late = client.predictions.create("replicate/hello-world", {"text": "late"})
    record(late, client)
    wait_for(lambda: late.id in history._entries, what="the new run")
    history.wait(30)
    assert shown_ids(history) == ids[2:4]
    assert "Runs 4 to 5" in summary(history)
    # pages keep their bounds: the page before is the one read before...
    history.newer().result(30)
    assert shown_ids(history) == ids[:2]
    assert history.can_newer
    # ...and the new run is on the one before that
    history.newer().result(30)
    assert shown_ids(history) == [late.id, ids[0]]
    assert not history.can_newer
    history.close()


def test_page_size_must_be_a_positive_whole_number():
    with pytest.raises(ValueError, match="at least 1"):
        History(include_api=False, keeper=None, page_size=0)
    with pytest.raises(TypeError, match="whole number"):
        History(include_api=False, keeper=None, page_size=2.5)  # type: ignore[arg-type]


def test_rows_are_sent_only_for_the_page_shown(client):
    for i in range(4):
        run(client, "replicate/hello-world", text=f"lazy {i}")
    history = History(client=client, keeper=None, page_size=3)
    history.wait(30)
    assert len(history.rows) == 3
    assert len(history._entries) > 3
    history.close()


def test_opening_a_run_from_code_turns_to_its_page(client):
    ids = [run(client, "replicate/hello-world", text=f"reveal {i}") for i in range(4)]
    history = History(client=client, keeper=None, page_size=2)
    history.wait(30)
    assert ids[0] not in shown_ids(history)
    history.show(ids[0]).wait(30)
    wait_for(lambda: ids[0] in shown_ids(history), what="the page of the run")
    assert shown_ids(history)[0] == ids[0]
    assert history.opened == ids[0]  # the view draws it under this row
    assert history.rows[0]["open"]
    # a run the filters hide is opened, and the message says how to see it
    history.set_filters(model="no-such-model").result(30)
    assert history.rows == []  # no row to draw the opened run under
    history.show(ids[1]).wait(30)
    wait_for(lambda: "clear them to see it" in history.message)
    history.close()
