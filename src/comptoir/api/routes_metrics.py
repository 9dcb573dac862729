"""``/metrics``: the process's Prometheus metrics (every process's, in multiprocess mode) and ingestion
jobs by state, read from the database at scrape time. The operator's admin key, unless
``COMPTOIR_METRICS_PUBLIC``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from comptoir.api.deps import require_scraper

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    dependencies=[Depends(require_scraper)],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}},
)
def metrics(request: Request) -> Response:
    """Prometheus metrics (listed in the README, "Metrics and logs"): the admin key, unless
    COMPTOIR_METRICS_PUBLIC."""
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)
