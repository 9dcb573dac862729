"""``/healthz`` (the process and its database are alive) and ``/readyz`` (ready to serve: the database
answers through the pool and the model is loaded).

``/healthz`` is an async route that reads the value a background check keeps fresh (see
``comptoir.db.liveness``): it answers in milliseconds even when every worker thread is busy, and says 503
when the database is dead so that a supervisor restarts the service.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from comptoir.api.deps import ComptoirDep
from comptoir.api.errors import error_response
from comptoir.db.liveness import DatabaseLiveness


@asynccontextmanager
async def _watch_database(app: FastAPI) -> AsyncIterator[None]:
    comptoir = app.state.comptoir
    async with DatabaseLiveness(comptoir.db.url, interval_s=comptoir.settings.health_interval_s) as liveness:
        app.state.liveness = liveness
        yield


router = APIRouter(tags=["health"], lifespan=_watch_database)


def _database_unavailable() -> JSONResponse:
    return error_response(503, "database_unavailable", "the database does not answer")


@router.get("/healthz", response_model=None)
async def healthz(request: Request) -> JSONResponse | dict[str, str]:
    """The process is alive and its database answers (checked every COMPTOIR_HEALTH_INTERVAL_S)."""
    liveness: DatabaseLiveness | None = getattr(request.app.state, "liveness", None)
    if liveness is not None and not liveness.alive:
        return _database_unavailable()
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(comptoir: ComptoirDep) -> JSONResponse | dict[str, str]:
    """The database answers and the embedding model is loaded."""
    if not comptoir.db.ping():
        return _database_unavailable()
    return {"status": "ready", "embedder": comptoir.embedder.name}
