"""The FastAPI application, built around one Comptoir facade."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from comptoir import __version__
from comptoir.api import (
    routes_cache,
    routes_chat,
    routes_companies,
    routes_conversations,
    routes_documents,
    routes_facts,
)
from comptoir.api.deps import ComptoirDep
from comptoir.api.errors import error_response, install_error_handlers
from comptoir.api.limits import BodySizeLimit
from comptoir.api.schemas import ErrorOut
from comptoir.app import Comptoir

ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 415, 422)


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
    app.add_middleware(BodySizeLimit, max_bytes=comptoir.settings.max_request_bytes)
    app.include_router(routes_companies.router)
    app.include_router(routes_documents.router)
    app.include_router(routes_chat.router)
    app.include_router(routes_conversations.router)
    app.include_router(routes_cache.router)
    app.include_router(routes_facts.router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], response_model=None)
    def readyz(comptoir: ComptoirDep) -> JSONResponse | dict[str, str]:
        """The database answers and the embedding model is loaded."""
        if not comptoir.db.ping():
            return error_response(503, "database_unavailable", "the database does not answer")
        return {"status": "ready", "embedder": comptoir.embedder.name}

    return app
