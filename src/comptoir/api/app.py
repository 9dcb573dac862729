"""The FastAPI application, built around one Comptoir facade."""

from __future__ import annotations

from fastapi import FastAPI

from comptoir import __version__
from comptoir.api import (
    routes_audit,
    routes_cache,
    routes_chat,
    routes_companies,
    routes_conversations,
    routes_documents,
    routes_facts,
    routes_feedback,
    routes_health,
    routes_jobs,
    routes_keys,
    routes_limits,
    routes_metrics,
    routes_owner,
)
from comptoir.api.cors import PerKeyCors
from comptoir.api.deps import CORS_STATE
from comptoir.api.errors import install_error_handlers
from comptoir.api.limits import BodySizeLimit, JsonBodyCheck
from comptoir.api.openapi import install_openapi
from comptoir.api.routes_console import install_console
from comptoir.api.schemas import ErrorOut
from comptoir.app import Comptoir
from comptoir.observability.metrics import JobStateCollector, scrape_registry
from comptoir.observability.requests import RequestObserver

ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 415, 422, 429)


def create_app(comptoir: Comptoir) -> FastAPI:
    app = FastAPI(
        title="Comptoir",
        version=__version__,
        description="Multi-tenant retrieval-augmented chat server for businesses.",
        # every error, whatever the route, has one JSON shape: say so in the OpenAPI page
        responses={status: {"model": ErrorOut, "description": "error"} for status in ERROR_STATUSES},
    )
    app.state.comptoir = comptoir
    install_error_handlers(app)
    install_openapi(app, {("SearchIn", "k"): comptoir.settings.max_k})
    app.add_middleware(JsonBodyCheck, max_depth=comptoir.settings.max_json_depth)  # inside the size limit
    app.add_middleware(BodySizeLimit, max_bytes=comptoir.settings.max_request_bytes)
    app.add_middleware(PerKeyCors, state_key=CORS_STATE)  # preflights cost nothing else
    # outermost: every response gets the request id, is counted and logged, whichever layer sent it
    app.add_middleware(RequestObserver, routes=app.router.routes)
    app.state.metrics_registry = scrape_registry(JobStateCollector(comptoir.jobs.count_by_status))
    app.include_router(routes_companies.router)
    app.include_router(routes_documents.router)
    app.include_router(routes_chat.router)
    app.include_router(routes_feedback.router)
    app.include_router(routes_owner.router)
    app.include_router(routes_conversations.router)
    app.include_router(routes_cache.router)
    app.include_router(routes_facts.router)
    app.include_router(routes_keys.router)
    app.include_router(routes_limits.router)
    app.include_router(routes_audit.router)
    app.include_router(routes_jobs.router)  # its lifespan runs the job workers

    app.include_router(routes_health.router)  # its lifespan keeps /healthz's view of the database fresh
    app.include_router(routes_metrics.router)
    install_console(app)

    return app
