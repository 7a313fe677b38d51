"""Secrets stay secret at any depth: stored, returned, streamed, quoted, kept, shown.

Issue #11, defect 5: ``list[Secret]`` inputs were stored and returned unmasked, and
the backend's 422 message quoted a secret's value. A Cog model with ``list[Secret]``,
``Optional[list[Secret]]`` and ``Optional[Secret]`` inputs runs on the real local
backend; hand-written schemas cover what Cog cannot declare (secrets inside objects,
behind ``$ref``, in maps).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import ipywidgets
import pytest

from replicate_widgets._client.client import Client
from replicate_widgets._client.errors import InvalidInputError
from replicate_widgets._client.types import Prediction
from replicate_widgets._schema.model_schema import parse
from replicate_widgets._secret_mask import SECRET_MASK
from replicate_widgets._widgets.history.entries import clean_inputs
from replicate_widgets._widgets.history.history import History
from replicate_widgets._widgets.keep import Keeper
from replicate_widgets._widgets.keep_files import mask_secrets
from replicate_widgets._widgets.playground.load import example_values
from replicate_widgets._widgets.playground.playground import Playground
from replicate_widgets.server import serve
from replicate_widgets.server._cog.models import load_model
from replicate_widgets.server._engine.inputs import InputSchema
from replicate_widgets.server._engine.runner import ModelRunner
from tests.server._backend import Receiver

pytestmark = pytest.mark.integration

# The model hashes what it received, so a test can tell it got the real values.
VAULT = """
import hashlib
from typing import Optional

from cog import BasePredictor, Input, Secret


def reveal(value):
    # coglet hands list[Secret] items over as plain strings, a lone Secret wrapped
    return value.get_secret_value() if isinstance(value, Secret) else value


class Predictor(BasePredictor):
    def predict(
        self,
        text: str = Input(default="hi"),
        keys: list[Secret] = Input(description="API keys"),
        backup: Optional[list[Secret]] = Input(default=None),
        token: Optional[Secret] = Input(default=None),
    ) -> str:
        values = [reveal(k) for k in keys] + [reveal(b) for b in backup or []]
        values += [reveal(token)] if token is not None else []
        print(f"got {len(values)} secrets")
        return hashlib.sha256("|".join(values).encode()).hexdigest()
"""

SECRETS = {
    "keys": ["sk-live-key-one-4f8a", "sk-live-key-two-9c1e"],
    "backup": ["sk-backup-7d2b"],
    "token": "sk-token-3e6f",
}
ALL = [*SECRETS["keys"], *SECRETS["backup"], SECRETS["token"]]
DIGEST = hashlib.sha256("|".join(ALL).encode()).hexdigest()
BAD = 918273645  # a wrong-typed secret: still never to be echoed


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "vault"
    folder.mkdir()
    (folder / "predict.py").write_text(textwrap.dedent(VAULT))
    return folder


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vault-data")


@pytest.fixture(scope="module")
def server(vault: Path, data_dir: Path) -> Iterator[Any]:
    with serve(port=0, models=[vault], bundled=False, data_dir=data_dir) as running:
        yield running


@pytest.fixture
def api(server: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/", timeout=90) as client:
        yield client


def assert_no_secret(text: str | bytes, where: str, secrets: list[str] = ALL) -> None:
    data = text.encode() if isinstance(text, str) else text
    for secret in secrets:
        assert secret.encode() not in data, f"{secret!r} leaked in {where}"


def wait_for(predicate: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# -- the backend ---------------------------------------------------------------------


def test_secrets_at_any_depth_never_leave_the_backend(
    api: httpx.Client, data_dir: Path
) -> None:
    receiver = Receiver()
    try:
        created = api.post(
            "models/local/vault/predictions",
            json={"input": {"text": "x", **SECRETS}, "webhook": receiver.url},
        )
        assert created.status_code == 201, created.text
        urls = created.json()["urls"]
        deadline = time.monotonic() + 90
        while api.get(urls["get"]).json()["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, "the prediction never finished"
            time.sleep(0.05)
        wait_for(
            lambda: any(b.get("status") == "succeeded" for b in receiver.bodies()),
            "the completed webhook",
        )
        webhooks = [body.decode() for _, body in receiver.calls]
    finally:
        receiver.close()
    got = api.get(urls["get"]).json()
    assert got["status"] == "succeeded", got
    assert got["output"] == DIGEST  # the model received every real value
    assert got["input"] == {
        "text": "x",
        "keys": [SECRET_MASK, SECRET_MASK],
        "backup": [SECRET_MASK],
        "token": SECRET_MASK,
    }
    seen = {
        "the POST response": created.text,
        "GET": api.get(urls["get"]).text,
        "the list": api.get("predictions").text,
        "the SSE stream": api.get(urls["stream"]).text,
        "the web page": api.get(urls["web"]).text,
        **{f"webhook {i}": body for i, body in enumerate(webhooks)},
    }
    for where, text in seen.items():
        assert_no_secret(text, where)
    stored = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" or "sqlite" in p.name for p in stored), stored
    for path in stored:  # the database, its journal and every stored file
        assert_no_secret(path.read_bytes(), str(path))


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"keys": "sk-lone-string-5a1"}, "input.keys"),
        ({"keys": ["sk-good-item-8b2", BAD]}, "input.keys.1"),
        ({"keys": ["sk-good-item-3c4"], "backup": ["sk-bad-list-6e7", BAD]}, None),
        ({"keys": ["sk-good-item-1f9"], "token": BAD}, "input.token"),
    ],
    ids=["wrong-shape", "wrong-item", "optional-list", "optional-secret"],
)
def test_422_never_quotes_a_secret(
    api: httpx.Client, server: Any, given: dict[str, Any], field: str | None
) -> None:
    answer = api.post("models/local/vault/predictions", json={"input": given})
    assert answer.status_code == 422, answer.text
    leaves = [v for v in json.dumps(given).split('"') if v.startswith("sk-")]
    assert_no_secret(answer.text, "the 422 answer", [*leaves, str(BAD)])
    invalid = answer.json()["invalid_fields"]
    assert invalid, answer.text
    fields = [f["field"] for f in invalid]
    assert all(f.startswith(field or "input.backup") for f in fields), fields
    # still useful: it says what the value must be
    assert all("secret" in f["description"] for f in invalid), invalid
    # the client's exception carries the same message
    with Client(base_url=server.url) as client, pytest.raises(InvalidInputError) as exc:
        client.predictions.create("local/vault", given)
    assert_no_secret(str(exc.value), "the client's error", [*leaves, str(BAD)])


def test_422_still_quotes_values_that_are_not_secret(api: httpx.Client) -> None:
    answer = api.post(
        "models/local/vault/predictions",
        json={"input": {"keys": ["sk-fine-2d4"], "text": 47}},
    )
    assert answer.status_code == 422
    assert answer.json()["invalid_fields"] == [
        {
            "type": "type",
            "field": "input.text",
            "description": "47 is not of type 'string'",
        }
    ]
    assert_no_secret(answer.text, "the 422 answer", ["sk-fine-2d4"])


def test_coglets_own_422_never_quotes_a_secret(vault: Path) -> None:
    # The runner sends what the engine already checked; called directly, coglet
    # checks and answers 422 itself, quoting the offending value.
    async def main() -> list[str]:
        runner = ModelRunner(load_model(vault))
        errors = []
        try:
            for n, given in enumerate(
                [
                    {"keys": ["sk-item-ok-2a7", BAD]},
                    {"keys": "sk-lone-string-0b3"},
                    {"keys": ["sk-item-ok-5d1"], "backup": ["sk-in-list-9e4", BAD]},
                    {"keys": ["sk-item-ok-7c3"], "text": 47},
                ]
            ):
                async for event in runner.run(f"p{n:025d}", given):
                    if event.kind == "completed":
                        assert event.data["status"] == "failed"
                        errors.append(event.data["error"])
        finally:
            await runner.close()
        return errors

    errors = asyncio.run(main())
    for error in errors:
        assert_no_secret(
            error,
            "coglet's 422",
            ["sk-item-ok", "sk-lone-string", "sk-in-list", str(BAD)],
        )
    assert errors[0].startswith("Invalid input: keys.1: ")
    assert errors[1].startswith("Invalid input: keys: ")
    assert errors[3] == 'Invalid input: text: 47 is not of type "string"'


# -- schemas Cog cannot declare: objects, $ref, maps ---------------------------------

KEY = "#/components/schemas/Key"
NESTED = {
    "components": {
        "schemas": {
            "Key": {"type": "string", "format": "password", "writeOnly": True},
            "Input": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "creds": {
                        "type": "object",
                        "properties": {
                            "user": {"type": "string"},
                            "key": {"$ref": KEY},
                        },
                    },
                    "accounts": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "token": {
                                    "type": "string",
                                    "x-cog-secret": True,
                                    "nullable": True,
                                },
                            },
                        },
                    },
                    "vault": {
                        "type": "object",
                        "additionalProperties": {"allOf": [{"$ref": KEY}]},
                    },
                    "maybe": {
                        "anyOf": [
                            {"type": "array", "items": {"x-cog-secret": True}},
                            {"type": "null"},
                        ]
                    },
                    "plain": {"type": "object"},
                },
            },
        }
    }
}
NESTED_INPUT = {
    "text": "hello",
    "creds": {"user": "ann", "key": "sk-nested-1"},
    "accounts": [{"name": "a", "token": "sk-nested-2"}, {"name": "b", "token": None}],
    "vault": {"github": "sk-nested-3", "pypi": "sk-nested-4"},
    "maybe": ["sk-nested-5"],
    "plain": {"key": "not a secret"},
}
NESTED_MASKED = {
    "text": "hello",
    "creds": {"user": "ann", "key": SECRET_MASK},
    "accounts": [{"name": "a", "token": SECRET_MASK}, {"name": "b", "token": None}],
    "vault": {"github": SECRET_MASK, "pypi": SECRET_MASK},
    "maybe": [SECRET_MASK],
    "plain": {"key": "not a secret"},
}
NESTED_SECRETS = [f"sk-nested-{i}" for i in range(1, 6)]


def test_the_backend_masks_secrets_inside_objects_refs_and_maps() -> None:
    schema = InputSchema(NESTED)
    assert schema.errors(NESTED_INPUT) == []
    assert schema.masked(NESTED_INPUT) == NESTED_MASKED
    assert schema.masked({**NESTED_INPUT, "maybe": None})["maybe"] is None
    wrong = {"creds": "sk-whole-1", "vault": {"x": BAD}, "accounts": [{"token": BAD}]}
    assert schema.masked(wrong)["creds"] == SECRET_MASK  # the wrong shape, masked whole
    errors = schema.errors(wrong)
    assert {e["field"] for e in errors} == {
        "input.creds",
        "input.vault.x",
        "input.accounts.0.token",
    }
    assert_no_secret(json.dumps(errors), "the 422 answer", ["sk-whole-1", str(BAD)])


def test_the_client_masks_secrets_inside_objects_refs_and_maps() -> None:
    schema = parse(NESTED)
    assert mask_secrets(NESTED_INPUT, schema) == NESTED_MASKED
    assert mask_secrets({"creds": "sk-whole-2"}, schema) == {"creds": SECRET_MASK}


def test_kept_records_mask_secrets_at_any_depth(tmp_path: Path) -> None:
    # what a backend that returns secrets would leave in a kept record
    prediction = Prediction.from_json(
        {"id": "nested1", "status": "succeeded", "input": NESTED_INPUT, "output": "ok"}
    )
    folder = Keeper(tmp_path).save(prediction, schema=parse(NESTED))
    assert folder is not None
    for path in folder.rglob("*"):
        assert_no_secret(path.read_bytes(), str(path), NESTED_SECRETS)
    assert json.loads((folder / "record.json").read_text())["input"] == NESTED_MASKED


def test_tweak_never_loads_an_input_with_a_mask_inside() -> None:
    # loading it back would send the mask as the secret
    assert clean_inputs(NESTED_MASKED) == {
        "text": "hello",
        "plain": {"key": "not a secret"},
    }


def test_a_default_example_never_fills_in_a_secret() -> None:
    example = {
        "text": "hi",
        "maybe": ["sk-example-1"],
        "creds": {"user": "ann", "key": SECRET_MASK},
    }
    assert example_values(example, parse(NESTED)) == {"text": "hi"}


# -- the widgets ---------------------------------------------------------------------


def widget_states(widget: Any) -> Iterator[str]:
    """The state every widget in the tree sends to the browser, as text."""
    state = widget.get_state()
    yield json.dumps(
        {k: v for k, v in state.items() if not isinstance(v, (bytes, memoryview))},
        default=str,
    )
    for child in getattr(widget, "children", ()):
        if isinstance(child, ipywidgets.Widget):
            yield from widget_states(child)
    for part in getattr(widget, "own_parts", list)():  # a Composite's parts
        yield from widget_states(part)


def test_kept_shared_copied_and_history_show_no_secret(
    server: Any, tmp_path: Path
) -> None:
    with Client(base_url=server.url) as client:
        keeper = Keeper(tmp_path / "kept")
        pg = Playground("local/vault", client=client, keep=keeper)
        done = pg.run(text="x", **SECRETS)
        assert done.output == DIGEST
        kept = list((tmp_path / "kept").rglob("*"))
        assert any(p.name == "record.json" for p in kept)
        for path in kept:
            if path.is_file():
                assert_no_secret(path.read_bytes(), str(path))
        assert_no_secret(pg.share()._repr_html_(), "the shared page")
        for language in ("python", "javascript", "curl"):
            assert_no_secret(pg.code(language), f"the {language} code")
        history = History(playground=pg, keeper=keeper)
        history.wait(30)
        history.show(done.id).wait(30)
        wait_for(lambda: history.detail_inputs, "the opened prediction")
        for text in widget_states(history):
            assert_no_secret(text, "History's widgets")
        assert history.entry(done.id).input["keys"] == [SECRET_MASK, SECRET_MASK]
        history.close()
        pg.close()
