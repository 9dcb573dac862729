"""The semantic cache of a company, and the process's own figures."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Response, status

from comptoir.api.deps import AdminDep, CallerDep, ComptoirDep, TenantDep
from comptoir.api.schemas import CacheOut, CacheSettingsIn
from comptoir.app import Comptoir
from comptoir.caching import LRUCache
from comptoir.chat.cache import SemanticCache
from comptoir.errors import NotFound

router = APIRouter(tags=["cache"])


def _cache(comptoir: Comptoir) -> SemanticCache:
    if comptoir.answer_cache is None:
        raise NotFound("the semantic cache is disabled (COMPTOIR_CACHE_ENABLED=false)")
    return comptoir.answer_cache


@router.get("/v1/companies/{company_id}/cache", response_model=CacheOut)
def get_cache(tenant: TenantDep, comptoir: ComptoirDep) -> dict[str, Any]:
    """Live entries, hits, misses and hit rate of the company's answer cache."""
    return _cache(comptoir).stats(tenant_id=tenant)


@router.put("/v1/companies/{company_id}/cache", response_model=CacheOut)
def put_cache_settings(
    body: CacheSettingsIn, tenant: TenantDep, caller: CallerDep, comptoir: ComptoirDep
) -> dict[str, Any]:
    """Set the company's similarity threshold (null restores the default)."""
    cache = _cache(comptoir)
    cache.set_threshold(tenant_id=tenant, threshold=body.threshold)
    comptoir.audit.record(
        company_id=tenant, actor=caller.actor, action="cache.settings", details={"threshold": body.threshold}
    )
    return cache.stats(tenant_id=tenant)


@router.delete("/v1/companies/{company_id}/cache", status_code=status.HTTP_204_NO_CONTENT)
def purge_cache(tenant: TenantDep, caller: CallerDep, comptoir: ComptoirDep) -> Response:
    """Purge the company's cached answers, in this process and every other one."""
    _cache(comptoir).purge(tenant_id=tenant)
    comptoir.audit.record(company_id=tenant, actor=caller.actor, action="cache.purge")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/v1/stats")
def process_stats(_: AdminDep, comptoir: ComptoirDep) -> dict[str, Any]:
    """This process (one of several with ``serve --workers N``: its pid says which): the model it loaded,
    its in-process caches, its providers' circuit breakers."""
    caches: list[LRUCache[Any, Any]] = [
        comptoir.query_embedder.cache,
        comptoir.prompts.cache,
        comptoir.fact_index.cache,
    ]
    if comptoir.answer_cache is not None:
        caches.append(comptoir.answer_cache.l1)
    return {
        "pid": os.getpid(),
        "embedder": {
            "name": comptoir.embedder.name,
            "dimension": comptoir.embedder.dimension,
            "texts_embedded": comptoir.embedder.texts_embedded,
        },
        "caches": [
            {
                "name": s.name,
                "size": s.size,
                "capacity": s.capacity,
                "hits": s.hits,
                "misses": s.misses,
                "hit_rate": round(s.hit_rate, 4),
            }
            for s in (cache.stats() for cache in caches)
        ],
        "providers": [
            {"name": p.name, "breaker": p.breaker.state}
            for p in (comptoir.providers.providers if comptoir.providers else [])
        ],
    }
