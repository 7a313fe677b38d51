"""Deployments on the local backend over real HTTP on 127.0.0.1, driven with httpx.

The server runs hello-world, echo and ``test/twin``: one model with two versions
(two folders naming the same model), so a deployment can be pinned to the older
one and moved to the newer one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from _backend import BUNDLED, HELLO_VERSION, openapi_schema, wait_until

from replicate_widgets.server import serve

pytestmark = pytest.mark.integration


def twin_folders(root: Path) -> tuple[Path, Path]:
    """Two folders of the model test/twin: v1 says hello, v2 says hi."""
    folders = []
    for label, greeting in (("v1", "hello"), ("v2", "hi")):
        folder = root / f"twin-{label}"
        folder.mkdir()
        source = (BUNDLED / "hello-world" / "predict.py").read_text()
        (folder / "predict.py").write_text(
            source.replace('"hello " + text', f'"{greeting} " + text')
        )
        (folder / "model.json").write_text(
            json.dumps({"owner": "test", "name": "twin", "description": "Twins"})
        )
        (folder / "README.md").write_text(f"# Twin {label}\n")
        folders.append(folder)
    return folders[0], folders[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("deployments")
    v1, v2 = twin_folders(root)
    models = [BUNDLED / "hello-world", BUNDLED / "echo", v1, v2]
    with serve(port=0, models=models, bundled=False, data_dir=root / "data") as s:
        yield s


@pytest.fixture
def api(server):
    with httpx.Client(base_url=server.url + "/", timeout=90) as client:
        yield client


def _problem(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert "Traceback" not in response.text
    return str(body["detail"])


def _twin_versions(api: httpx.Client) -> tuple[str, str]:
    """(older, newer) version ids of test/twin."""
    versions = api.get("models/test/twin/versions").json()["results"]
    assert len(versions) == 2
    return versions[1]["id"], versions[0]["id"]


def _create(api: httpx.Client, **changes: Any) -> httpx.Response:
    body = {
        "name": "hello-app",
        "model": "replicate/hello-world",
        "version": HELLO_VERSION,
        "hardware": "cpu",
        "min_instances": 0,
        "max_instances": 2,
        **changes,
    }
    return api.post("deployments", json=body)


# ------------------------------------------------------------------- lifecycle
def test_deployment_lifecycle(api: httpx.Client) -> None:
    created = _create(api, name="lifecycle")
    assert created.status_code == 200, created.text
    doc = created.json()
    jsonschema.validate(doc, openapi_schema("schemas_deployment_response"))
    assert doc["owner"] == "local"
    assert doc["name"] == "lifecycle"
    release = doc["current_release"]
    assert release["number"] == 1
    assert release["model"] == "replicate/hello-world"
    assert release["version"] == HELLO_VERSION
    assert release["created_at"].endswith("Z")
    assert release["created_by"]["username"] == "local"
    assert release["created_by"]["type"] == "user"
    assert release["configuration"] == {
        "hardware": "cpu",
        "min_instances": 0,
        "max_instances": 2,
    }
    assert api.get("deployments/local/lifecycle").json() == doc
    listed = api.get("deployments").json()
    assert listed["next"] is None
    assert doc in listed["results"]

    run = api.post(
        "deployments/local/lifecycle/predictions",
        json={"input": {"text": "deployed"}},
        headers={"Prefer": "wait"},
    )
    assert run.status_code == 201, run.text
    prediction = run.json()
    assert prediction["status"] == "succeeded"
    assert prediction["output"] == "hello deployed"
    assert prediction["deployment"] == "local/lifecycle"
    assert prediction["model"] == "replicate/hello-world"
    assert prediction["version"] == HELLO_VERSION
    assert run.headers["location"] == prediction["urls"]["get"]
    again = api.get(f"predictions/{prediction['id']}").json()
    assert again["deployment"] == "local/lifecycle"

    updated = api.patch("deployments/local/lifecycle", json={"max_instances": 5})
    assert updated.status_code == 200, updated.text
    second = updated.json()["current_release"]
    assert second["number"] == 2
    assert second["configuration"]["max_instances"] == 5
    assert second["configuration"]["min_instances"] == 0
    assert second["version"] == HELLO_VERSION
    jsonschema.validate(updated.json(), openapi_schema("schemas_deployment_response"))
    third = api.patch(
        "deployments/local/lifecycle", json={"min_instances": 1, "hardware": "cpu"}
    ).json()["current_release"]
    assert third["number"] == 3
    assert third["configuration"] == {
        "hardware": "cpu",
        "min_instances": 1,
        "max_instances": 5,
    }

    deleted = api.delete("deployments/local/lifecycle")
    assert deleted.status_code == 204
    assert deleted.content == b""
    _problem(api.get("deployments/local/lifecycle"), 404)
    assert doc["name"] not in [
        d["name"] for d in api.get("deployments").json()["results"]
    ]


def test_deployment_runs_its_pinned_version_until_updated(api: httpx.Client) -> None:
    older, newer = _twin_versions(api)
    pinned = _create(api, name="twin-app", model="test/twin", version=older)
    assert pinned.status_code == 200, pinned.text
    # The model's latest version says "hi"; the deployment still runs the older one.
    assert (
        api.post(
            "models/test/twin/predictions",
            json={"input": {"text": "a"}},
            headers={"Prefer": "wait"},
        ).json()["output"]
        == "hi a"
    )
    first = api.post(
        "deployments/local/twin-app/predictions",
        json={"input": {"text": "b"}},
        headers={"Prefer": "wait"},
    ).json()
    assert first["output"] == "hello b"
    assert first["version"] == older

    moved = api.patch("deployments/local/twin-app", json={"version": newer}).json()
    assert moved["current_release"]["number"] == 2
    assert moved["current_release"]["version"] == newer
    # Without Prefer: wait the answer comes at once; the result is read back.
    started = api.post(
        "deployments/local/twin-app/predictions", json={"input": {"text": "c"}}
    )
    assert started.status_code == 201
    done = wait_until(api, started.json()["urls"]["get"])
    assert done["output"] == "hi c"
    assert done["deployment"] == "local/twin-app"
    api.delete("deployments/local/twin-app")


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"name": "Bad Name"}, "not a valid deployment name"),
        ({"name": "local/x"}, "not a valid deployment name"),
        ({"name": 5}, "not a valid deployment name"),
        ({"model": "nobody/nothing"}, "not a model on this server"),
        ({"model": "no-slash"}, "not a model on this server"),
        ({"version": "0" * 64}, "is not a version of replicate/hello-world"),
        ({"version": 7}, "is not a version of replicate/hello-world"),
        ({"hardware": "gpu-t4"}, "hardware 'gpu-t4' is not available"),
        ({"min_instances": 6}, "min_instances is 6; it must be from 0 to 5"),
        ({"max_instances": 21}, "max_instances is 21; it must be from 0 to 20"),
        ({"min_instances": -1}, "min_instances is -1"),
        ({"max_instances": True}, "max_instances must be a whole number"),
        ({"max_instances": "2"}, "max_instances must be a whole number"),
        ({"min_instances": 2, "max_instances": 1}, "cannot exceed max_instances"),
        ({"owner": "local"}, "Unknown field(s) owner"),
    ],
)
def test_create_rejects_bad_fields_with_422(
    api: httpx.Client, change: dict[str, Any], needle: str
) -> None:
    assert needle in _problem(_create(api, **{"name": "bad", **change}), 422)
    _problem(api.get("deployments/local/bad"), 404)


def test_create_version_of_another_model_and_missing_fields(api: httpx.Client) -> None:
    echo = api.get("models/demo/echo").json()["latest_version"]["id"]
    detail = _problem(_create(api, name="mixed", version=echo), 422)
    assert "GET /v1/models/replicate/hello-world/versions" in detail
    detail = _problem(api.post("deployments", json={"name": "half"}), 422)
    assert "Missing field(s) model, version, hardware" in detail
    _problem(api.post("deployments", json=[1]), 400)
    _problem(
        api.post(
            "deployments",
            content=b"{nope",
            headers={"Content-Type": "application/json"},
        ),
        400,
    )


def test_duplicate_name_is_409(api: httpx.Client) -> None:
    assert _create(api, name="twice").status_code == 200
    detail = _problem(_create(api, name="twice"), 409)
    assert "PATCH /v1/deployments/local/twice" in detail
    api.delete("deployments/local/twice")


def test_update_and_delete_errors(api: httpx.Client) -> None:
    _problem(api.patch("deployments/local/ghost", json={"max_instances": 1}), 404)
    _problem(api.delete("deployments/local/ghost"), 404)
    _problem(api.get("deployments/someone/else"), 404)
    assert _create(api, name="patchy", max_instances=1).status_code == 200
    assert "Nothing to change" in _problem(
        api.patch("deployments/local/patchy", json={}), 422
    )
    assert "Unknown field(s) model, name" in _problem(
        api.patch("deployments/local/patchy", json={"name": "x", "model": "a/b"}), 422
    )
    echo = api.get("models/demo/echo").json()["latest_version"]["id"]
    assert "is not a version of replicate/hello-world" in _problem(
        api.patch("deployments/local/patchy", json={"version": echo}), 422
    )
    # Checked against the current configuration: max_instances is 1.
    assert "min_instances (2) cannot exceed max_instances (1)" in _problem(
        api.patch("deployments/local/patchy", json={"min_instances": 2}), 422
    )
    _problem(api.patch("deployments/local/patchy", json={"hardware": "gpu"}), 422)
    _problem(api.patch("deployments/local/patchy", json="max"), 400)
    # A rejected update makes no release.
    assert api.get("deployments/local/patchy").json()["current_release"]["number"] == 1
    api.delete("deployments/local/patchy")


def test_prediction_errors(api: httpx.Client) -> None:
    _problem(api.post("deployments/local/ghost/predictions", json={"input": {}}), 404)
    assert _create(api, name="runner").status_code == 200
    url = "deployments/local/runner/predictions"
    detail = _problem(
        api.post(url, json={"version": HELLO_VERSION, "input": {"text": "x"}}), 422
    )
    assert "version" in detail
    invalid = api.post(url, json={"input": {"text": 5}})
    assert "text" in _problem(invalid, 422)
    assert invalid.json()["invalid_fields"]
    _problem(
        api.post(url, json={"input": {"text": "x"}}, headers={"Prefer": "wait=0"}), 400
    )
    _problem(api.post(url, json=["x"]), 400)
    api.delete("deployments/local/runner")


# --------------------------------------------------------------------- restart
def test_deployments_survive_restart_and_explain_a_deleted_version(
    tmp_path: Path,
) -> None:
    v1, v2 = twin_folders(tmp_path)
    models = [BUNDLED / "hello-world", v1, v2]
    data = tmp_path / "data"
    with (
        serve(models=models, bundled=False, data_dir=data) as first,
        httpx.Client(base_url=first.url + "/", timeout=60) as api,
    ):
        older, _newer = _twin_versions(api)
        assert _create(api, name="kept").status_code == 200
        kept = api.patch("deployments/local/kept", json={"max_instances": 4}).json()
        assert (
            _create(api, name="twin", model="test/twin", version=older).status_code
            == 200
        )
    with (
        serve(models=models, bundled=False, data_dir=data) as second,
        httpx.Client(base_url=second.url + "/", timeout=60) as api,
    ):
        assert api.get("deployments/local/kept").json() == kept
        names = [d["name"] for d in api.get("deployments").json()["results"]]
        assert names == ["twin", "kept"]  # newest first
        run = api.post(
            "deployments/local/kept/predictions",
            json={"input": {"text": "again"}},
            headers={"Prefer": "wait"},
        ).json()
        assert run["output"] == "hello again"
        again = api.patch("deployments/local/kept", json={"min_instances": 1})
        assert again.json()["current_release"]["number"] == 3

        assert api.delete(f"models/test/twin/versions/{older}").status_code == 202
        detail = _problem(
            api.post("deployments/local/twin/predictions", json={"input": {}}), 409
        )
        assert "PATCH /v1/deployments/local/twin" in detail
