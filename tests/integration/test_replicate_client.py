"""The official ``replicate`` client (1.0.7, unmodified) against the local backend.

It is given the server's URL as is (``.../v1``); see ``Gate`` in ``_app.py`` for
how its ``/v1/v1/...`` requests are served.
"""

from __future__ import annotations

import io
import time

import pytest
import replicate
from replicate.exceptions import ModelError, ReplicateError

pytestmark = pytest.mark.integration
HELLO = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"


@pytest.fixture
def client(backend):
    c = replicate.Client(api_token="x", base_url=backend.url)
    c.poll_interval = 0.05
    yield c
    # The client never closes its httpx pool; a pool left to the garbage
    # collector raises ResourceWarning (an error under filterwarnings=error).
    c._client.close()


def test_models_and_versions(client: replicate.Client) -> None:
    model = client.models.get("replicate/hello-world")
    assert model.owner == "replicate"
    assert model.latest_version.id == HELLO
    version = model.versions.get(HELLO)
    assert (
        "text" in version.openapi_schema["components"]["schemas"]["Input"]["properties"]
    )
    assert [v.id for v in model.versions.list()] == [HELLO]
    names = {m.name for m in client.models.list().results}
    assert {"hello-world", "echo"} <= names
    found = client.models.search("text-stream")
    assert [m.name for m in found.results] == ["text-stream"]
    assert client.hardware.list()[0].sku == "cpu"
    assert client.collections.get("local-models").slug == "local-models"
    assert client.accounts.current().username == "local"
    assert client.webhooks.default.secret().key.startswith("whsec_")


def test_predictions_create_get_list_cancel(client: replicate.Client) -> None:
    prediction = client.predictions.create(version=HELLO, input={"text": "Alice"})
    prediction.wait()
    assert prediction.status == "succeeded"
    assert prediction.output == "hello Alice"
    again = client.predictions.get(prediction.id)
    assert again.output == "hello Alice"
    assert again.metrics["predict_time"] >= 0
    assert prediction.id in [p.id for p in client.predictions.list().results]

    slow = client.models.predictions.create(
        model="demo/echo", input={"text": "s", "delay": 60}
    )
    while slow.status == "starting":
        time.sleep(0.05)
        slow.reload()
    slow.cancel()
    slow.wait()
    assert slow.status == "canceled"


def test_run_text_iterator_and_files(client: replicate.Client) -> None:
    assert (
        client.run(f"replicate/hello-world:{HELLO}", input={"text": "run"})
        == "hello run"
    )
    tokens = client.run(
        "demo/text-stream",
        input={"prompt": "Alice", "max_tokens": 6, "seed": 2, "delay": 0},
    )
    assert len(list(tokens)) == 6
    document = io.BytesIO(b"UPLOADED")
    document.name = "doc.txt"
    outputs = client.run("test/kitchen", input={"document": document, "count": 2})
    # 1.0.7 wraps only https: and data: URLs in FileOutput; local URLs are http.
    contents = [client._client.get(url).content for url in outputs]
    assert contents == [b"0:hi:UPLOADED", b"1:hi:UPLOADED"]


def test_stream(client: replicate.Client) -> None:
    events = list(
        client.stream(
            "demo/text-stream",
            input={"prompt": "Alice", "max_tokens": 8, "seed": 5, "delay": 0.02},
        )
    )
    kinds = [e.event.value for e in events]
    assert kinds.count("output") == 8
    assert kinds[-1] == "done"
    text = "".join(str(e) for e in events if e.event.value == "output")
    assert len(text.split()) >= 8


def test_files(client: replicate.Client) -> None:
    created = client.files.create(
        io.BytesIO(b"abc"),
        filename="a.txt",
        content_type="text/plain",
        metadata={"m": 1},
    )
    assert created.size == 3
    assert created.metadata == {"m": 1}
    assert client.files.get(created.id).checksums["sha256"]
    assert created.id in [f.id for f in client.files.list()]
    client.files.delete(created.id)
    with pytest.raises(ReplicateError) as info:
        client.files.get(created.id)
    assert info.value.status == 404


def test_trainings(client: replicate.Client) -> None:
    client.models.create(
        owner="bob", name="markov", visibility="private", hardware="cpu"
    )
    base = client.models.get("demo/text-stream").latest_version.id
    training = client.trainings.create(
        version=f"demo/text-stream:{base}",
        destination="bob/markov",
        input={"training_text": "red fish blue fish " * 30, "order": 1},
    )
    while training.status not in {"succeeded", "failed", "canceled"}:
        time.sleep(0.1)
        training.reload()
    assert training.status == "succeeded", training.error
    assert client.trainings.get(training.id).id == training.id
    new = client.models.get("bob/markov").latest_version.id
    assert training.output["version"] == f"bob/markov:{new}"
    assert training.destination == "bob/markov"
    words = client.run(
        f"bob/markov:{new}",
        input={"prompt": "fish", "max_tokens": 6, "seed": 1, "delay": 0},
    )
    assert set("".join(words).split()) <= {"red", "fish", "blue"}


def test_errors_surface_as_replicate_errors(client: replicate.Client) -> None:
    with pytest.raises(ReplicateError) as info:
        client.predictions.create(version=HELLO, input={"text": 1})
    assert info.value.status == 422
    assert "input.text" in info.value.detail
    with pytest.raises(ReplicateError) as missing:
        client.models.get("nobody/nothing")
    assert missing.value.status == 404
    with pytest.raises(ModelError) as failed:
        client.run("demo/echo", input={"fail": True})
    assert failed.value.prediction.error == "ValueError: failed on purpose (fail=true)"


def test_deployments(client: replicate.Client) -> None:
    # 1.0.7 has deployments but no models.update (PATCH /v1/models/...) or search.
    created = client.deployments.create(
        name="official-app",
        model="replicate/hello-world",
        version=HELLO,
        hardware="cpu",
        min_instances=0,
        max_instances=2,
    )
    assert created.id == "local/official-app"
    assert created.current_release.number == 1
    assert created.current_release.created_by.username == "local"
    assert created.current_release.configuration.max_instances == 2
    got = client.deployments.get("local/official-app")
    assert got.current_release.version == HELLO
    assert "official-app" in [d.name for d in client.deployments.list().results]

    prediction = got.predictions.create(input={"text": "official"}, wait=True)
    assert prediction.status == "succeeded"
    assert prediction.output == "hello official"
    other = client.deployments.predictions.create(
        "local/official-app", input={"text": "again"}
    )
    other.wait()
    assert other.output == "hello again"

    updated = client.deployments.update("local", "official-app", max_instances=4)
    assert updated.current_release.number == 2
    assert updated.current_release.configuration.max_instances == 4
    with pytest.raises(ReplicateError) as info:
        client.deployments.update("local", "official-app", hardware="gpu-a100")
    assert info.value.status == 422
    assert "gpu-a100" in info.value.detail
    assert client.deployments.delete("local", "official-app") is True
    with pytest.raises(ReplicateError) as gone:
        client.deployments.get("local/official-app")
    assert gone.value.status == 404
