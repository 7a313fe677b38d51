"""CreateModel: name/URL rules (pure) and the widget against the real local backend."""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from replicate_widgets._client.client import Client
from replicate_widgets._widgets.catalog.create_model import CreateModel
from replicate_widgets._widgets.catalog.names import (
    check_model_name,
    check_url,
    suggest_name,
)
from replicate_widgets.server import LocalServer, serve

BUNDLED = Path(__file__).parents[1] / "replicate_widgets" / "server" / "models"
TOKEN = "r8_create_model_test_token_do_not_show"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    data = tmp_path_factory.mktemp("create-model")
    models = [BUNDLED / "hello-world"]
    with serve(port=0, models=models, bundled=False, data_dir=data, token=TOKEN) as s:
        yield s


@pytest.fixture
def client(server: LocalServer) -> Iterator[Client]:
    with Client(api_token=TOKEN, base_url=server.url) as c:
        yield c


def unique(prefix: str = "m") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def all_text(form: CreateModel) -> str:
    return "\n".join([form.message, form.summary, *form.notes.values()])


def typed(form: CreateModel, **values: str) -> None:
    """Change fields as the view does when a person types: the synced entries."""
    form.entries = {**form.entries, **values}


# -- the rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["hot-dog-detector", "a", "model_2", "v1.5", "x9", "0-start-digit"]
)
def test_valid_names_pass(name: str) -> None:
    assert check_model_name(name) is None


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("", "required"),
        ("Hot-Dog", "lowercase. Try 'hot-dog'"),
        ("-dash-first", "start and end with a letter or a digit. Try 'dash-first'"),
        ("ends.", "start and end"),
        ("my model", "remove ' '. Try 'my-model'"),
        ("caf\u00e9!x", "remove"),
    ],
)
def test_invalid_names_say_what_to_change(name: str, needle: str) -> None:
    message = check_model_name(name)
    assert message is not None
    assert needle in message


def test_owner_wording() -> None:
    assert check_model_name("", "owner") == "The owner is required."


def test_suggest_name_makes_a_valid_name() -> None:
    assert suggest_name("  My Great Model!! ") == "my-great-model"
    assert check_model_name(suggest_name("__Weird__ Name__")) is None
    assert suggest_name("!!!") == ""


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("", True),
        ("https://github.com/a/b", True),
        ("http://example.com/paper.pdf", True),
        ("ftp://example.com/x", False),
        ("javascript:alert(1)", False),
        ("github.com/a/b", False),
        ("https://", False),
    ],
)
def test_urls_must_be_http(url: str, ok: bool) -> None:
    assert (check_url(url) is None) is ok


# -- the widget ----------------------------------------------------------------------


def test_loads_hardware_and_owner_from_the_backend(client: Client) -> None:
    form = CreateModel(client=client)
    form.ready.result(30)
    assert form.hardware == ["cpu"]
    assert form.values["hardware"] == "cpu"
    assert form.values["owner"] == "local"  # GET /account on the local backend


def test_creates_the_model_and_shows_it(client: Client) -> None:
    form = CreateModel(client=client)
    form.ready.result(30)
    name = unique()
    model = form.create(
        name=name,
        description="Detects <b>hot dogs</b>",
        visibility="public",
        github_url="https://github.com/alice/hot-dog",
        license_url="https://example.com/licence",
    )
    assert model.ref == f"local/{name}"
    assert form.model == model
    stored = client.models.get(f"local/{name}")
    assert stored.description == "Detects <b>hot dogs</b>"
    assert stored.visibility == "public"
    assert stored.github_url == "https://github.com/alice/hot-dog"
    assert f"local/{name}" in form.summary
    assert "&lt;b&gt;hot dogs&lt;/b&gt;" in form.summary  # escaped, not markup
    assert 'href="https://github.com/alice/hot-dog"' in form.summary
    assert "Created" in form.message


def test_invalid_values_never_reach_the_backend(client: Client) -> None:
    form = CreateModel(client=client)
    form.ready.result(30)
    form.set(name="My Model", paper_url="arxiv.org/abs/1")
    job = form.submit()
    with pytest.raises(ValueError, match="lowercase"):
        job.result(5)
    assert "Try 'my-model'" in html.unescape(form.notes["name"])
    assert "'" not in form.notes["name"]  # escaped
    assert "https://" in form.notes["paper_url"]
    assert "Fix the fields" in form.message
    names = {m.name.lower() for m in client.models.list()}
    assert "my model" not in names
    assert "my-model" not in names


def test_notes_appear_only_for_fields_touched(client: Client) -> None:
    form = CreateModel(client=client)
    form.ready.result(30)
    assert form.errors["name"] == "The name is required."
    assert form.notes["name"] == ""  # not shouted at before typing
    typed(form, name="Bad Name")
    assert "lowercase" in form.notes["name"]
    typed(form, name="good-name")
    assert form.notes["name"] == ""


def test_duplicate_name_says_what_to_do(client: Client) -> None:
    name = unique()
    client.models.create("local", name, visibility="private", hardware="cpu")
    form = CreateModel(client=client, name=name)
    form.ready.result(30)
    with pytest.raises(Exception, match="already exists"):
        form.submit().result(30)
    assert "Pick another name" in form.message
    assert TOKEN not in all_text(form)


def test_hardware_the_backend_lacks_is_refused_before_sending(client: Client) -> None:
    form = CreateModel(client=client, name=unique(), hardware="gpu-a100-large")
    form.ready.result(30)
    assert "not offered by this backend" in form.errors["hardware"]
    with pytest.raises(ValueError, match="cpu"):
        form.submit().result(5)


def test_unknown_field_and_visibility_are_refused(client: Client) -> None:
    form = CreateModel(client=client)
    form.ready.result(30)
    with pytest.raises(TypeError, match="no field 'title'"):
        form.set(title="x")
    with pytest.raises(ValueError, match="public' or 'private"):
        form.set(visibility="secret")


def test_a_wrong_token_is_explained_without_leaking_it(server: LocalServer) -> None:
    bad = "r8_wrong_token_value_never_printed"
    with Client(api_token=bad, base_url=server.url) as wrong:
        form = CreateModel(client=wrong, owner="local", name=unique())
        form.ready.result(30)
        assert "hardware list" in form.message
        with pytest.raises(ValueError, match="Pick the hardware"):
            form.submit().result(5)
        assert bad not in all_text(form)
        assert bad not in repr(form)


def test_a_bad_backend_is_shown_not_raised() -> None:
    form = CreateModel(backend="ftp://nowhere")
    assert "not understood" in form.message
    assert form.disabled


# -- the view ------------------------------------------------------------------------


def test_what_the_view_sends_is_checked(client: Client) -> None:
    import traitlets

    form = CreateModel(client=client)
    form.ready.result(30)
    before = dict(form.entries)
    for bad in (
        {**before, "title": "x"},  # no such field
        {**before, "name": 3},  # not text
        {**before, "description": "x" * 100_000},  # far too long
        ["name", "x"],  # not a dict
    ):
        with pytest.raises(traitlets.TraitError):
            form.entries = bad  # type: ignore[assignment]
    assert form.entries == before
    # An action the view does not have is ignored; a known one with junk is harmless.
    form._on_composite_message(form, {"kind": "action", "name": "drop_all"}, [])
    assert form.model is None


def test_the_create_button_creates(client: Client) -> None:
    form = CreateModel(client=client)
    form.ready.result(30)
    name = unique()
    typed(form, name=name, visibility="public")
    form._actions["create"](None)  # the view's Create button
    assert form._job is not None
    model = form._job.result(30)
    assert model.ref == f"local/{name}"
    assert model.visibility == "public"
    assert not form.disabled


def test_no_ipywidgets_core_widget(client: Client) -> None:
    import anywidget
    import ipywidgets

    import replicate_widgets._widgets.catalog.create_model as _create_model

    form = CreateModel(client=client)
    form.ready.result(30)
    assert isinstance(form, anywidget.AnyWidget)
    assert form.own_parts() == []
    # The module itself builds no Button, HTML, Text, Dropdown, VBox ...
    assert not hasattr(_create_model, "ipywidgets")
    assert not isinstance(form, ipywidgets.Box)
