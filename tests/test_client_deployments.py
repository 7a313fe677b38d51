"""Request and response shapes of models.update, search and deployments (MockTransport).

Response bodies are the OpenAPI document's own examples (``deployment.json``,
``search.json``) and the recorded ``model.json``; see fixtures/responses/PROVENANCE.md.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from _client_support import (
    FAST,
    TOKEN,
    Recorder,
    json_body,
    load,
    make,
)

import replicate_widgets as rw
from replicate_widgets._client.async_client import AsyncClient
from replicate_widgets._client.errors import APIError
from replicate_widgets._client.types import Account, Model, Page
from replicate_widgets._client.types_deployments import (
    Deployment,
    DeploymentConfiguration,
    DeploymentRelease,
)
from replicate_widgets._client.types_search import (
    SearchCollection,
    SearchModel,
    SearchPage,
    SearchResults,
)

pytestmark = pytest.mark.usefixtures("clean_client_env")

VERSION = "da77bc59ee60423279fd632efb4795ab731d9e3ca9705ef3341091fb989b7eaf"
DEPLOYMENT = "acme/my-app-image-generator"


def page_of(*items: Any) -> dict[str, Any]:
    return {"next": None, "previous": None, "results": list(items)}


# -- models.update ------------------------------------------------------------------


def test_models_update_sends_only_the_given_fields():
    updated = dict(load("model"), description="Detect hot dogs")
    client, rec = make({"PATCH /models/stability-ai/sdxl": [(200, updated)]})
    model = client.models.update(
        "stability-ai/sdxl", description="Detect hot dogs", readme="# Hot dogs\n"
    )
    assert isinstance(model, Model)
    assert model.description == "Detect hot dogs"
    assert rec.last.method == "PATCH"
    assert rec.last.headers["content-type"] == "application/json"
    assert json_body(rec.last) == {
        "description": "Detect hot dogs",
        "readme": "# Hot dogs\n",
    }
    client.models.update(
        "stability-ai/sdxl",
        github_url="https://github.com/a/b",
        paper_url="https://arxiv.org/abs/1",
        license_url="https://choosealicense.com/licenses/mit/",
        weights_url="https://huggingface.co/a/b",
    )
    assert set(json_body(rec.last)) == {
        "github_url",
        "paper_url",
        "license_url",
        "weights_url",
    }


def test_models_update_checks_before_any_request():
    client, rec = make({})
    with pytest.raises(ValueError, match=r"Nothing to update.*description"):
        client.models.update("stability-ai/sdxl")
    with pytest.raises(TypeError, match="description must be a string"):
        client.models.update("stability-ai/sdxl", description=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Drop the ':version' part"):
        client.models.update(f"stability-ai/sdxl:{VERSION}", description="x")
    assert rec.requests == []


# -- search -------------------------------------------------------------------------


def test_search_query_limit_and_typed_results():
    body = load("search")
    client, rec = make({"GET /search": [(200, body)]})
    found = client.search("nano banana", limit=10)
    assert rec.last.url.params["query"] == "nano banana"
    assert rec.last.url.params["limit"] == "10"
    assert isinstance(found, SearchResults)
    assert found.query == "nano banana"
    hit = found.models[0]
    assert isinstance(hit, SearchModel)
    assert isinstance(hit.model, Model)
    assert hit.model.ref == "google/nano-banana"
    assert hit.metadata.score == pytest.approx(1.3847375700706976)
    assert "image-editing" in hit.metadata.tags
    assert hit.metadata.generated_description
    collection = found.collections[0]
    assert isinstance(collection, SearchCollection)
    assert collection.slug == "image-editing"
    assert "google/nano-banana" in collection.models
    assert found.pages == [
        SearchPage(name="Getting started with image editing", href=found.pages[0].href)
    ]
    assert found.raw == body
    client.search("upscale")
    assert "limit" not in rec.last.url.params


def test_search_keeps_unknown_fields_at_every_level():
    body = load("search")
    body["took_ms"] = 12
    body["models"][0]["metadata"]["downloads"] = 5
    body["collections"][0]["models"] = None
    client, _rec = make({"GET /search": [(200, body)]})
    found = client.search("x")
    assert found.extra == {"took_ms": 12}
    assert found.models[0].metadata.extra == {"downloads": 5}
    assert found.collections[0].models == []


def test_search_body_that_is_not_search_results_is_explained():
    client, _rec = make({"GET /search": [(200, {"query": "x", "models": [1]})]})
    with pytest.raises(APIError, match="cannot read"):
        client.search("x")


@pytest.mark.parametrize(
    ("query", "limit", "match"),
    [
        ("", None, "non-empty"),
        ("   ", None, "non-empty"),
        ("x", 0, "1 to 50"),
        ("x", 51, "1 to 50"),
        ("x", True, "1 to 50"),
        ("x", 2.5, "1 to 50"),
    ],
)
def test_search_arguments_fail_before_any_request(query, limit, match):
    client, rec = make({})
    with pytest.raises(ValueError, match=match):
        client.search(query, limit=limit)
    assert rec.requests == []


# -- deployments --------------------------------------------------------------------


def test_deployment_type_mirrors_the_json():
    body = load("deployment")
    deployment = Deployment.from_json(body)
    assert deployment.ref == DEPLOYMENT
    release = deployment.current_release
    assert isinstance(release, DeploymentRelease)
    assert release.number == 1
    assert release.model == "stability-ai/sdxl"
    assert release.version == VERSION
    assert isinstance(release.created_by, Account)
    assert release.created_by.username == "acme"
    assert release.created_by.type == "organization"
    assert release.configuration == DeploymentConfiguration(
        hardware="gpu-t4", min_instances=1, max_instances=5
    )
    assert deployment.raw == body
    body["current_release"]["configuration"]["gpus"] = 2
    assert Deployment.from_json(body).current_release.configuration.extra == {"gpus": 2}
    assert Deployment.from_json({"owner": "a", "name": "b"}).current_release is None


def test_deployments_list_get_create_update_delete():
    body = load("deployment")
    second = dict(body, current_release=dict(body["current_release"], number=2))
    client, rec = make(
        {
            "GET /deployments": [(200, page_of(body))],
            "POST /deployments": [(200, body)],
            f"GET /deployments/{DEPLOYMENT}": [(200, body)],
            f"PATCH /deployments/{DEPLOYMENT}": [(200, second)],
            f"DELETE /deployments/{DEPLOYMENT}": [httpx.Response(204)],
        }
    )
    listed = client.deployments.list()
    assert isinstance(listed, Page)
    assert listed.results[0].ref == DEPLOYMENT
    assert client.deployments.get(DEPLOYMENT).current_release.number == 1
    assert rec.last.method == "GET"

    created = client.deployments.create(
        name="my-app-image-generator",
        model="stability-ai/sdxl",
        version=VERSION,
        hardware="gpu-t4",
        min_instances=0,
        max_instances=3,
    )
    assert created.ref == DEPLOYMENT
    assert rec.last.method == "POST"
    assert json_body(rec.last) == {
        "name": "my-app-image-generator",
        "model": "stability-ai/sdxl",
        "version": VERSION,
        "hardware": "gpu-t4",
        "min_instances": 0,
        "max_instances": 3,
    }

    updated = client.deployments.update(DEPLOYMENT, min_instances=3, max_instances=10)
    assert updated.current_release.number == 2
    assert rec.last.method == "PATCH"
    assert json_body(rec.last) == {"min_instances": 3, "max_instances": 10}
    client.deployments.update(DEPLOYMENT, version=VERSION)
    assert json_body(rec.last) == {"version": VERSION}

    assert client.deployments.delete(DEPLOYMENT) is None
    assert rec.last.method == "DELETE"
    assert rec.last.url.path == f"/v1/deployments/{DEPLOYMENT}"


def test_deployment_predictions_still_route_to_the_deployment():
    client, rec = make(
        {
            f"POST /deployments/{DEPLOYMENT}/predictions": [
                (201, load("prediction-starting"))
            ]
        }
    )
    client.deployments.predictions.create(DEPLOYMENT, {"x": 1}, wait=5)
    assert json_body(rec.last) == {"input": {"x": 1}}
    assert rec.last.headers["prefer"] == "wait=5"
    client.predictions.create(deployment=DEPLOYMENT, input={"x": 2})
    assert json_body(rec.last) == {"input": {"x": 2}}


GOOD = {
    "name": "app",
    "model": "acme/model",
    "version": VERSION,
    "hardware": "cpu",
    "min_instances": 0,
    "max_instances": 1,
}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"name": "acme/app"}, "Pass the name alone"),
        ({"name": "Has Space"}, "not a deployment name"),
        ({"model": "no-slash"}, "owner/name"),
        ({"version": "abc"}, "64-character version id"),
        ({"version": f"acme/model:{VERSION}"}, "64-character version id"),
        ({"hardware": ""}, "hardware must be a SKU"),
        ({"min_instances": -1}, "min_instances must be a whole number"),
        ({"max_instances": 1.5}, "max_instances must be a whole number"),
        ({"max_instances": True}, "max_instances must be a whole number"),
        ({"min_instances": None}, "min_instances is required"),
        ({"min_instances": 3, "max_instances": 2}, "cannot exceed"),
    ],
)
def test_deployment_create_checks_before_any_request(change, match):
    client, rec = make({})
    with pytest.raises(ValueError, match=match):
        client.deployments.create(**{**GOOD, **change})
    assert rec.requests == []


@pytest.mark.parametrize(
    ("ref", "changes", "match"),
    [
        (DEPLOYMENT, {}, "Nothing to update"),
        (DEPLOYMENT, {"version": "v1"}, "64-character version id"),
        (DEPLOYMENT, {"min_instances": 4, "max_instances": 1}, "cannot exceed"),
        (DEPLOYMENT, {"hardware": ""}, "hardware must be a SKU"),
        ("just-a-name", {"max_instances": 1}, "deployment reference"),
    ],
)
def test_deployment_update_and_ref_checks_before_any_request(ref, changes, match):
    client, rec = make({})
    with pytest.raises(ValueError, match=match):
        client.deployments.update(ref, **changes)
    with pytest.raises(ValueError, match="deployment reference"):
        client.deployments.get("a/b/c")
    assert rec.requests == []


def test_async_client_has_the_same_new_calls():
    body = load("deployment")
    rec = Recorder(
        {
            "GET /deployments": [(200, page_of(body))],
            f"PATCH /deployments/{DEPLOYMENT}": [(200, body)],
            f"DELETE /deployments/{DEPLOYMENT}": [httpx.Response(204)],
            "PATCH /models/stability-ai/sdxl": [(200, load("model"))],
            "GET /search": [(200, load("search"))],
        }
    )

    async def main() -> None:
        async with AsyncClient(
            api_token=TOKEN, transport=httpx.MockTransport(rec), retry=FAST
        ) as client:
            page = await client.deployments.list()
            assert [d.ref async for d in page] == [DEPLOYMENT]
            await client.deployments.update(DEPLOYMENT, hardware="cpu")
            assert json_body(rec.last) == {"hardware": "cpu"}
            assert await client.deployments.delete(DEPLOYMENT) is None
            model = await client.models.update("stability-ai/sdxl", readme="# R")
            assert model.ref == "stability-ai/sdxl"
            assert json_body(rec.last) == {"readme": "# R"}
            found = await client.search("nano banana", limit=1)
            assert found.models[0].model.name == "nano-banana"
            with pytest.raises(ValueError, match="Nothing to update"):
                await client.deployments.update(DEPLOYMENT)

    asyncio.run(main())
    assert [r.method for r in rec.requests] == [
        "GET",
        "PATCH",
        "DELETE",
        "PATCH",
        "GET",
    ]


def test_new_types_are_exported():
    assert rw.Deployment is Deployment
    assert rw.SearchResults is SearchResults
    assert {"Deployment", "SearchResults"} <= set(rw.__all__)
    assert rw.__all__ == sorted(rw.__all__)
