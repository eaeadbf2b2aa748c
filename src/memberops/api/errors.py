"""RFC 9457 problem+json for every error the API returns."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from memberops.errors import DomainError
from memberops.logs import get_logger

PROBLEM = "application/problem+json"
log = get_logger("memberops.api")

HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
              415: "unsupported_media_type", 422: "validation_error",
              429: "rate_limited", 500: "internal_error", 503: "unavailable"}


def problem(status: int, code: str, title: str, detail: str, request: Request | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://memberops.dev/problems/{code.replace('_', '-')}",
        "title": title, "status": status, "detail": detail, "code": code,
    }
    if request is not None:
        body["instance"] = request.url.path
        body["request_id"] = getattr(request.state, "request_id", None)
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def domain_problem_body(exc: DomainError) -> dict[str, Any]:
    """The body stored for an idempotent replay of a refused request."""
    return {"type": f"https://memberops.dev/problems/{exc.code.replace('_', '-')}",
            "title": exc.title, "status": exc.status, "detail": exc.detail, "code": exc.code,
            **exc.extra}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "[key]")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        retry = exc.extra.get("retry_after")
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return problem(exc.status, exc.code, exc.title, exc.detail, request, headers=headers,
                       **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem(400, "malformed_json", "Malformed JSON",
                           "the request body is not valid JSON", request)
        fields = [{"field": _field(tuple(e.get("loc", ()))),
                   "reason": str(e.get("msg", "")).removeprefix("Value error, "),
                   "type": e.get("type")} for e in errors]
        detail = "; ".join(f"{f['field']}: {f['reason']}" for f in fields)
        return problem(422, "validation_error", "Invalid input", detail, request, errors=fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, code.replace("_", " ").capitalize(),
                       str(exc.detail), request, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem(500, "internal_error", "Internal error",
                       "an unexpected error occurred; it has been logged with this request id",
                       request)
