"""Keeping outputs on disk: records, files, idempotence, safety, reading back."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from replicate_widgets import Client, FileContent, Prediction, parse
from replicate_widgets._widgets.keep import KEEP_ENV, OUTPUTS_ENV, Keeper, KeptRecord

RESPONSES = Path(__file__).resolve().parent / "fixtures" / "responses"
GOLDEN = Path(__file__).resolve().parent / "fixtures" / "cog-golden"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RESPONSES / name).read_text())
    return data


def image(fmt: str = "PNG", side: int = 40, color: Any = (20, 120, 220)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (side, side), color).save(buf, format=fmt)
    return buf.getvalue()


def noisy_png(side: int) -> bytes:
    """A PNG that does not compress (random pixels), so its data URI is long."""
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def succeeded() -> Prediction:
    return Prediction.from_json(fixture("prediction-succeeded.json"))


@pytest.fixture
def keeper(tmp_path: Path) -> Keeper:
    return Keeper(tmp_path / "kept")


class Reads:
    """A reader over bytes held in memory, counting what it was asked for."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.asked: list[str] = []

    def __call__(self, url: str) -> FileContent:
        self.asked.append(url)
        if url not in self.files:
            raise OSError(f"404 for {url}")
        return FileContent(self.files[url], "application/octet-stream")


def test_save_writes_record_and_files(keeper: Keeper, succeeded: Prediction) -> None:
    url = succeeded.output[0]
    png = image()
    folder = keeper.save(succeeded, {url: (png, "image/png")})
    assert folder == keeper.root / succeeded.id
    record = json.loads((folder / "record.json").read_text())
    assert record["id"] == succeeded.id
    assert record["model"] == "stability-ai/sdxl"
    assert record["version"] == succeeded.version
    assert record["status"] == "succeeded"
    assert record["input"] == succeeded.input
    assert record["output"] == ["out-0.png"]
    assert record["original_output"] == [url]
    assert record["logs"] == succeeded.logs
    assert record["metrics"] == {"predict_time": 3.804328}
    assert record["error"] is None
    assert record["created_at"] == succeeded.created_at
    assert record["completed_at"] == succeeded.completed_at
    assert record["saved_at"]
    assert record["files"] == [
        {
            "name": "out-0.png",
            "mime": "image/png",
            "size": len(png),
            "sha256": hashlib.sha256(png).hexdigest(),
            "url": url,
            "role": "output",
        }
    ]
    assert (folder / "out-0.png").read_bytes() == png
    assert sorted(p.name for p in folder.iterdir()) == ["out-0.png", "record.json"]


def test_urls_not_given_are_read_once(keeper: Keeper, succeeded: Prediction) -> None:
    url = succeeded.output[0]
    reads = Reads({url: image("JPEG")})
    folder = keeper.save(succeeded, read=reads)
    assert folder is not None
    assert reads.asked == [url]
    # the sniffed type fixes the extension the URL claimed
    assert (folder / "out-0.jpg").is_file()
    assert not (folder / "out-0.png").exists()
    # saving again reuses the kept file: no second download, no duplicate
    again = keeper.save(succeeded, read=reads)
    assert again == folder
    assert reads.asked == [url]
    assert sorted(p.name for p in folder.iterdir()) == ["out-0.jpg", "record.json"]
    assert len(keeper.list()) == 1


def test_removed_data_never_overwrites_a_good_record(
    keeper: Keeper, succeeded: Prediction
) -> None:
    url = succeeded.output[0]
    keeper.save(succeeded, {url: (image(), "image/png")})
    removed = copy.deepcopy(succeeded.raw)
    removed.update(output=None, input={}, logs=None, data_removed=True)
    keeper.save(Prediction.from_json(removed))
    record = keeper.load(succeeded.id)
    assert record.output == ["out-0.png"]
    assert record.input == succeeded.input


def test_download_failures_are_noted_not_raised(
    keeper: Keeper, succeeded: Prediction
) -> None:
    folder = keeper.save(succeeded, read=Reads({}))
    assert folder is not None
    record = keeper.load(succeeded.id)
    assert record.output == succeeded.output  # still the URL: nothing was kept
    assert record.files == ()
    assert record.missing[0]["url"] == succeeded.output[0]
    assert "404" in record.missing[0]["reason"]
    # without a reader the URL is noted too
    keeper.save(succeeded)
    assert "no reader" in keeper.load(succeeded.id).missing[0]["reason"]


def test_data_uri_outputs_are_decoded_and_named_by_their_bytes(
    keeper: Keeper, succeeded: Prediction
) -> None:
    png = image(side=300)
    uri = "data:application/octet-stream;base64," + base64.b64encode(png).decode()
    raw = dict(succeeded.raw, output={"image": uri, "caption": "a corgi"})
    folder = keeper.save(Prediction.from_json(raw))
    assert folder is not None
    record = keeper.load(succeeded.id)
    assert record.output == {"image": "output-0.png", "caption": "a corgi"}
    assert (folder / "output-0.png").read_bytes() == png
    # the record stays small: the base64 is not copied into it
    assert len((folder / "record.json").read_bytes()) < 10_000
    assert record.original_output["image"].startswith("data:application/octet-stream")


def test_names_are_unique_safe_and_never_the_record(
    keeper: Keeper, succeeded: Prediction
) -> None:
    urls = [
        "https://a.test/x/out.png",
        "https://a.test/y/out.png",
        "https://a.test/record.json",
        "https://a.test/..%2F..%2Fescape.png",
        "https://a.test/noext",
    ]
    files = {u: (image(), "image/png") for u in urls}
    files[urls[4]] = (b"just words\n", "text/plain")
    raw = dict(succeeded.raw, output=urls)
    folder = keeper.save(Prediction.from_json(raw), files)
    assert folder is not None
    names = keeper.load(succeeded.id).output
    assert len(set(names)) == 5
    assert names[:2] == ["out.png", "out-1.png"]
    assert "record.json" not in names
    assert all("/" not in n and not n.startswith(".") for n in names)
    assert names[4] == "noext.txt"
    assert {p.name for p in folder.iterdir()} == {*names, "record.json"}
    assert json.loads((folder / "record.json").read_text())["id"] == succeeded.id


def test_large_data_uri_inputs_become_input_files(
    keeper: Keeper, succeeded: Prediction
) -> None:
    png = noisy_png(32)
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    raw = dict(succeeded.raw, input={"image": uri, "prompt": "x"}, output=None)
    folder = keeper.save(Prediction.from_json(raw))
    assert folder is not None
    record = keeper.load(succeeded.id)
    assert record.input == {"image": "input-image.png", "prompt": "x"}
    assert (folder / "input-image.png").read_bytes() == png
    assert [f.role for f in record.files] == ["input"]


def test_secrets_are_masked(keeper: Keeper, succeeded: Prediction) -> None:
    schema = parse(json.loads((GOLDEN / "output_secret.json").read_text()))
    raw = dict(succeeded.raw, input={"x": "hunter2"}, output=None)
    folder = keeper.save(Prediction.from_json(raw), schema=schema)
    assert folder is not None
    assert "hunter2" not in (folder / "record.json").read_text()
    assert keeper.load(succeeded.id).input == {"x": "**********"}
    # without a schema, names that say "secret" are masked and others are not
    raw = dict(
        succeeded.raw,
        input={"hf_token": "abc", "api_key": "def", "max_tokens": 5, "prompt": "p"},
    )
    keeper.save(Prediction.from_json(raw))
    assert keeper.load(succeeded.id).input == {
        "hf_token": "**********",
        "api_key": "**********",
        "max_tokens": 5,
        "prompt": "p",
    }


def test_unfinished_predictions_are_refused(keeper: Keeper) -> None:
    for name in ("prediction-starting.json", "prediction-processing.json"):
        p = Prediction.from_json(fixture(name))
        with pytest.raises(ValueError, match="once it has finished"):
            keeper.save(p)
    assert not keeper.root.exists()


def test_canceled_prediction_is_kept(keeper: Keeper) -> None:
    p = Prediction.from_json(fixture("prediction-canceled.json"))
    keeper.save(p)
    record = keeper.load(p.id)
    assert record.status == "canceled"
    assert record.output is None
    assert record.metrics["total_time"] == 0.175128


@pytest.mark.parametrize(
    "bad", ["../escape", "a/b", "a\\b", "..", ".hidden", "", "x" * 200, "ü", None]
)
def test_unsafe_ids_are_refused(
    keeper: Keeper, succeeded: Prediction, bad: Any
) -> None:
    raw = dict(succeeded.raw, id=bad)
    with pytest.raises(ValueError, match="not a prediction id"):
        keeper.save(Prediction.from_json(raw))
    with pytest.raises(ValueError, match="not a prediction id"):
        keeper.path_for(bad)
    with pytest.raises(ValueError, match="not a prediction id"):
        keeper.load(bad)
    assert not keeper.root.exists()


def test_turning_it_off(
    tmp_path: Path, succeeded: Prediction, monkeypatch: pytest.MonkeyPatch
) -> None:
    off = Keeper(tmp_path / "off", enabled=False)
    assert off.save(succeeded) is None
    assert not (tmp_path / "off").exists()
    monkeypatch.setenv(KEEP_ENV, "0")
    assert Keeper(tmp_path / "env").save(succeeded) is None
    assert not (tmp_path / "env").exists()
    monkeypatch.setenv(KEEP_ENV, "1")
    assert Keeper(tmp_path / "env").save(succeeded) is not None


def test_default_root_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(OUTPUTS_ENV, str(tmp_path / "from-env"))
    assert Keeper().root == tmp_path / "from-env"
    monkeypatch.delenv(OUTPUTS_ENV)
    assert Keeper().root == Path.cwd() / "replicate-outputs"
    assert "replicate-outputs" in repr(Keeper())
    with pytest.raises(TypeError, match="folder path"):
        Keeper(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes a Prediction"):
        Keeper(tmp_path).save({"id": "x"})  # type: ignore[arg-type]


def test_list_is_newest_first_and_skips_what_it_cannot_read(
    keeper: Keeper, succeeded: Prediction
) -> None:
    for i, day in enumerate(["2024-01-02", "2024-03-01", "2023-12-31"]):
        raw = dict(succeeded.raw, id=f"run{i}", created_at=f"{day}T00:00:00Z")
        keeper.save(Prediction.from_json(raw), read=Reads({}))
    (keeper.root / "halfsaved").mkdir()
    (keeper.root / "halfsaved" / "out-0.png").write_bytes(image())
    (keeper.root / "corrupt").mkdir()
    (keeper.root / "corrupt" / "record.json").write_text("{not json")
    (keeper.root / "wrongid").mkdir()
    (keeper.root / "wrongid" / "record.json").write_text('{"id": "other"}')
    (keeper.root / "notes.txt").write_text("a stray file")
    (keeper.root / ".ipynb_checkpoints").mkdir()
    records = keeper.list()
    assert [r.id for r in records] == ["run1", "run0", "run2"]
    assert {p.name for p, _ in keeper.skipped} == {"halfsaved", "corrupt", "wrongid"}
    assert all(isinstance(r, KeptRecord) for r in records)
    assert Keeper(keeper.root / "missing").list() == []


def test_load_explains_missing_and_damaged(keeper: Keeper) -> None:
    with pytest.raises(FileNotFoundError, match=r"Keeper\.list\(\)"):
        keeper.load("nothere")
    (keeper.root / "broken").mkdir(parents=True)
    (keeper.root / "broken" / "record.json").write_text("[]")
    with pytest.raises(ValueError, match="damaged"):
        keeper.load("broken")


def test_record_reads_back_for_history_and_sharing(
    keeper: Keeper, succeeded: Prediction
) -> None:
    url = succeeded.output[0]
    png = image()
    keeper.save(succeeded, {url: FileContent(png, "image/png")})
    record = keeper.load(succeeded.id)
    assert record.output_paths == [str(keeper.root / succeeded.id / "out-0.png")]
    assert record.read_files() == {url: (png, "image/png")}
    again = record.prediction()
    assert again.id == succeeded.id
    assert again.output == [url]
    assert again.status == "succeeded"
    assert again.metrics == succeeded.metrics
    assert record.files[0].read() == png


def test_no_temporary_files_are_left(keeper: Keeper, succeeded: Prediction) -> None:
    url = succeeded.output[0]
    for _ in range(3):
        keeper.save(succeeded, {url: (image(), "image/png")})
    leftovers = [p for p in keeper.root.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


# -- with the real local backend ---------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    server_mod = pytest.importorskip("replicate_widgets.server")
    root = Path(server_mod.__file__).parent / "models"
    with (
        server_mod.serve(
            port=0,
            models=[root / "image-filter", root / "text-stats"],
            bundled=False,
            data_dir=tmp_path_factory.mktemp("keep-backend"),
        ) as server,
        Client(base_url=server.url) as c,
    ):
        yield c


@pytest.mark.integration
def test_keeps_a_real_local_prediction(client: Client, tmp_path: Path) -> None:
    prediction = client.predictions.create(
        "demo/image-filter",
        {"image": image(side=64), "filter": "invert"},
        wait=True,
    )
    prediction = client.predictions.wait(prediction)
    assert prediction.status == "succeeded"
    keeper = Keeper(tmp_path)
    folder = keeper.save(prediction, read=client.read)
    assert folder is not None
    record = keeper.load(prediction.id)
    (name,) = [f.name for f in record.files if f.role == "output"]
    assert name.endswith(".png")
    assert record.output == name
    assert (folder / name).read_bytes() == client.read(prediction.output).data
    with Image.open(folder / name) as im:
        assert im.size == (64, 64)
    assert "invert" in (record.logs or "")
    assert record.metrics.get("predict_time") is not None


@pytest.mark.integration
def test_keeps_a_real_object_output_with_a_secret(
    client: Client, tmp_path: Path
) -> None:
    version = client.models.get("demo/text-stats").latest
    assert version is not None
    assert version.openapi_schema is not None
    schema = parse(version.openapi_schema)
    values = {"text": "One two. Three!", "signing_key": "s3cret-key"}
    prediction = client.predictions.create("demo/text-stats", values, wait=True)
    prediction = client.predictions.wait(prediction)
    keeper = Keeper(tmp_path)
    folder = keeper.save(prediction, read=client.read, schema=schema)
    assert folder is not None
    assert "s3cret-key" not in (folder / "record.json").read_text()
    record = keeper.load(prediction.id)
    assert record.output["words"] == 3
    assert record.output["signature"]
    assert record.files == ()
