"""``GET /v1/search`` and ``PATCH /v1/models/{owner}/{name}`` on the local backend.

The ranking rules are checked on the pure function; everything else over real
HTTP on 127.0.0.1 against a server with hello-world, echo and a folder model
that has its own README.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from _backend import BUNDLED, openapi_schema

from replicate_widgets.server import serve
from replicate_widgets.server._catalog.search import search

COLLECTION = {"slug": "local-models", "name": "Local models", "description": "All."}


def _model(owner: str, name: str, description: str | None = None) -> dict[str, Any]:
    return {"owner": owner, "name": name, "description": description}


# ------------------------------------------------------------- ranking (pure)
def test_every_word_must_match_and_name_hits_rank_first() -> None:
    models = [
        _model("demo", "echo", "Says hello back, slowly"),
        _model("replicate", "hello-world", "A tiny example"),
        _model("hello", "other", None),
    ]
    found = search("hello", 20, models, COLLECTION)
    names = [hit["model"]["name"] for hit in found["models"]]
    assert names == ["hello-world", "other", "echo"]
    scores = [hit["metadata"]["score"] for hit in found["models"]]
    assert scores == sorted(scores, reverse=True)
    assert [
        h["model"]["name"]
        for h in search("HELLO world", 20, models, COLLECTION)["models"]
    ] == ["hello-world"]
    assert search("hello", 1, models, COLLECTION)["models"][0]["model"]["name"] == (
        "hello-world"
    )
    assert (
        search("hello-world", 20, models, COLLECTION)["models"][0]["metadata"]["score"]
        > search("hello", 20, models, COLLECTION)["models"][0]["metadata"]["score"]
    )


def test_collection_matches_by_its_text_or_its_models() -> None:
    models = [_model("replicate", "hello-world")]
    by_model = search("hello", 20, models, COLLECTION)["collections"]
    assert by_model == [{**COLLECTION, "models": ["replicate/hello-world"]}]
    by_text = search("local", 20, models, COLLECTION)
    assert by_text["models"] == []
    assert by_text["collections"][0]["slug"] == "local-models"
    nothing = search("zebra", 20, models, COLLECTION)
    assert nothing == {"query": "zebra", "models": [], "collections": [], "pages": []}


# ------------------------------------------------------------ over real HTTP
def _folder_model(root: Path) -> Path:
    folder = root / "documented"
    folder.mkdir()
    (folder / "predict.py").write_text(
        (BUNDLED / "hello-world" / "predict.py").read_text()
    )
    (folder / "model.json").write_text(
        json.dumps(
            {"owner": "test", "name": "documented", "description": "From model.json"}
        )
    )
    (folder / "README.md").write_text("# From the folder\n")
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("search")
    models = [BUNDLED / "hello-world", BUNDLED / "echo", _folder_model(root)]
    with serve(port=0, models=models, bundled=False, data_dir=root / "data") as s:
        yield s


@pytest.fixture
def api(server):
    with httpx.Client(base_url=server.url + "/", timeout=60) as client:
        yield client


def _problem(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in response.text
    return str(response.json()["detail"])


@pytest.mark.integration
def test_search_finds_hello_world_in_the_openapi_shape(api: httpx.Client) -> None:
    found = api.get("search", params={"query": "hello world"})
    assert found.status_code == 200
    body = found.json()
    jsonschema.validate(body, openapi_schema("schemas_search_response"))
    assert body["query"] == "hello world"
    hit = body["models"][0]
    assert (hit["model"]["owner"], hit["model"]["name"]) == ("replicate", "hello-world")
    assert hit["model"] == api.get("models/replicate/hello-world").json()
    assert hit["metadata"]["score"] > 0
    assert body["collections"][0]["slug"] == "local-models"
    assert "replicate/hello-world" in body["collections"][0]["models"]
    assert body["pages"] == []
    limited = api.get("search", params={"query": "e", "limit": 1}).json()
    assert len(limited["models"]) == 1
    assert len(api.get("search", params={"query": "e"}).json()["models"]) >= 3


@pytest.mark.integration
@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({}, 'Query parameter "query" is required'),
        ({"query": "  "}, 'Query parameter "query" is required'),
        ({"query": "x", "limit": "0"}, "limit=0 is invalid"),
        ({"query": "x", "limit": "51"}, "from 1 to 50"),
        ({"query": "x", "limit": "ten"}, "limit=ten is invalid"),
    ],
)
def test_search_errors_are_400(
    api: httpx.Client, params: dict[str, str], needle: str
) -> None:
    assert needle in _problem(api.get("search", params=params), 400)


@pytest.mark.integration
def test_patch_a_created_model_and_read_its_readme(api: httpx.Client) -> None:
    created = api.post(
        "models",
        json={
            "owner": "alice",
            "name": "notes",
            "visibility": "public",
            "hardware": "cpu",
        },
    )
    assert created.status_code == 201
    # No version yet, so no folder README: reading it says what to do.
    _problem(api.get("models/alice/notes/readme"), 422)
    patched = api.patch(
        "models/alice/notes",
        json={
            "description": "Notes, edited",
            "readme": "# Notes\n\nEdited.",
            "github_url": "https://github.com/alice/notes",
            "weights_url": "https://huggingface.co/alice/notes",
        },
    )
    assert patched.status_code == 200, patched.text
    doc = patched.json()
    assert doc["description"] == "Notes, edited"
    assert doc["github_url"] == "https://github.com/alice/notes"
    assert doc["weights_url"] == "https://huggingface.co/alice/notes"
    assert doc["visibility"] == "public"
    assert "readme" not in doc
    assert "edited" not in doc
    assert api.get("models/alice/notes").json() == doc
    readme = api.get("models/alice/notes/readme")
    assert readme.text == "# Notes\n\nEdited."
    assert readme.headers["content-type"].startswith("text/markdown")
    # Only the fields sent change.
    again = api.patch("models/alice/notes", json={"paper_url": "https://arxiv.org/x"})
    assert again.json()["description"] == "Notes, edited"
    assert again.json()["paper_url"] == "https://arxiv.org/x"
    assert api.patch("models/alice/notes", json={}).json() == again.json()
    found = api.get("search", params={"query": "edited"}).json()["models"]
    assert [h["model"]["name"] for h in found] == ["notes"]


@pytest.mark.integration
def test_patched_readme_overrides_the_folder_readme(api: httpx.Client) -> None:
    assert api.get("models/test/documented/readme").text == "# From the folder\n"
    patched = api.patch(
        "models/test/documented",
        json={"readme": "# Patched\n", "description": "Patched description"},
    )
    assert patched.status_code == 200
    assert patched.json()["description"] == "Patched description"
    assert patched.json()["latest_version"] is not None
    assert api.get("models/test/documented/readme").text == "# Patched\n"
    run = api.post(
        "models/test/documented/predictions",
        json={"input": {"text": "still runs"}},
        headers={"Prefer": "wait"},
    )
    assert run.json()["output"] == "hello still runs"


@pytest.mark.integration
def test_patch_errors_name_what_is_wrong(api: httpx.Client) -> None:
    _problem(api.patch("models/nobody/nothing", json={"description": "x"}), 404)
    detail = _problem(
        api.patch(
            "models/replicate/hello-world", json={"owner": "me", "visibility": "x"}
        ),
        422,
    )
    assert "Unknown field(s) owner, visibility" in detail
    assert "readme" in detail  # lists what may be changed
    detail = _problem(
        api.patch(
            "models/replicate/hello-world",
            json={"description": None, "readme": 3, "paper_url": "ok"},
        ),
        422,
    )
    assert detail.startswith("description, readme must be string(s)")
    _problem(api.patch("models/replicate/hello-world", json=["x"]), 400)
    _problem(
        api.patch(
            "models/replicate/hello-world",
            content=b"{",
            headers={"Content-Type": "application/json"},
        ),
        400,
    )
    # Nothing was applied by the rejected requests.
    hello = api.get("models/replicate/hello-world").json()
    assert hello["paper_url"] is None
    assert hello["description"].startswith("A tiny example model")


@pytest.mark.integration
def test_folder_model_edits_survive_restart(tmp_path: Path) -> None:
    models = [_folder_model(tmp_path)]
    data = tmp_path / "data"
    with (
        serve(models=models, bundled=False, data_dir=data) as first,
        httpx.Client(base_url=first.url + "/", timeout=60) as api,
    ):
        api.patch(
            "models/test/documented",
            json={"description": "Kept", "readme": "# Kept\n"},
        ).raise_for_status()
    with (
        serve(models=models, bundled=False, data_dir=data) as second,
        httpx.Client(base_url=second.url + "/", timeout=60) as api,
    ):
        # model.json's description is a default: it does not undo the PATCH.
        assert api.get("models/test/documented").json()["description"] == "Kept"
        assert api.get("models/test/documented/readme").text == "# Kept\n"
