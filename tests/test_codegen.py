"""Copy as code: snippets round-trip their values and never carry secrets.

The Python snippets are executed against the real local backend; the curl command is
run by bash against it too, and its JSON body is parsed back with ``shlex``.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import hmac
import io
import json
import math
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from replicate_widgets import Client, SchemaError, parse
from replicate_widgets._widgets.playground.codegen import insert_next_cell, snippets
from replicate_widgets._widgets.playground.codegen_values import env_var_for

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
SDXL = FIXTURES / "schemas" / "stability-ai__sdxl.json"
SECRET_SCHEMA = FIXTURES / "cog-golden" / "output_secret.json"
VERSION = "39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b"
REF = f"stability-ai/sdxl:{VERSION}"

TRICKY: dict[str, Any] = {
    "quotes": "it's a \"quoted\" 'word' `tick` $HOME $(rm -rf /)",
    "backslashes": "C:\\path\\to\\n not a newline \\' \\\"",
    "newlines": "line one\nline two\r\n\ttabbed\n",
    "unicode": "é ß 漢字 🎉 \u2028 \u200b \x7f end",
    "empty": "",
    "float_whole": 7.0,
    "float_small": 5e-324,
    "float_big": 1.7976931348623157e308,
    "negative_zero": -0.0,
    "big_int": 2**70,
    "negative_int": -(2**63),
    "none": None,
    "flags": [True, False],
    "nested": {"a": [1, 2.5, None, {"b": ["c", {"d": "e\nf"}]}], "": "empty key"},
    "many": list(range(40)),
    "words": [f"word {i} 'q'" for i in range(15)],
}


def curl_body(command: str) -> Any:
    """The JSON after ``-d`` of a curl snippet, as the shell would pass it."""
    args = shlex.split(command, comments=True)
    assert args[0] == "curl"
    return json.loads(args[args.index("-d") + 1])


def run_input(code: str) -> ast.Call:
    """The ``client.run(...)`` / ``replicate.run(...)`` call of a Python snippet."""
    tree = ast.parse(code)
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "run"
    ]
    assert len(calls) == 1
    return calls[0]


def python_input(code: str) -> Any:
    call = run_input(code)
    (keyword,) = [k for k in call.keywords if k.arg == "input"]
    return ast.literal_eval(keyword.value)


def same(a: Any, b: Any) -> bool:
    """Equal with JSON types kept: 7.0 is not 7, True is not 1, -0.0 is not 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def png(side: int = 32, color: tuple[int, int, int] = (200, 30, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (side, side), color).save(buf, format="PNG")
    return buf.getvalue()


# -- values round-trip ----------------------------------------------------------------


@pytest.mark.parametrize("name", list(TRICKY))
def test_curl_body_round_trips_each_tricky_value(name: str) -> None:
    inputs = {name: TRICKY[name]}
    body = curl_body(snippets("replicate/hello-world", inputs)["curl"])
    assert same(body, {"input": inputs})


def test_odd_input_names_round_trip(tmp_path: Path) -> None:
    inputs = {'say "hi"\n': 1, "with space": 2, "ünï": 3, "1st": 4, "$x": 5}
    out = snippets(REF, inputs)
    assert curl_body(out["curl"])["input"] == inputs
    assert python_input(out["python"]) == inputs
    if shutil.which("node"):
        script = tmp_path / "names.mjs"
        script.write_text(out["javascript"], encoding="utf-8")
        subprocess.run(["node", "--check", str(script)], check=True)


@pytest.mark.parametrize("flavour", ["python", "replicate"])
def test_python_literals_round_trip_all_tricky_values(flavour: str) -> None:
    code = snippets(REF, TRICKY)[flavour]
    compile(code, "<snippet>", "exec")
    assert same(python_input(code), TRICKY)
    assert run_input(code).args[0].value == REF  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / "schemas").glob("*.json")), ids=lambda p: p.stem
)
def test_every_real_schema_defaults_round_trip(path: Path) -> None:
    schema = parse(json.loads(path.read_text()))
    values = schema.defaults()
    expected = schema.to_input(values)
    out = snippets("owner/model:" + "0" * 64, values, schema)
    assert same(curl_body(out["curl"])["input"], expected)
    assert same(python_input(out["python"]), expected)
    assert same(python_input(out["replicate"]), expected)


def test_versioned_ref_posts_version_id_to_predictions() -> None:
    body = curl_body(snippets(REF, {"prompt": "a corgi"})["curl"])
    assert body == {"version": VERSION, "input": {"prompt": "a corgi"}}
    assert (
        snippets(REF, {})["curl"]
        .rstrip()
        .endswith("https://api.replicate.com/v1/predictions")
    )


def test_official_model_ref_posts_to_the_model_endpoint() -> None:
    curl = snippets("black-forest-labs/flux-schnell", {"prompt": "x"})["curl"]
    assert curl_body(curl) == {"input": {"prompt": "x"}}
    assert shlex.split(curl)[-1] == (
        "https://api.replicate.com/v1/models/black-forest-labs/flux-schnell/predictions"
    )


def test_long_lists_wrap_but_keep_every_item() -> None:
    code = snippets(REF, {"many": TRICKY["many"]})["python"]
    assert max(len(line) for line in code.splitlines() if VERSION not in line) <= 88
    assert python_input(code) == {"many": TRICKY["many"]}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_for_a_bare_version_id_is_valid(tmp_path: Path) -> None:
    script = tmp_path / "bare.mjs"
    script.write_text(snippets(VERSION, TRICKY)["javascript"], encoding="utf-8")
    check = subprocess.run(
        ["node", "--check", str(script)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr


def test_javascript_warns_about_integers_it_cannot_hold() -> None:
    code = snippets(REF, {"seed": 2**60})["javascript"]
    assert "9007199254740991" in code
    assert "9007199254740991" not in snippets(REF, {"seed": 42})["javascript"]


# -- secrets, token, files ----------------------------------------------------------


def test_secret_inputs_become_environment_variables_everywhere() -> None:
    schema = parse(
        json.loads((FIXTURES / "cog-golden" / "output_secret.json").read_text())
    )
    secrets = [f for f in schema.inputs if f.kind == "secret"]
    assert secrets, "the golden schema has a Secret input"
    name = secrets[0].name
    value = "hunter2-VERY-secret"
    out = snippets("acme/model:" + "a" * 64, {name: value}, schema)
    env = env_var_for(name)
    for flavour, code in out.items():
        assert value not in code, flavour
        assert env in code, flavour
    assert f'os.environ["{env}"]' in out["python"]
    assert f'os.environ["{env}"]' in out["replicate"]
    assert f"process.env.{env}" in out["javascript"]
    assert curl_body(out["curl"])["input"][name] == f"${env}"


def test_each_secret_gets_its_own_variable() -> None:
    secret = {"type": "string", "format": "password", "x-cog-secret": True}
    props = {
        "api-key": {**secret, "x-order": 0},
        "api_key": {**secret, "x-order": 1},
        "keys": {"type": "array", "items": secret, "x-order": 2},
    }
    schema = parse({"components": {"schemas": {"Input": {"properties": props}}}})
    values = {"api-key": "sekrit1", "api_key": "sekrit2", "keys": ["sekrit3", "s4"]}
    out = snippets("acme/model", values, schema)
    assert curl_body(out["curl"])["input"] == {
        "api-key": "$API_KEY",
        "api_key": "$API_KEY_2",
        "keys": ["$KEYS_1", "$KEYS_2"],
    }
    for code in out.values():
        assert "sekrit" not in code
        assert '"s4"' not in code


def test_secret_mask_is_never_sent() -> None:
    schema = parse(
        json.loads((FIXTURES / "cog-golden" / "output_secret.json").read_text())
    )
    name = next(f.name for f in schema.inputs if f.kind == "secret")
    out = snippets("acme/model", {name: "**********"}, schema)
    assert name not in curl_body(out["curl"])["input"]
    assert "**********" not in "".join(out.values())


def test_token_is_never_written(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "r8_" + "Z" * 37
    monkeypatch.setenv("REPLICATE_API_TOKEN", token)
    out = snippets(REF, {"prompt": "x"})
    assert all(token not in code for code in out.values())
    assert '-H "Authorization: Bearer $REPLICATE_API_TOKEN"' in out["curl"]
    assert "REPLICATE_API_TOKEN" in out["python"]
    assert "REPLICATE_API_TOKEN" in out["replicate"]
    assert "Bearer ${process.env.REPLICATE_API_TOKEN}" in out["javascript"]


def test_local_backend_needs_no_token() -> None:
    out = snippets("demo/echo", {"text": "x"}, base_url="http://127.0.0.1:8765/v1/")
    assert "Authorization" not in out["curl"]
    assert shlex.split(out["curl"])[-1] == (
        "http://127.0.0.1:8765/v1/models/demo/echo/predictions"
    )
    assert 'with Client(base_url="http://127.0.0.1:8765/v1") as' in out["python"]
    assert 'replicate.Client(base_url="http://127.0.0.1:8765/v1")' in out["replicate"]
    assert "Authorization" not in out["javascript"]
    url = "http://127.0.0.1:8765/v1/models/demo/echo/predictions"
    assert f'call("{url}"' in out["javascript"]


def test_other_remote_base_url_keeps_the_token_header() -> None:
    out = snippets("demo/echo", {}, base_url="https://proxy.example.com/v1")
    assert "$REPLICATE_API_TOKEN" in out["curl"]
    assert (
        'replicate.Client(base_url="https://proxy.example.com/v1")' in out["replicate"]
    )


def test_bytes_become_a_placeholder_not_base64() -> None:
    schema = parse(json.loads(SDXL.read_text()))
    data = png(400)
    out = snippets(REF, {"image": data, "prompt": "x"}, schema)
    for flavour, code in out.items():
        assert len(code) < 2000, flavour
        assert "image.png" in code, flavour
        assert f"{len(data):,} bytes" in code, flavour
    assert 'Path("image.png")' in out["python"]
    assert 'await readFile("image.png")' in out["javascript"]


def test_browser_uploads_suggest_their_own_name() -> None:
    schema = parse(json.loads(SDXL.read_text()))
    upload = io.BytesIO(png(50))
    upload.name = "../holiday pic.png"  # what the form hands over for a browser file
    out = snippets(REF, {"image": upload}, schema)
    assert 'Path("holiday pic.png")' in out["python"]
    # the name is the upload's, so anyone's: it is in the literal, not the comment
    notes = [line for line in out["python"].splitlines() if line.startswith("#")]
    assert notes
    assert not [line for line in notes if "holiday" in line]
    assert upload.read(4) == b"\x89PNG"  # not consumed


def test_paths_and_open_files_are_referenced_by_path(tmp_path: Path) -> None:
    schema = parse(json.loads(SDXL.read_text()))
    photo = tmp_path / "my photo.png"
    photo.write_bytes(png())
    with photo.open("rb") as handle:
        out = snippets(REF, {"image": handle, "mask": photo}, schema)
    assert f'"image": Path("{photo}")' in out["python"]
    assert f'"mask": Path("{photo}")' in out["python"]
    # a local path typed as text into a file field is a file too; URLs stay URLs
    out = snippets(REF, {"image": "photo.png", "mask": "https://x.test/m.png"}, schema)
    assert '"image": Path("photo.png")' in out["python"]
    assert '"mask": "https://x.test/m.png"' in out["python"]


def test_large_data_uri_is_a_placeholder_small_one_stays() -> None:
    import base64

    big = "data:image/png;base64," + base64.b64encode(png(300)).decode()
    small = "data:text/plain;base64," + base64.b64encode(b"hi").decode()
    out = snippets(REF, {"image": big, "mask": small})
    assert big not in out["python"]
    assert "image.png" in out["python"]
    assert curl_body(out["curl"])["input"]["mask"] == small


def test_insert_next_cell_goes_through_ipython() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    code = snippets("demo/echo", {"text": "x"})["python"]
    assert insert_next_cell(code) is False  # no shell in plain pytest
    shell = InteractiveShell.instance()
    try:
        assert insert_next_cell(code) is True
        assert shell.rl_next_input == code
    finally:
        InteractiveShell.clear_instance()
    with pytest.raises(TypeError, match="text"):
        insert_next_cell(b"code")  # type: ignore[arg-type]


def test_env_var_names() -> None:
    assert env_var_for("signing_key") == "SIGNING_KEY"
    assert env_var_for("hf-token") == "HF_TOKEN"
    assert env_var_for("path") == "PATH_SECRET"
    assert env_var_for("2fa") == "INPUT_2FA"
    assert env_var_for("ключ") == "SECRET"


# -- mistakes get clear messages ---------------------------------------------------


def test_mistakes_say_what_to_do() -> None:
    with pytest.raises(ValueError, match="not a valid model reference"):
        snippets("not a ref", {})
    with pytest.raises(ValueError, match="finite number"):
        snippets(REF, {"x": float("nan")})
    with pytest.raises(TypeError, match="cannot be written as JSON"):
        snippets(REF, {"x": object()})
    with pytest.raises(TypeError, match="string keys"):
        snippets(REF, {"x": {1: "a"}})
    with pytest.raises(TypeError, match="dict of input name"):
        snippets(REF, [("x", 1)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="http"):
        snippets(REF, {}, base_url="127.0.0.1:8000")
    with pytest.raises(ValueError, match="credentials"):
        snippets(REF, {}, base_url="https://me:r8_secret@proxy.test/v1")
    schema = parse(json.loads(SDXL.read_text()))
    with pytest.raises(SchemaError, match="did you mean prompt"):
        snippets(REF, {"promt": "x"}, schema)


def test_schema_drops_unset_fields_like_the_form_does() -> None:
    schema = parse(json.loads(SDXL.read_text()))
    out = snippets(REF, {"prompt": "x", "negative_prompt": "", "seed": None}, schema)
    assert curl_body(out["curl"])["input"] == schema.to_input(
        {"prompt": "x", "negative_prompt": "", "seed": None}
    )


# -- executed against the real local backend -----------------------------------------


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server_mod = pytest.importorskip("replicate_widgets.server")
    root = Path(server_mod.__file__).parent / "models"
    models = [root / "hello-world", root / "echo", root / "text-stats"]
    models.append(root / "image-filter")
    with server_mod.serve(
        port=0,
        models=models,
        bundled=False,
        data_dir=tmp_path_factory.mktemp("codegen-backend"),
    ) as server:
        yield server.url


def execute(code: str) -> str:
    out = io.StringIO()
    scope: dict[str, Any] = {"__name__": "__snippet__"}
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "<snippet>", "exec"), scope)  # noqa: S102
    finally:
        # the official client has no close(); its connection pool is closed here
        client = scope.get("client")
        if client is not None and hasattr(client, "_client"):
            client._client.close()
    return out.getvalue()


TEXTS = [TRICKY[k] for k in ("quotes", "backslashes", "newlines", "unicode")]


@pytest.mark.integration
@pytest.mark.parametrize("text", TEXTS)
def test_python_snippet_runs_against_local_backend(backend: str, text: str) -> None:
    code = snippets("demo/echo", {"text": text}, base_url=backend)["python"]
    assert execute(code) == text + "\n"


def run_node(code: str) -> str:
    """Run a JavaScript snippet with node; return what it printed."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "snippet.mjs"
        script.write_text(code, encoding="utf-8")
        done = subprocess.run(
            ["node", str(script)], capture_output=True, text=True, check=False
        )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.integration
def test_javascript_snippet_runs_against_local_backend(backend: str) -> None:
    # integers past 2**53 are rounded by JavaScript itself (the snippet says so)
    values = {k: v for k, v in TRICKY.items() if not k.endswith("_int")}
    inputs = {"text": TRICKY["quotes"], **values}
    code = snippets("demo/echo", inputs, base_url=backend)["javascript"]
    assert run_node(code) == TRICKY["quotes"] + "\n"
    sent = httpx.get(f"{backend}/predictions").json()["results"][0]["input"]
    # JSON.stringify writes 7.0 as 7 and -0 as 0: compare as numbers there
    assert sent == inputs


@pytest.mark.integration
def test_official_client_snippet_runs_against_local_backend(backend: str) -> None:
    with Client(base_url=backend) as client:
        version = client.models.get("replicate/hello-world").latest
    assert version is not None
    ref = f"replicate/hello-world:{version.id}"
    code = snippets(ref, {"text": TRICKY["quotes"]}, base_url=backend)["replicate"]
    assert execute(code) == "hello " + TRICKY["quotes"] + "\n"


@pytest.mark.integration
def test_bare_version_id_snippets_run(backend: str) -> None:
    with Client(base_url=backend) as client:
        version = client.models.get("replicate/hello-world").latest
    assert version is not None
    out = snippets(version.id, {"text": "bare"}, base_url=backend)
    assert execute(out["python"]) == "hello bare\n"
    assert execute(out["replicate"]) == "hello bare\n"
    assert run_node(out["javascript"]) == "hello bare\n"
    assert curl_body(out["curl"]) == {"version": version.id, "input": {"text": "bare"}}


@pytest.mark.integration
def test_secret_snippet_reads_the_environment(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Client(base_url=backend) as client:
        version = client.models.get("demo/text-stats").latest
    assert version is not None
    assert version.openapi_schema is not None
    schema = parse(version.openapi_schema)
    key = "k3y-\"with' quote"
    values = {"text": "Alpha beta. Gamma alpha!", "top": 2, "signing_key": key}
    out = snippets("demo/text-stats", values, schema, base_url=backend)
    assert all(key not in code for code in out.values())
    monkeypatch.setenv(env_var_for("signing_key"), key)
    printed = execute(out["python"])
    result = ast.literal_eval(printed)
    body = json.dumps([result["characters"], result["words"], result["top_words"]])
    expected = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()
    assert result["signature"] == expected


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_snippet_runs_against_local_backend(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = TRICKY["quotes"] + TRICKY["newlines"] + TRICKY["unicode"]
    curl = snippets("demo/echo", {"text": text}, base_url=backend)["curl"]
    done = subprocess.run(
        ["bash", "-c", curl], capture_output=True, check=True, cwd=tmp_path
    )
    prediction = json.loads(done.stdout)
    assert prediction["status"] == "succeeded"
    assert prediction["output"] == text


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_snippet_sends_a_local_file(backend: str, tmp_path: Path) -> None:
    with Client(base_url=backend) as client:
        version = client.models.get("demo/image-filter").latest
        assert version is not None
        assert version.openapi_schema is not None
        schema = parse(version.openapi_schema)
        photo = tmp_path / "it's a photo.png"
        photo.write_bytes(png(48, (10, 200, 10)))
        values = {"image": photo, "filter": "invert", "strength": 1.0}
        out = snippets("demo/image-filter", values, schema, base_url=backend)
        assert "base64," not in out["python"]
        done = subprocess.run(
            ["bash", "-c", out["curl"]], capture_output=True, check=True
        )
        prediction = json.loads(done.stdout)
        assert prediction["status"] == "succeeded", prediction
        result = client.read(prediction["output"])
        # and this package's client sends the same file from the Python snippet
        printed = execute(out["python"]).strip()
        again = client.read(printed)
    with Image.open(io.BytesIO(result.data)) as im:
        assert im.convert("RGB").getpixel((24, 24)) == (245, 55, 245)
    assert again.data[:8] == result.data[:8]
