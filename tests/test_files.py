from __future__ import annotations

import asyncio
import base64
import io
import json
import struct
import wave

import httpx
import pytest
from _client_support import API, TOKEN, Recorder, json_body
from PIL import Image

import replicate_widgets._client.files as _files
from replicate_widgets._client.async_client import AsyncClient
from replicate_widgets._client.client import Client
from replicate_widgets._client.retry import RetryPolicy

VERSION = "39ed52f2a78e934b3ba6e2a89f5b1c712de7dfea535525255b1aa35c5565e08b"


def png(size: tuple[int, int] = (4, 3)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


def wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(struct.pack("<10h", *range(10)))
    return buf.getvalue()


def file_response(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        201,
        json={
            "id": "cneqzikepnug6xezperrr4z55o",
            "content_type": "application/octet-stream",
            "size": 1,
            "checksums": {"sha256": "0" * 64},
            "metadata": {},
            "created_at": "2024-02-21T12:54:18.578761Z",
            "expires_at": "2024-02-22T12:54:18.578761Z",
            "urls": {"get": f"{API}/files/cneqzikepnug6xezperrr4z55o"},
        },
    )


def make(routes):
    rec = Recorder(routes)
    client = Client(
        api_token=TOKEN,
        transport=httpx.MockTransport(rec),
        retry=RetryPolicy(max_retries=0),
    )
    return client, rec


# -- inputs ----------------------------------------------------------------------------


def test_small_bytes_become_data_url_with_sniffed_type():
    data = png()
    prepared = _files.prepare_input({"image": data, "n": 3})
    assert prepared.uploads == []
    url = prepared.value["image"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == data
    assert prepared.value["n"] == 3


def test_small_path_uses_extension_type(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("hello")
    prepared = _files.prepare_input({"doc": path})
    assert (
        prepared.value["doc"]
        == "data:text/plain;base64," + base64.b64encode(b"hello").decode()
    )


def test_binary_file_objects_and_nested_values(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(wav())
    with path.open("rb") as fh:
        prepared = _files.prepare_input({"clips": [fh, {"inner": b"\x00\x01"}]})
    clip, nested = prepared.value["clips"]
    assert clip.startswith(("data:audio/wav;", "data:audio/x-wav;"))
    assert nested["inner"].startswith("data:application/octet-stream;base64,")


def test_exactly_256kb_is_inline_and_one_more_byte_uploads():
    limit = _files.MAX_DATA_URL_BYTES
    assert _files.prepare_input({"f": b"\0" * limit}).uploads == []
    prepared = _files.prepare_input({"f": b"\0" * (limit + 1)})
    assert len(prepared.uploads) == 1
    assert prepared.resolve(["https://x/f"]) == {"f": "https://x/f"}


def test_text_mode_file_is_rejected(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("x")
    with path.open("r") as fh, pytest.raises(TypeError, match="mode 'rb'"):
        _files.prepare_input({"f": fh})


def test_missing_path_is_explained(tmp_path):
    with pytest.raises(ValueError, match=r"input\['f'\]: no file at"):
        _files.prepare_input({"f": tmp_path / "nope.png"})


def test_large_input_is_uploaded_then_referenced():
    big = png() + b"\0" * (300 * 1024)
    client, rec = make(
        {
            "POST /files": file_response,
            "POST /predictions": lambda r: httpx.Response(
                201,
                json={"id": "p1", "status": "starting", "input": json_body(r)["input"]},
            ),
        }
    )
    p = client.predictions.create(VERSION, {"image": big, "prompt": "x"})
    upload, create = rec.requests
    assert upload.url.path == "/v1/files"
    assert upload.headers["content-type"].startswith("multipart/form-data")
    assert b'name="content"; filename="file"' in upload.content
    assert b"Content-Type: image/png" in upload.content
    assert big in upload.content
    assert b'name="metadata"' in upload.content
    assert json_body(create)["input"] == {
        "image": f"{API}/files/cneqzikepnug6xezperrr4z55o",
        "prompt": "x",
    }
    assert p.input["prompt"] == "x"


def test_over_100mb_fails_before_any_upload(tmp_path):
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as fh:
        fh.truncate(_files.MAX_UPLOAD_BYTES + 1)  # sparse: no real disk or memory use
    client, rec = make({"POST /files": file_response})
    with pytest.raises(ValueError, match="at most 100 MB"):
        client.predictions.create(VERSION, {"image": huge, "small": b"x"})
    with pytest.raises(ValueError, match="at most 100 MB"):
        client.files.create(huge)
    assert rec.requests == []


def test_bad_create_options_fail_before_upload():
    client, rec = make({"POST /files": file_response})
    with pytest.raises(ValueError, match="wait"):
        client.predictions.create(VERSION, {"image": b"\0" * 300_000}, wait=99)
    with pytest.raises(TypeError, match="cannot be sent as JSON"):
        client.predictions.create(VERSION, {"image": b"\0" * 300_000, "bad": object()})
    assert rec.requests == []


def test_files_endpoints():
    fid = "cneqzikepnug6xezperrr4z55o"
    client, rec = make(
        {
            "POST /files": file_response,
            f"GET /files/{fid}": file_response,
            "GET /files": lambda r: httpx.Response(
                200,
                json={
                    "next": None,
                    "previous": None,
                    "results": [file_response(r).json()],
                },
            ),
            f"DELETE /files/{fid}": [httpx.Response(204)],
        }
    )
    f = client.files.create(
        b"abc", filename="a.zip", content_type="application/zip", metadata={"k": 1}
    )
    body = rec.last.content
    assert b'filename="a.zip"' in body
    assert b"application/zip" in body
    assert b'{"k": 1}' in body
    assert f.url.endswith(fid)
    assert client.files.get(fid).id == fid
    assert client.files.list().results[0].id == fid
    assert client.files.delete(f) is None
    with pytest.raises(ValueError, match="255 bytes"):
        client.files.create(b"x", filename="x" * 256)


# -- outputs ---------------------------------------------------------------------------


def test_read_data_uri_sniffs_generic_type():
    data = png()
    uri = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
    client, rec = make({})
    content = client.read(uri)
    assert content.data == data
    assert content.content_type == "image/png"
    assert client.read("data:,hello%20world").data == b"hello world"
    assert rec.requests == []


def test_read_url_sends_token_only_to_replicate_hosts():
    data = png((8, 8))
    served = {
        "GET https://replicate.delivery/pbxt/abc/out.png": [
            httpx.Response(
                200, content=data, headers={"content-type": "application/octet-stream"}
            )
        ],
        "GET https://cdn.example.com/out.wav": [
            httpx.Response(
                200, content=wav(), headers={"content-type": "binary/octet-stream"}
            )
        ],
    }
    client, rec = make(served)
    content = client.read("https://replicate.delivery/pbxt/abc/out.png")
    assert content.content_type == "image/png"
    assert rec.last.headers["authorization"] == f"Bearer {TOKEN}"
    content = client.read("https://cdn.example.com/out.wav")
    assert content.content_type == "audio/wav"
    assert "authorization" not in rec.last.headers


def test_read_rejects_other_schemes():
    client, _ = make({})
    with pytest.raises(ValueError, match="http"):
        client.read("file:///etc/passwd")
    with pytest.raises(ValueError, match="data: URI"):
        client.read("data:image/png;base64")


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [
        (b"%PDF-1.7 ...", None, "application/pdf"),
        (b"\x00\x00\x00\x18ftypmp42....", None, "video/mp4"),
        (b'{"a": 1}', "application/octet-stream", "application/json"),
        (b"plain words", None, "text/plain"),
        (b"\xff\xfe\x00\x01binary\x80", "image/x-custom", "image/x-custom"),
        (b"\x80\x81\x82", None, "application/octet-stream"),
    ],
)
def test_sniff_magic_numbers(data, declared, expected):
    assert _files.sniff(data, declared) == expected


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_sniff_images_with_pillow(fmt):
    buf = io.BytesIO()
    Image.new("RGB", (5, 5)).save(buf, format=fmt)
    assert _files.sniff(buf.getvalue(), "application/octet-stream") == Image.MIME[fmt]


def test_async_upload_and_read():
    big = b"\1" * (257 * 1024)

    async def main() -> None:
        rec = Recorder(
            {
                "POST /files": file_response,
                "POST /predictions": [(201, {"id": "p1", "status": "starting"})],
                "GET https://replicate.delivery/x.json": [
                    httpx.Response(200, content=json.dumps({"ok": True}).encode())
                ],
            }
        )
        async with AsyncClient(
            api_token=TOKEN, transport=httpx.MockTransport(rec)
        ) as client:
            await client.predictions.create(VERSION, {"f": big})
            assert json_body(rec.requests[1])["input"]["f"].endswith(
                "/files/cneqzikepnug6xezperrr4z55o"
            )
            content = await client.read("https://replicate.delivery/x.json")
            assert content.content_type == "application/json"

    asyncio.run(main())


def test_sniff_text_cut_inside_a_multibyte_character():
    data = ("é" * 3000).encode()  # 6000 bytes; byte 4096 splits nothing, 4095 would
    assert _files.sniff(data[:4097]) == "text/plain"
    assert _files.sniff(b"x" + data) == "text/plain"
