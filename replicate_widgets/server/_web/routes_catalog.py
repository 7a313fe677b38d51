"""Routes for models, versions, collections, search, hardware and the account."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from replicate_widgets.server._catalog.model_edit import edited_readme
from replicate_widgets.server._catalog.model_edit import update_model as apply_update
from replicate_widgets.server._catalog.registry import ACCOUNT, HARDWARE
from replicate_widgets.server._catalog.search import parse_params
from replicate_widgets.server._catalog.search import search as search_doc
from replicate_widgets.server._problem import Problem

from .exchange import engine_of, json_response, page, read_json, render, render_all

COLLECTION = {
    "name": "Local models",
    "slug": "local-models",
    "description": "Every model served by this local backend.",
}


# ---------------------------------------------------------------------- models
async def list_models(request: Request) -> Response:
    q = request.query_params
    models = engine_of(request).registry.list_models(
        q.get("sort_by", "latest_version_created_at"), q.get("sort_direction", "desc")
    )
    return page(request, render_all(request, models), None)


async def search_models(request: Request) -> Response:
    query = (await request.body()).decode("utf-8", "replace")
    models = engine_of(request).registry.search(query)
    return page(request, render_all(request, models), None)


async def create_model(request: Request) -> Response:
    doc = engine_of(request).registry.create_model(await read_json(request))
    return json_response(render(request, doc), 201)


async def get_model(request: Request) -> Response:
    p = request.path_params
    engine = engine_of(request)
    doc = engine.registry.model_doc(p["owner"], p["name"])
    engine.model_viewed(p["owner"], p["name"])
    return json_response(render(request, doc))


async def update_model(request: Request) -> Response:
    p = request.path_params
    engine = engine_of(request)
    body = await read_json(request)
    doc = apply_update(engine.store, engine.registry, p["owner"], p["name"], body)
    return json_response(render(request, doc))


async def delete_model(request: Request) -> Response:
    p = request.path_params
    engine_of(request).registry.delete_model(p["owner"], p["name"])
    return Response(status_code=204)


async def model_readme(request: Request) -> Response:
    p = request.path_params
    engine = engine_of(request)
    registry = engine.registry
    registry.model_doc(p["owner"], p["name"])
    edited = edited_readme(engine.store, p["owner"], p["name"])
    if edited is not None:
        return PlainTextResponse(edited, media_type="text/markdown")
    version = registry.latest_version_id(p["owner"], p["name"])
    readme = registry.runnable(version).directory / "README.md"
    if not readme.is_file():
        raise Problem(404, f"{p['owner']}/{p['name']} has no README.md in its folder.")
    return PlainTextResponse(
        readme.read_text(encoding="utf-8"), media_type="text/markdown"
    )


async def model_examples(request: Request) -> Response:
    p = request.path_params
    doc = engine_of(request).registry.model_doc(p["owner"], p["name"])
    example = doc.get("default_example")
    return page(request, [example] if example else [], None)


async def list_versions(request: Request) -> Response:
    p = request.path_params
    return page(
        request, engine_of(request).registry.versions(p["owner"], p["name"]), None
    )


async def get_version(request: Request) -> Response:
    p = request.path_params
    return json_response(
        engine_of(request).registry.version_doc(p["owner"], p["name"], p["version"])
    )


async def delete_version(request: Request) -> Response:
    p = request.path_params
    engine_of(request).registry.delete_version(p["owner"], p["name"], p["version"])
    return Response(status_code=202)


async def cover(request: Request) -> Response:
    p = request.path_params
    path = engine_of(request).registry.covers.get((p["owner"], p["name"]))
    if path is None or not path.is_file():
        raise Problem(404, "This model has no cover image.")
    return FileResponse(path)


# ------------------------------------------------------------------- the rest
async def account(_request: Request) -> Response:
    return json_response(ACCOUNT)


async def hardware(_request: Request) -> Response:
    return json_response(HARDWARE)


async def webhook_secret(request: Request) -> Response:
    return json_response({"key": engine_of(request).webhook_secret})


async def list_collections(request: Request) -> Response:
    return page(request, [COLLECTION], None)


async def get_collection(request: Request) -> Response:
    if request.path_params["slug"] != COLLECTION["slug"]:
        raise Problem(
            404,
            f"Collection {request.path_params['slug']!r} does not "
            f"exist; this server has one: {COLLECTION['slug']}.",
        )
    models = render_all(request, engine_of(request).registry.list_models())
    return json_response(
        {**COLLECTION, "full_description": COLLECTION["description"], "models": models}
    )


async def search(request: Request) -> Response:
    q = request.query_params
    query, limit = parse_params(q.get("query"), q.get("limit"))
    models = render_all(request, engine_of(request).registry.list_models())
    return json_response(search_doc(query, limit, models, COLLECTION))
