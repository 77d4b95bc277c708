"""Errors as RFC 9457 ``application/problem+json``: a type, a title, the status, a one-line
detail and, for bad input, one entry per offending field. Never a traceback, never a value the
caller sent echoed back at length."""

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5
_MAX_DETAIL = 500
log = logging.getLogger("caseflow.api")


class FieldProblem(BaseModel):
    field: str
    """Where in the request: ``body.customer.id``, ``header.idempotency-key``, ``query.limit``."""
    reason: str


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = []


_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}
_SLUGS = {
    400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 409: "conflict", 413: "too-large", 415: "unsupported-media-type",
    422: "invalid", 429: "rate-limited", 500: "internal", 503: "unavailable",
}


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


class ApiProblem(Exception):
    """An error answered as problem+json with ``status``."""

    def __init__(self, status: int, detail: str, *, errors: Sequence[FieldProblem] = (),
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = _short(detail)
        self.errors = list(errors)
        self.headers = headers or {}


def unavailable(detail: str) -> ApiProblem:
    return ApiProblem(503, detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def problem_response(problem: ApiProblem) -> JSONResponse:
    body = Problem(type=f"urn:caseflow:problem:{_SLUGS.get(problem.status, 'error')}",
                   title=_TITLES.get(problem.status, "Error"), status=problem.status,
                   detail=problem.detail, errors=problem.errors)
    headers = dict(problem.headers)
    if problem.status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse(body.model_dump(mode="json"), status_code=problem.status,
                        headers=headers, media_type=PROBLEM_JSON)


def field_problems(errors: Sequence[Any]) -> list[FieldProblem]:
    """pydantic's errors, one per field, without the input values."""
    problems = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ()))
        problems.append(FieldProblem(field=where or "body", reason=_short(str(error["msg"]))))
    return problems


def invalid(error: ValidationError, prefix: str = "body") -> ApiProblem:
    problems = [FieldProblem(field=f"{prefix}.{p.field}" if p.field != "body" else prefix,
                             reason=p.reason) for p in field_problems(error.errors())]
    return ApiProblem(422, f"{len(problems)} invalid field(s): "
                      + "; ".join(f"{p.field}: {p.reason}" for p in problems[:5]),
                      errors=problems)


def install(app: FastAPI) -> None:
    """Every error the app can raise answers as problem+json."""

    async def on_problem(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiProblem)
        return problem_response(error)

    async def on_invalid(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        problems = field_problems(error.errors())
        detail = "; ".join(f"{p.field}: {p.reason}" for p in problems[:5])
        return problem_response(ApiProblem(422, f"{len(problems)} invalid field(s): {detail}",
                                           errors=problems))

    async def on_http(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        detail = error.detail if isinstance(error.detail, str) else _TITLES.get(
            error.status_code, "error")
        return problem_response(ApiProblem(error.status_code, detail,
                                           headers=dict(error.headers or {})))

    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(ApiProblem(500, "the request could not be carried out; "
                                           "it was logged for the operators"))

    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
