"""One place where exceptions become HTTP responses: ``{"error": {"code", "message"[, "details"]}}``."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from comptoir.errors import ComptoirError, TooManyRequests
from comptoir.observability.requests import REQUEST_ID_HEADER, request_context_of

logger = logging.getLogger(__name__)

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, **extra}
    if details:
        body["details"] = details
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"error": body}, status_code=status, headers=headers or None)


def _describe(errors: list[Any]) -> tuple[str, list[Any]]:
    details = []
    for err in errors:
        location = ".".join(str(part) for part in err.get("loc", ()) if part != "body")
        details.append(
            {"field": location or "body", "message": err.get("msg", "invalid"), "type": err.get("type")}
        )
    if any(d["type"] == "json_invalid" for d in details):
        return "the request body is not valid JSON", details
    first = details[0] if details else {"field": "body", "message": "invalid"}
    return f"{first['field']}: {first['message']}", details


def _allowed_methods(request: Request) -> str:
    """Every method the request's path allows, for a 405's ``Allow`` (RFC 9110): Starlette names only
    those of one route, while FastAPI makes one route per method (and nests included routers)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ComptoirError)
    async def _domain(_: Request, exc: ComptoirError) -> JSONResponse:
        if exc.status_code >= 500:
            logger.error("request failed", extra={"code": exc.code, "error": exc.message})
        if isinstance(exc, TooManyRequests):
            retry_after = max(1, math.ceil(exc.retry_after_s))
            return error_response(
                429,
                exc.code,
                exc.message,
                headers={"Retry-After": str(retry_after)},
                limit=exc.limit,
                retry_after_s=retry_after,
            )
        return error_response(exc.status_code, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = _describe(list(exc.errors()))
        return error_response(422, "invalid_input", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        return error_response(
            exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail), headers=headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette runs this outside every middleware, the request's own context already left: its id
        # (and company) are read from the request's state, for the log and the response
        context = request_context_of(request.scope)
        fields = {} if context is None else context.log_fields()
        logger.exception("unexpected error", extra=fields)
        headers = None if context is None else {REQUEST_ID_HEADER: context.request_id}
        return error_response(500, "internal_error", "internal error; see the server log", headers=headers)
