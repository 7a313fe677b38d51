from __future__ import annotations

import email.utils
import time

import httpx
import pytest
from _client_support import load

import replicate_widgets._client.errors as errors
from replicate_widgets._client.types import Prediction


def response(status: int, body: object = None, **headers: str) -> httpx.Response:
    if isinstance(body, (dict, list)):
        r = httpx.Response(status, json=body, headers=headers)
    else:
        r = httpx.Response(status, text=body or "", headers=headers)
    r.read()
    return r


def test_real_401_body_becomes_authentication_error_with_instructions():
    exc = errors.error_from_response(response(401, load("error-401-unauthenticated")))
    assert type(exc) is errors.AuthenticationError
    assert exc.status == 401
    assert exc.title == "Unauthenticated"
    assert exc.detail == "You did not pass a valid authentication token"
    assert "REPLICATE_API_TOKEN" in str(exc)
    assert "login()" in str(exc)


def test_real_404_body_without_title_uses_reason_phrase():
    exc = errors.error_from_response(
        response(404, load("error-404-invalid-training-destination"))
    )
    assert isinstance(exc, errors.NotFoundError)
    assert exc.detail == "The specified training destination does not exist"
    assert exc.title == "Not Found"
    assert "owner/name" in str(exc)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.InvalidInputError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.APIError),
        (413, errors.FileTooLargeError),
        (422, errors.InvalidInputError),
        (429, errors.RateLimitError),
        (500, errors.ServerError),
        (503, errors.ServerError),
    ],
)
def test_status_maps_to_class(status, cls):
    exc = errors.error_from_response(response(status, {"detail": "x"}))
    assert type(exc) is cls
    assert isinstance(exc, errors.APIError)
    assert isinstance(exc, errors.ReplicateError)


def test_problem_json_422_keeps_field_details():
    body = {
        "type": "https://replicate.com/docs/errors/invalid-input",
        "title": "Input validation failed",
        "status": 422,
        "detail": "- input.steps: must be at most 50",
        "invalid_fields": [{"type": "maximum", "field": "steps", "description": "x"}],
    }
    r = httpx.Response(
        422,
        content=__import__("json").dumps(body).encode(),
        headers={"content-type": "application/problem+json"},
    )
    r.read()
    exc = errors.error_from_response(r)
    assert isinstance(exc, errors.InvalidInputError)
    assert exc.errors == [{"type": "maximum", "field": "steps", "description": "x"}]
    assert "input.steps" in str(exc)
    assert "Fix the input" in str(exc)


def test_detail_ending_in_a_newline_reads_as_one_sentence():
    body = {"title": "Input validation failed", "detail": "- input: text is required\n"}
    exc = errors.error_from_response(response(422, body))
    assert str(exc) == (
        "HTTP 422 Input validation failed: - input: text is required. "
        "Fix the input values named above and try again."
    )


def test_fastapi_style_detail_list_becomes_field_errors():
    body = {"detail": [{"loc": ["body", "input"], "msg": "field required"}]}
    exc = errors.error_from_response(response(422, body))
    assert isinstance(exc, errors.InvalidInputError)
    assert exc.errors[0]["msg"] == "field required"
    assert "field required" in str(exc)


def test_rate_limit_retry_after_from_header_and_body():
    exc = errors.error_from_response(
        response(429, {"detail": "Request was throttled."}, **{"Retry-After": "7"})
    )
    assert isinstance(exc, errors.RateLimitError)
    assert exc.retry_after == 7.0
    body = {
        "detail": "Request was throttled. Your rate limit resets in ~30s.",
        "status": 429,
        "retry_after": 5,
    }
    exc = errors.error_from_response(response(429, body))
    assert isinstance(exc, errors.RateLimitError)
    assert exc.retry_after == 5.0


def test_retry_after_http_date():
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    r = response(429, None, **{"Retry-After": when})
    delay = errors.parse_retry_after(r)
    assert delay is not None
    assert 100 < delay <= 121


def test_retry_after_garbage_is_ignored():
    r = response(429, {"retry_after": "soon"}, **{"Retry-After": "tomorrow-ish"})
    assert errors.parse_retry_after(r, r.json()) is None


def test_html_error_page_is_shortened():
    exc = errors.error_from_response(response(502, "<html>" + "x" * 5000 + "</html>"))
    assert isinstance(exc, errors.ServerError)
    assert len(str(exc)) < 500
    assert "try again later" in str(exc)


def test_missing_token_error_is_an_authentication_error():
    exc = errors.MissingTokenError("https://api.replicate.com/v1")
    assert isinstance(exc, errors.AuthenticationError)
    msg = str(exc)
    assert "REPLICATE_API_TOKEN" in msg
    assert "replicate_widgets.login()" in msg
    assert "local backend" in msg


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("failed", "failed: CUDA out of memory"),
        ("aborted", "aborted"),
        ("canceled", "canceled"),
    ],
)
def test_model_error_carries_prediction_and_logs(status, expected):
    body = load("prediction-succeeded")
    body.update(status=status, error="CUDA out of memory", logs="step 1\nboom\n")
    prediction = Prediction.from_json(body)
    exc = errors.ModelError(prediction)
    assert exc.prediction is prediction
    assert exc.logs == "step 1\nboom\n"
    assert expected in str(exc)
    assert prediction.id in str(exc)


def test_hierarchy_in_module_docstring_names_every_class():
    doc = errors.__doc__ or ""
    for name in dir(errors):
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, errors.ReplicateError):
            assert name in doc, name
