"""This package's own ``Client`` against the local backend."""

from __future__ import annotations

import time

import pytest

from replicate_widgets._client import Client
from replicate_widgets._errors import ModelError

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
