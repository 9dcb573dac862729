"""Prometheus metrics of a Comptoir process, with the official client (``prometheus_client``).

Every label takes a bounded set of values: routes are templates (``/v1/companies/{company_id}/documents``,
never a raw path), methods a fixed list, providers the configured ones; no label names a user or a
company. The metrics live in the client's default registry, one set per process. With
``PROMETHEUS_MULTIPROC_DIR`` set (before the process starts: the client reads it when imported), every
process writes its samples into that directory and ``/metrics`` sums them over all processes.

Ingestion jobs by state are not counted by this process: they are read from the database at scrape time
(``JobStateCollector``), so every process reports the same, true, figure.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Literal, Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from comptoir.errors import ComptoirError

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: the route label of a request that matched no route (a 404 on an unknown path)
UNMATCHED_ROUTE = "unmatched"
#: the method label of any method outside this list
OTHER_METHOD = "OTHER"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: from a millisecond for a cached answer's stages to a minute for a streamed LLM answer
BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60)
#: the provider name of answers made without an LLM (``comptoir.chat.pipeline.EXTRACTIVE``)
EXTRACTIVE_PROVIDER = "extractive"
BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}

HTTP_REQUESTS = Counter("comptoir_http_requests", "HTTP requests answered", ["method", "route", "status"])
HTTP_DURATION = Histogram(
    "comptoir_http_request_duration_seconds",
    "time from a request's arrival to the end of its response body (a streamed answer: the whole stream)",
    ["method", "route"],
    buckets=BUCKETS_S,
)
CHAT_STAGE = Histogram(
    "comptoir_chat_stage_seconds",
    "time a chat answer spent in each stage of the pipeline (stages that did not run are not observed)",
    ["stage"],
    buckets=BUCKETS_S,
)
CHAT_ANSWERS = Counter("comptoir_chat_answers", "chat answers, by what gave them", ["provider_kind"])
CACHE_LOOKUPS = Counter("comptoir_cache_lookups", "answer cache lookups", ["result"])
PROVIDER_ATTEMPTS = Counter(
    "comptoir_provider_attempts",
    "calls to an LLM provider: success, or why the attempt failed",
    ["provider", "outcome"],
)
# per process; across processes the worst one (an open breaker anywhere is worth knowing)
PROVIDER_BREAKER = Gauge(
    "comptoir_provider_breaker_state",
    "circuit breaker of an LLM provider: 0 closed, 1 half-open, 2 open",
    ["provider"],
    multiprocess_mode="max",
)
INGESTED_DOCUMENTS = Counter("comptoir_ingested_documents", "documents ingested, by result", ["status"])
INGESTED_CHUNKS = Counter("comptoir_ingested_chunks", "chunks written by ingestion")
FEEDBACK = Counter("comptoir_feedback", "feedback given on chat answers", ["rating"])

_RATING = re.compile(r"[a-z0-9_-]{1,16}")


class ObservedAnswer(Protocol):
    """What ``observe_chat`` reads of a chat answer (``comptoir.chat.pipeline.ChatAnswer``)."""

    @property
    def provider(self) -> str: ...
    @property
    def cached(self) -> bool: ...
    @property
    def timings_ms(self) -> Mapping[str, float]: ...


class ObservedResult(Protocol):
    """What ``count_ingested`` reads of a document's result (``comptoir.ingest.documents.IngestResult``)."""

    @property
    def status(self) -> str: ...
    @property
    def chunks(self) -> int: ...


def method_label(method: str) -> str:
    return method if method in METHODS else OTHER_METHOD


def observe_request(*, method: str, route: str | None, status: int, seconds: float) -> None:
    method = method_label(method)
    route = route or UNMATCHED_ROUTE
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


def observe_chat(answer: ObservedAnswer) -> None:
    """One chat answer: its stages' times and what gave it (``cache``, ``extractive`` or ``llm``)."""
    for stage, ms in answer.timings_ms.items():
        if ms > 0 or stage == "total":
            CHAT_STAGE.labels(stage).observe(ms / 1000)
    kind = "cache" if answer.cached else "extractive" if answer.provider == EXTRACTIVE_PROVIDER else "llm"
    CHAT_ANSWERS.labels(kind).inc()


def count_cache_lookup(*, hit: bool) -> None:
    CACHE_LOOKUPS.labels("hit" if hit else "miss").inc()


def count_provider_attempt(provider: str, outcome: str) -> None:
    """``provider`` is a configured provider's name; ``outcome`` ``success`` or a failure's kind."""
    PROVIDER_ATTEMPTS.labels(provider, outcome).inc()


def set_breaker_state(provider: str, state: Literal["closed", "half-open", "open"]) -> None:
    PROVIDER_BREAKER.labels(provider).set(BREAKER_STATES[state])


def count_ingested(results: Iterable[ObservedResult]) -> None:
    """Every document of a request (unchanged ones too); chunks of the documents written."""
    for result in results:
        INGESTED_DOCUMENTS.labels(result.status).inc()
        if result.status != "unchanged":
            INGESTED_CHUNKS.inc(result.chunks)


def count_feedback(rating: str) -> None:
    """One feedback on an answer. The route validates ``rating`` against its own short list; anything
    else that reaches here is counted as ``other``, so the label stays bounded whatever happens."""
    FEEDBACK.labels(rating if _RATING.fullmatch(rating) else "other").inc()


class JobStateCollector:
    """``comptoir_ingest_jobs{state}``: ingestion jobs in each state, counted in the database at scrape
    time (all companies, through the job workers' own access to job rows)."""

    def __init__(self, count: Callable[[], Mapping[str, int]]) -> None:
        self._count = count

    def describe(self) -> list[Metric]:
        return []  # registering must not query the database

    def collect(self) -> Iterable[Metric]:
        try:
            counts = self._count()
        except ComptoirError as exc:
            # the rest of the scrape is still worth having; the missing series says the database is away
            logger.warning("ingestion jobs not counted", extra={"error": exc.message})
            return
        family = GaugeMetricFamily("comptoir_ingest_jobs", "ingestion jobs in each state", labels=["state"])
        for state, count in sorted(counts.items()):
            family.add_metric([state], count)
        yield family


class _ProcessMetrics:
    """The process's default registry, as one collector of a scrape registry."""

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def scrape_registry(*collectors: Collector) -> CollectorRegistry:
    """What ``/metrics`` serves: this process's metrics (or, in multiprocess mode, every process's, summed
    from ``PROMETHEUS_MULTIPROC_DIR``), then ``collectors``, read at scrape time."""
    registry = CollectorRegistry()
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ProcessMetrics())
    for collector in collectors:
        registry.register(collector)
    return registry
