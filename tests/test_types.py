from __future__ import annotations

import dataclasses

import pytest
from _client_support import load

from replicate_widgets._client.types import (
    TERMINAL_STATUSES,
    Collection,
    FileContent,
    Model,
    Page,
    Prediction,
    Progress,
    Version,
    WebhookSecret,
)


def test_prediction_from_real_succeeded_body():
    body = load("prediction-succeeded")
    p = Prediction.from_json(body)
    assert p.id == "vgcm4plb7tgzlyznry5d5jkgvu"
    assert p.status == "succeeded"
    assert p.is_terminal
    assert isinstance(p.output, list)
    assert p.output[0].startswith("https://")
    assert p.metrics["predict_time"] > 0
    assert p.urls["get"].endswith(p.id)
    assert p.raw == body


def test_prediction_keeps_unknown_fields():
    body = load("prediction-processing-streamed-tokens")
    body["brand_new_field"] = {"x": 1}
    p = Prediction.from_json(body)
    assert p.extra["brand_new_field"] == {"x": 1}
    assert p.raw["brand_new_field"] == {"x": 1}
    assert p.version is not None
    assert p.version.startswith("dp-")
    assert "stream" in p.urls
    assert not p.is_terminal


@pytest.mark.parametrize("status", ["succeeded", "failed", "canceled", "aborted"])
def test_terminal_statuses_include_aborted(status):
    body = load("prediction-starting")
    body["status"] = status
    assert Prediction.from_json(body).is_terminal
    assert status in TERMINAL_STATUSES


@pytest.mark.parametrize("status", ["starting", "processing"])
def test_running_statuses_are_not_terminal(status):
    body = load("prediction-starting")
    body["status"] = status
    assert not Prediction.from_json(body).is_terminal


def test_progress_from_real_processing_logs():
    p = Prediction.from_json(load("prediction-processing"))
    progress = p.progress
    assert progress is not None
    assert 0 <= progress.percentage <= 1
    assert progress.total > 0
    assert progress.current <= progress.total


def test_progress_takes_last_matching_line_with_carriage_returns():
    logs = (
        "loading\n  4%|▍         | 2/50 [00:01<00:24]"
        "\r 50%|█████     | 25/50 [00:12<00:12]\nsaving"
    )
    progress = Progress.parse(logs)
    assert progress == Progress(0.5, 25, 50)
    assert Progress.parse("no bars here") is None
    assert Progress.parse("") is None


def test_model_and_latest_version_from_real_body():
    m = Model.from_json(load("model.json".removesuffix(".json")))
    assert m.ref == "stability-ai/sdxl"
    latest = m.latest
    assert isinstance(latest, Version)
    assert latest.openapi_schema is not None
    assert "Input" in latest.openapi_schema["components"]["schemas"]


def test_version_from_real_body():
    v = Version.from_json(load("version"))
    assert len(v.id) == 64
    assert v.cog_version


def test_from_json_rejects_non_objects_clearly():
    with pytest.raises(TypeError, match="Expected a JSON object for Prediction"):
        Prediction.from_json(["not", "an", "object"])


def test_secret_and_bytes_stay_out_of_reprs():
    secret = WebhookSecret.from_json({"key": "whsec_c2VjcmV0"})
    assert "whsec_" not in repr(secret)
    assert secret.key == "whsec_c2VjcmV0"
    content = FileContent(b"\x89PNG" * 1000, "image/png")
    assert "4000 bytes" in repr(content)


def test_page_iterates_all_pages_lazily():
    fetched: list[str] = []
    pages = {
        "p2": Page(results=[3, 4], next="p3"),
        "p3": Page(results=[5], next=None),
    }

    def fetch(url: str) -> Page[int]:
        fetched.append(url)
        page = pages[url]
        page._fetch = fetch
        return page

    first: Page[int] = Page(results=[1, 2], next="p2", _fetch=fetch)
    it = iter(first)
    assert [next(it), next(it)] == [1, 2]
    assert fetched == []  # nothing fetched until the first page is used up
    assert list(it) == [3, 4, 5]
    assert fetched == ["p2", "p3"]


def test_page_stops_on_repeated_cursor():
    def fetch(url: str) -> Page[int]:
        return Page(results=[9], next="same", _fetch=fetch)

    first: Page[int] = Page(results=[1], next="same", _fetch=fetch)
    assert list(first) == [1, 9]


def test_collections_page_shape():
    body = load("paginated-collections-list")
    items = [Collection.from_json(c) for c in body["results"]]
    assert all(c.slug for c in items)
    assert dataclasses.asdict(items[0])["slug"] == items[0].slug


def test_null_containers_fall_back_to_empty():
    body = load("prediction-canceled")
    body.update(metrics=None, urls=None, input=None)
    p = Prediction.from_json(body)
    assert p.metrics == {}
    assert p.urls == {}
    assert p.input == {}
    assert p.raw["urls"] is None
