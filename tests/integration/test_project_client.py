"""This package's own ``Client`` against the local backend."""

from __future__ import annotations

import time

import pytest

from replicate_widgets._client.client import Client
from replicate_widgets._client.errors import (
    APIError,
    InvalidInputError,
    ModelError,
    NotFoundError,
)

pytestmark = pytest.mark.integration
HELLO = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"


@pytest.fixture
def client(backend):
    with Client(base_url=backend.url, poll_interval=0.05) as c:
        yield c


def test_models_versions_and_predictions(client: Client) -> None:
    model = client.models.get("replicate/hello-world")
    assert model.latest_version is not None
    assert model.latest_version["id"] == HELLO
    assert client.versions.get("replicate/hello-world", HELLO).id == HELLO
    created = client.predictions.create(HELLO, {"text": "Client"}, wait=True)
    done = client.predictions.wait(created)
    assert done.status == "succeeded"
    assert done.output == "hello Client"
    assert client.predictions.get(done.id).output == "hello Client"
    assert done.id in [p.id for p in client.predictions.list().results]

    slow = client.predictions.create("demo/echo", {"text": "s", "delay": 60})
    while client.predictions.get(slow).status == "starting":
        time.sleep(0.05)
    client.predictions.cancel(slow)
    assert client.predictions.wait(slow).status == "canceled"


def test_run_stream_and_files(client: Client) -> None:
    assert client.run(f"replicate/hello-world:{HELLO}", {"text": "r"}) == "hello r"
    events = list(
        client.stream(
            "demo/text-stream",
            {"prompt": "Alice", "max_tokens": 7, "seed": 4, "delay": 0.01},
        )
    )
    assert [e.event for e in events].count("output") == 7
    assert events[-1].event == "done"
    uploaded = client.files.create(
        b"PROJECT", filename="p.txt", content_type="text/plain"
    )
    assert client.files.get(uploaded.id).id == uploaded.id
    outputs = client.run("test/kitchen", {"document": uploaded.urls["get"], "count": 1})
    assert client.read(outputs[0]).data == b"0:hi:PROJECT"
    client.files.delete(uploaded)
    with pytest.raises(ModelError):
        client.run("demo/echo", {"fail": True})


def test_trainings(client: Client) -> None:
    client.models.create("carol", "chain", visibility="private", hardware="cpu")
    base = client.models.get("demo/text-stream").latest_version["id"]
    training = client.trainings.create(
        f"demo/text-stream:{base}",
        destination="carol/chain",
        input={"training_text": "one two three " * 40, "order": 1},
    )
    while not training.is_terminal:
        time.sleep(0.1)
        training = client.trainings.get(training)
    assert training.status == "succeeded", training.error
    new = client.models.get("carol/chain").latest_version["id"]
    words = client.run(
        f"carol/chain:{new}", {"prompt": "one", "max_tokens": 5, "seed": 1, "delay": 0}
    )
    assert set("".join(words).split()) <= {"one", "two", "three"}


def test_models_update_and_search(client: Client) -> None:
    client.models.create("dana", "journal", visibility="public", hardware="cpu")
    model = client.models.update(
        "dana/journal", description="A journal of runs", readme="# Journal\n"
    )
    assert model.ref == "dana/journal"
    assert model.description == "A journal of runs"
    assert client.models.readme("dana/journal") == "# Journal\n"
    assert client.models.get("dana/journal").description == "A journal of runs"
    with pytest.raises(NotFoundError):
        client.models.update("nobody/nothing", description="x")

    found = client.search("hello world", limit=5)
    assert found.query == "hello world"
    assert found.models[0].model.ref == "replicate/hello-world"
    assert found.models[0].metadata.score
    assert found.collections[0].slug == "local-models"
    assert found.pages == []
    assert [hit.model.ref for hit in client.search("journal").models] == [
        "dana/journal"
    ]


def test_deployments_lifecycle(client: Client) -> None:
    created = client.deployments.create(
        name="project-app",
        model="replicate/hello-world",
        version=HELLO,
        hardware="cpu",
        min_instances=0,
        max_instances=1,
    )
    assert created.ref == "local/project-app"
    assert created.current_release is not None
    assert created.current_release.number == 1
    assert created.current_release.configuration.hardware == "cpu"
    assert "local/project-app" in [d.ref for d in client.deployments.list()]

    ran = client.predictions.create(
        deployment="local/project-app", input={"text": "deployed"}, wait=True
    )
    assert ran.output == "hello deployed"
    assert ran.deployment == "local/project-app"
    again = client.deployments.predictions.create("local/project-app", {"text": "x"})
    assert client.predictions.wait(again).output == "hello x"

    updated = client.deployments.update("local/project-app", max_instances=3)
    assert updated.current_release is not None
    assert updated.current_release.number == 2
    assert updated.current_release.configuration.max_instances == 3
    assert client.deployments.get("local/project-app") == updated

    with pytest.raises(InvalidInputError, match="cannot exceed"):
        client.deployments.update("local/project-app", min_instances=4)
    with pytest.raises(APIError) as duplicate:
        client.deployments.create(
            name="project-app",
            model="replicate/hello-world",
            version=HELLO,
            hardware="cpu",
            min_instances=0,
            max_instances=1,
        )
    assert duplicate.value.status == 409
    client.deployments.delete("local/project-app")
    with pytest.raises(NotFoundError):
        client.deployments.get("local/project-app")
