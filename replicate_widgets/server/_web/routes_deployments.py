"""Routes for ``/v1/deployments``: manage deployments and run predictions on them.

The state lives in :class:`~replicate_widgets.server._catalog.deployments.Deployments`;
a prediction on a deployment is an ordinary prediction of the deployment's current
version, marked with ``deployment: owner/name``, run on the deployment's own instances
(:meth:`~replicate_widgets.server._engine.engine.Engine.apply_deployment` sizes them
after every change).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from replicate_widgets.server._catalog.deployments import Deployments

from .exchange import (
    engine_of,
    json_response,
    page,
    prefer_wait,
    read_json,
    respond_created,
)


def _deployments(request: Request) -> Deployments:
    return Deployments(engine_of(request).store)


async def list_deployments(request: Request) -> Response:
    return page(request, _deployments(request).all(), None)


async def create_deployment(request: Request) -> Response:
    doc = _deployments(request).create(await read_json(request))
    engine_of(request).apply_deployment(doc["owner"], doc["name"])
    # 200, not 201: what Replicate's OpenAPI document gives for this endpoint.
    return json_response(doc)


async def get_deployment(request: Request) -> Response:
    p = request.path_params
    return json_response(_deployments(request).get(p["owner"], p["name"]))


async def update_deployment(request: Request) -> Response:
    p = request.path_params
    body = await read_json(request)
    doc = _deployments(request).update(p["owner"], p["name"], body)
    engine_of(request).apply_deployment(p["owner"], p["name"])
    return json_response(doc)


async def delete_deployment(request: Request) -> Response:
    p = request.path_params
    _deployments(request).delete(p["owner"], p["name"])
    engine_of(request).apply_deployment(p["owner"], p["name"])
    return Response(status_code=204)


async def create_deployment_prediction(request: Request) -> Response:
    prefer_wait(request)  # reject a bad header before anything is queued
    owner, name = request.path_params["owner"], request.path_params["name"]
    model, version = _deployments(request).target(owner, name)
    model_owner, _, model_name = model.partition("/")
    # Same body as POST /v1/models/{owner}/{name}/predictions, pinned to the
    # deployment's current version.
    live = engine_of(request).create_prediction(
        await read_json(request),
        model=(model_owner, model_name),
        version=version,
        deployment=f"{owner}/{name}",
        cancel_after=request.headers.get("cancel-after"),
    )
    return await respond_created(request, live, "prediction")


_ONE = "/v1/deployments/{owner}/{name}"
DEPLOYMENT_ROUTES = [
    Route("/v1/deployments", list_deployments, methods=["GET"]),
    Route("/v1/deployments", create_deployment, methods=["POST"]),
    Route(_ONE, get_deployment, methods=["GET"]),
    Route(_ONE, update_deployment, methods=["PATCH"]),
    Route(_ONE, delete_deployment, methods=["DELETE"]),
    Route(f"{_ONE}/predictions", create_deployment_prediction, methods=["POST"]),
]
"""Mounted by :mod:`.app` with the other ``/v1`` routes."""
