"""Routes of the Files API and of output files."""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from replicate_widgets.server._clock import now_iso
from replicate_widgets.server._problem import Problem

from .exchange import engine_of, json_response, page


# ----------------------------------------------------------------------- files
def _file_doc(request: Request, doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "urls": {"get": f"{engine_of(request).origin}/v1/files/{doc['id']}"}}


async def create_file(request: Request) -> Response:
    # The app's Gate refuses a body over max_upload_body(), declared or streamed.
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Problem(
            415,
            "Upload files as multipart/form-data with the bytes in a "
            "part named 'content'.",
        )
    async with request.form(max_files=1, max_fields=10) as form:
        content = form.get("content")
        if not isinstance(content, UploadFile):
            raise Problem(422, "The multipart body needs a file part named 'content'.")
        filename = str(form.get("filename") or content.filename or "file")
        if len(filename.encode()) > 255:
            raise Problem(422, "filename must be at most 255 bytes.")
        ctype = str(
            form.get("type") or content.content_type or "application/octet-stream"
        )
        metadata = _metadata(form.get("metadata"))
        doc = await run_in_threadpool(
            engine_of(request).files.save_upload,
            content.file,
            filename=filename,
            content_type=ctype,
            metadata=metadata,
            created_at=now_iso(),
        )
    engine_of(request).store.put_file(doc)
    return json_response(_file_doc(request, doc), 201)


def _metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    raw = value.file.read() if isinstance(value, UploadFile) else str(value)
    try:
        metadata = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise Problem(422, "metadata must be a JSON object.") from exc
    if not isinstance(metadata, dict):
        raise Problem(422, "metadata must be a JSON object.")
    return metadata


def _file(request: Request) -> dict[str, Any]:
    file_id = request.path_params["id"]
    doc = engine_of(request).store.get_file(file_id)
    if doc is None:
        raise Problem(
            404, f"File {file_id} does not exist. List files with GET /v1/files."
        )
    return doc


async def get_file(request: Request) -> Response:
    return json_response(_file_doc(request, _file(request)))


async def list_files(request: Request) -> Response:
    found = engine_of(request).store.list_files(
        cursor=request.query_params.get("cursor")
    )
    return page(
        request, [_file_doc(request, d) for d in found.items], found.next_cursor
    )


async def delete_file(request: Request) -> Response:
    doc = _file(request)
    engine = engine_of(request)
    engine.store.delete_file(doc["id"])
    engine.files.delete_upload(doc["id"])
    return Response(status_code=204)


async def download_file(request: Request) -> Response:
    doc = _file(request)
    q = request.query_params
    if not request.state.authorized and not engine_of(request).files.check_signature(
        doc["id"], q.get("expiry", ""), q.get("signature", "")
    ):
        raise Problem(
            401,
            "This download URL's signature is invalid or expired; "
            "send your API token, or get a fresh URL.",
            title="Unauthenticated",
        )
    return FileResponse(
        engine_of(request).files.upload_path(doc["id"]),
        media_type=doc["content_type"],
        filename=doc["name"],
    )


async def output_file(request: Request) -> Response:
    p = request.path_params
    path: Path | None = engine_of(request).files.output_path(p["token"], p["name"])
    if path is None:
        raise Problem(
            404,
            "This output file does not exist (it may have been "
            "deleted with the server's data directory).",
        )
    return FileResponse(path)


async def receive_output(request: Request) -> Response:
    """Take an output file coglet uploads (``--upload-url``), named by the model.

    The key in the path is the capability: coglet sends no token.
    """
    p = request.path_params
    files = engine_of(request).files
    if not hmac.compare_digest(str(p["key"]).encode(), files.upload_key.encode()):
        raise Problem(
            404,
            "This upload URL is not one this server gave its model processes.",
        )
    marker = await files.receive_output(
        request.stream(),
        request.headers.get("content-type", "application/octet-stream"),
        p["name"],
    )
    # coglet puts the Location in the output in the file's place.
    return Response(status_code=201, headers={"Location": marker})
