"""The SQLite store: documents, newest-first cursor pages, filters, restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from replicate_widgets.server._problem import Problem
from replicate_widgets.server._storage.store import Store, decode_cursor, encode_cursor


def _prediction(pid: str, created: str, status: str = "succeeded") -> dict:
    return {"id": pid, "created_at": created, "status": status, "model": "a/b"}


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "db.sqlite3")
    yield s
    s.close()


def test_pages_are_newest_first_and_cursor_walks_all(store: Store) -> None:
    for i in range(7):
        store.put_prediction(_prediction(f"p{i}", f"2026-01-01T00:00:0{i}.000000Z"))
    seen = []
    cursor = None
    while True:
        page = store.list_predictions(cursor=cursor, limit=3)
        seen.extend(d["id"] for d in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"p{i}" for i in reversed(range(7))]


def test_same_timestamp_ties_are_not_lost(store: Store) -> None:
    for pid in ("a", "b", "c", "d"):
        store.put_prediction(_prediction(pid, "2026-01-01T00:00:00.000000Z"))
    first = store.list_predictions(limit=2)
    second = store.list_predictions(cursor=first.next_cursor, limit=2)
    ids = [d["id"] for d in first.items + second.items]
    assert sorted(ids) == ["a", "b", "c", "d"]
    assert second.next_cursor is None


def test_created_after_and_before_filter(store: Store) -> None:
    for i in range(5):
        store.put_prediction(_prediction(f"p{i}", f"2026-01-0{i + 1}T00:00:00.000000Z"))
    page = store.list_predictions(
        created_after="2026-01-02T00:00:00.000000Z",
        created_before="2026-01-05T00:00:00.000000Z",
    )
    assert [d["id"] for d in page.items] == ["p3", "p2"]


def test_kinds_are_separate(store: Store) -> None:
    store.put_prediction(_prediction("t1", "2026-01-01T00:00:00.000000Z"), "training")
    assert store.get_prediction("t1") is None
    assert store.get_prediction("t1", "training")["id"] == "t1"
    assert store.list_predictions().items == []


def test_unfinished_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    first = Store(path)
    first.put_prediction(
        _prediction("run", "2026-01-01T00:00:00.000000Z", "processing")
    )
    first.put_prediction(_prediction("ok", "2026-01-01T00:00:01.000000Z"))
    first.close()
    again = Store(path)
    try:
        assert [d["id"] for _, d in again.unfinished_predictions()] == ["run"]
        assert again.count_predictions("a/b") == 2
    finally:
        again.close()


def test_bad_cursor_is_a_400_problem() -> None:
    with pytest.raises(Problem) as info:
        decode_cursor("!!not-a-cursor!!")
    assert info.value.status == 400
    assert decode_cursor(encode_cursor("2026", "x|y")) == ("2026", "x|y")


def test_models_versions_files_meta(store: Store) -> None:
    store.put_model({"owner": "o", "name": "n", "created_at": "2026"})
    store.put_version("o", "n", {"id": "v1", "created_at": "2026-1"}, {"kind": "x"})
    store.put_version("o", "n", {"id": "v2", "created_at": "2026-2"}, {"kind": "y"})
    assert [v["id"] for v in store.list_versions("o", "n")] == ["v2", "v1"]
    assert store.get_version("v1")[:2] == ("o", "n")
    store.delete_version("v2")
    assert [v["id"] for v in store.list_versions("o", "n")] == ["v1"]
    store.put_file({"id": "f", "created_at": "2026"})
    assert store.list_files().items[0]["id"] == "f"
    store.delete_file("f")
    assert store.get_file("f") is None
    store.set_meta("k", "v")
    assert store.get_meta("k") == "v"
    store.delete_model("o", "n")
    assert store.get_model("o", "n") is None
    assert store.get_version("v1") is None


def test_store_adds_the_deployments_table_to_an_older_database(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE models (owner TEXT NOT NULL, name TEXT NOT NULL, created_at "
        "TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (owner, name))"
    )
    old.commit()
    old.close()
    store = Store(path)
    doc = {"owner": "local", "name": "d", "current_release": None}
    store.put_deployment(doc, "2026-01-01T00:00:00.000000Z")
    assert store.get_deployment("local", "d") == ("2026-01-01T00:00:00.000000Z", doc)
    assert store.list_deployments() == [doc]
    store.delete_deployment("local", "d")
    assert store.get_deployment("local", "d") is None
    store.close()
