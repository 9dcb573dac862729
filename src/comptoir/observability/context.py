"""The request a piece of work belongs to, for the log records it writes.

The middleware opens one ``RequestContext`` per HTTP request and keeps it in a context variable; the
tenant is filled in where it is resolved. The value is mutable on purpose: FastAPI runs sync dependencies
and routes in worker threads, each with a *copy* of the context, so a company set there would otherwise
never reach the middleware's access log record.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass
class RequestContext:
    request_id: str
    company: str | None = None

    def log_fields(self) -> dict[str, str]:
        fields = {"request_id": self.request_id}
        if self.company is not None:
            fields["company"] = self.company
        return fields


_current: ContextVar[RequestContext | None] = ContextVar("comptoir_request", default=None)


def current_request() -> RequestContext | None:
    return _current.get()


def enter_request(request_id: str) -> tuple[RequestContext, Token[RequestContext | None]]:
    context = RequestContext(request_id)
    return context, _current.set(context)


def leave_request(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def set_company(company_id: str) -> None:
    """The company the current request works for, once resolved (outside a request: nothing to do)."""
    context = _current.get()
    if context is not None:
        context.company = company_id
