"""One place where exceptions become HTTP responses: ``{"error": {"code", "message"[, "details"]}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from comptoir.errors import ComptoirError

logger = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, details: list[Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ComptoirError)
    async def _domain(_: Request, exc: ComptoirError) -> JSONResponse:
        if exc.status_code >= 500:
            logger.error("request failed", extra={"code": exc.code, "error": exc.message})
        return error_response(exc.status_code, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = _describe(list(exc.errors()))
        return error_response(422, "invalid_input", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error")
        return error_response(500, "internal_error", "internal error; see the server log")
