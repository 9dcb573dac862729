"""One ASGI middleware around every HTTP request: its id, its metrics and its access log record.

The request id is the caller's ``X-Request-ID`` when it is short and plain (``[A-Za-z0-9._-]{1,64}``:
it ends up in log lines and headers), else a fresh uuid4 hex. It is returned in ``X-Request-ID`` on
every response, errors included (an unexpected error's 500 is sent by Starlette outside this middleware:
its handler reads the id from the request's state), and every log record written while the request
runs carries it.

Duration is measured to the end of the response body: for a streamed chat answer (SSE), the whole
stream. The middleware only watches ``send``; streaming passes through untouched.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from comptoir.observability.context import RequestContext, enter_request, leave_request
from comptoir.observability.metrics import observe_request

REQUEST_ID_HEADER = "X-Request-ID"
#: where the request's context is kept in its state, for what runs after the middleware is done
_STATE = "request_context"
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

access_logger = logging.getLogger("comptoir.access")


def request_id_from(given: str | None) -> str:
    """The caller's id when it is safe to repeat, else a new one."""
    if given is not None and _SAFE_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def request_context_of(scope: Scope) -> RequestContext | None:
    """The context of a request the middleware has seen, from its state (its context variable is reset
    once the middleware returns)."""
    context = scope.get("state", {}).get(_STATE)
    return context if isinstance(context, RequestContext) else None


def route_template(scope: Scope, routes: list[BaseRoute]) -> str | None:
    """The template of the route that handled (or would handle) the request, or None when none matches.
    A request refused before routing (a body too large, say) is matched here, after the fact."""
    route = scope.get("route")
    if route is None:
        partial = None
        for candidate in routes:
            match, _ = candidate.matches(scope)
            if match is Match.FULL:
                route = candidate
                break
            if match is Match.PARTIAL and partial is None:
                partial = candidate
        route = route or partial
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else None


class RequestObserver:
    """Outermost of the application's middlewares, so that it sees every response the others send."""

    def __init__(self, app: ASGIApp, *, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get(REQUEST_ID_HEADER))
        context, token = enter_request(request_id)
        scope.setdefault("state", {})[_STATE] = context
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception escaped, Starlette answers 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope, self.routes)
            observe_request(method=scope["method"], route=route, status=status, seconds=seconds)
            fields: dict[str, object] = {"method": scope["method"], "route": route, "status": status}
            fields.update(duration_ms=round(seconds * 1000, 3), **context.log_fields())
            access_logger.info("request", extra=fields)
            leave_request(token)
