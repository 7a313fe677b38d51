"""The fixed parts of a Cog OpenAPI document: paths and envelope components.

Fixed data, following ``pkg/schema/openapi_spec.go`` in replicate/cog; the
predictor-specific parts come from ``_cogschema_fields``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["PREDICT", "TRAIN", "Names", "envelope", "paths"]

from .cogschema_fields import JSON, title_case


def _response(ref: str | None = None) -> JSON:
    schema: JSON = {"$ref": ref} if ref else {}
    return {
        "description": "Successful Response",
        "content": {"application/json": {"schema": schema}},
    }


_VALIDATION_RESPONSE: JSON = {
    "description": "Validation Error",
    "content": {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/HTTPValidationError"}
        }
    },
}


@dataclasses.dataclass(frozen=True)
class Names:
    endpoint: str
    request: str
    response: str
    cancel: str
    id_param: str
    input: str
    output: str
    summary: str
    description: str
    operation: str
    cancel_operation: str


PREDICT = Names(
    "/predictions",
    "PredictionRequest",
    "PredictionResponse",
    "/predictions/{prediction_id}/cancel",
    "prediction_id",
    "Input",
    "Output",
    "Predict",
    "Run a single prediction on the model",
    "predict_predictions_post",
    "cancel_predictions__prediction_id__cancel_post",
)
TRAIN = Names(
    "/trainings",
    "TrainingRequest",
    "TrainingResponse",
    "/trainings/{training_id}/cancel",
    "training_id",
    "TrainingInput",
    "TrainingOutput",
    "Train",
    "Run a single training on the model",
    "train_trainings_post",
    "cancel_trainings__training_id__cancel_post",
)


def envelope(n: Names) -> JSON:
    def text(title: str, **extra: Any) -> JSON:
        return {"title": title, "type": "string", **extra}

    def ref(name: str) -> JSON:
        return {"$ref": f"#/components/schemas/{name}"}

    return {
        n.request: {
            "title": n.request,
            "type": "object",
            "properties": {"id": text("Id"), "input": ref(n.input)},
        },
        n.response: {
            "title": n.response,
            "type": "object",
            "properties": {
                "input": ref(n.input),
                "output": ref(n.output),
                "id": text("Id"),
                "version": text("Version"),
                "created_at": text("Created At", format="date-time"),
                "started_at": text("Started At", format="date-time"),
                "completed_at": text("Completed At", format="date-time"),
                "status": text("Status"),
                "error": text("Error"),
                "logs": text("Logs"),
                "metrics": {"title": "Metrics", "type": "object"},
            },
        },
        "Status": {
            "title": "Status",
            "description": "An enumeration.",
            "enum": ["starting", "processing", "succeeded", "canceled", "failed"],
            "type": "string",
        },
        "HTTPValidationError": {
            "title": "HTTPValidationError",
            "type": "object",
            "properties": {
                "detail": {
                    "title": "Detail",
                    "type": "array",
                    "items": ref("ValidationError"),
                }
            },
        },
        "ValidationError": {
            "title": "ValidationError",
            "required": ["loc", "msg", "type"],
            "type": "object",
            "properties": {
                "loc": {
                    "title": "Location",
                    "type": "array",
                    "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                },
                "msg": {"title": "Message", "type": "string"},
                "type": {"title": "Error Type", "type": "string"},
            },
        },
    }


def paths(n: Names, streaming: bool) -> JSON:
    main: JSON = {
        "summary": n.summary,
        "description": n.description,
        "operationId": n.operation,
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{n.request}"}
                }
            }
        },
        "responses": {
            "200": _response(f"#/components/schemas/{n.response}"),
            "422": _VALIDATION_RESPONSE,
        },
    }
    if streaming:
        main["x-cog-streaming"] = True
    cancel_param = {
        "required": True,
        "schema": {"title": title_case(n.id_param), "type": "string"},
        "name": n.id_param,
        "in": "path",
    }
    return {
        "/": {
            "get": {
                "summary": "Root",
                "operationId": "root__get",
                "responses": {"200": _response()},
            }
        },
        "/health-check": {
            "get": {
                "summary": "Healthcheck",
                "operationId": "healthcheck_health_check_get",
                "responses": {"200": _response()},
            }
        },
        n.endpoint: {"post": main},
        n.cancel: {
            "post": {
                "summary": "Cancel",
                "operationId": n.cancel_operation,
                "parameters": [cancel_param],
                "responses": {"200": _response(), "422": _VALIDATION_RESPONSE},
            }
        },
    }
