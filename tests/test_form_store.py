"""HiddenValues: the kernel-side store behind the form's file and secret markers."""

from __future__ import annotations

import io

import pytest

from replicate_widgets._widgets.form_store import HiddenValues, StaleMarker


def test_uploads_from_the_browser_keep_bytes_name_and_type():
    store = HiddenValues()
    store.receive_file({"__file__": "k", "name": "notes.txt", "type": ""}, [b"hi"])
    upload = store.uploads["k"]
    assert upload.data == b"hi"
    assert upload.type == "text/plain"  # browsers send "" for types they do not know
    marker = {"__file__": "k", "name": "notes.txt", "size": 2, "type": "text/plain"}
    assert store.stand_in(marker) == "data:text/plain;base64,"
    real = store.real(marker, store.stand_in(marker))
    assert isinstance(real, io.BytesIO)
    assert real.name == "notes.txt"
    assert real.read() == b"hi"


def test_markers_nobody_uses_are_forgotten():
    store = HiddenValues()
    kept = store.file_marker("a", b"1")
    store.file_marker("b", b"2")
    secret = store.secret_marker("s3cret")
    store.keep_only({"a": [kept], "t": secret})
    assert list(store.uploads) == [kept["__file__"]]
    assert list(store.secrets) == [secret["__secret__"]]
    store.keep_only({})
    assert store.uploads == {}
    assert store.secrets == {}


def test_stale_markers_say_what_to_do():
    store = HiddenValues()
    with pytest.raises(StaleMarker, match="Choose the file again"):
        store.stand_in([{"__file__": "gone", "name": "x.png"}])
    with pytest.raises(StaleMarker, match="Enter the secret again"):
        store.stand_in({"__secret__": "gone"})


def test_secrets_are_masked_in_messages():
    store = HiddenValues()
    store.secret_marker("r8_abc")
    assert (
        store.scrub("'r8_abc' does not match '^sk-'") == "'•••' does not match '^sk-'"
    )


def test_file_objects_must_be_binary(tmp_path):
    store = HiddenValues()
    path = tmp_path / "a.txt"
    path.write_text("x")
    with path.open() as fh, pytest.raises(TypeError, match="'rb'"):
        store.file_marker("doc", fh)
    with path.open("rb") as fh:
        marker = store.file_marker("doc", fh)
    assert marker["name"] == "a.txt"
    assert marker["type"] == "text/plain"
    assert marker["size"] == 1


def test_malformed_messages_change_nothing():
    store = HiddenValues()
    store.receive_file({"__file__": "k", "name": "a"}, [])
    store.receive_file({"__file__": 1, "name": "a"}, [b"x"])
    store.receive_secret({"key": "k", "value": 5})
    assert store.uploads == {}
    assert store.secrets == {}
