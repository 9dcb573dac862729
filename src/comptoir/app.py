"""The Comptoir facade: settings, database and embedder wired together once per process.

The HTTP API and the CLI both drive the domain through this object; neither talks to the database or the
model directly.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from comptoir.access.audit import AuditLog
from comptoir.access.limits import Limiter, Limits
from comptoir.chat.cache import SemanticCache
from comptoir.chat.memory import ConversationStore
from comptoir.chat.pipeline import ChatPipeline
from comptoir.chat.prompts import PromptStore
from comptoir.chat.providers import build_chain
from comptoir.companies import CompanyService
from comptoir.config import Settings
from comptoir.db.bootstrap import DatabaseTarget, prepare, release
from comptoir.db.database import Database
from comptoir.embedding import Embedder, build_embedder
from comptoir.embedding.factory import build_alternatives
from comptoir.embedding.models import MULTILINGUAL, ModelRegistry
from comptoir.errors import ConfigurationError
from comptoir.facts.match import FactIndex
from comptoir.facts.store import FactStore
from comptoir.ingest.chunking import Chunker
from comptoir.ingest.documents import DocumentStore
from comptoir.jobs.runner import JobRunner
from comptoir.jobs.store import JobStore
from comptoir.owner.activity import Activity
from comptoir.owner.feedback import FeedbackStore
from comptoir.owner.questions import OwnerQuestions
from comptoir.retrieval.ann import CompanyIndexes
from comptoir.retrieval.graph_files import GraphFiles
from comptoir.retrieval.graphs import CompanyGraphs
from comptoir.retrieval.search import Searcher

logger = logging.getLogger(__name__)


def admin_key_path(settings: Settings) -> Path | None:
    """Where the admin key is kept (0600, written once, never printed); None when it comes from
    COMPTOIR_ADMIN_KEY."""
    return None if settings.admin_key else settings.home / "admin-key"


def resolve_admin_key(settings: Settings) -> str:
    """The admin key from the environment; in embedded mode a generated one kept in the data directory."""
    path = admin_key_path(settings)
    if path is None:
        return str(settings.admin_key)
    if not settings.embedded:
        raise ConfigurationError("COMPTOIR_ADMIN_KEY must be set when COMPTOIR_DATABASE_URL is used")
    if path.exists():
        return path.read_text().strip()
    settings.home.mkdir(parents=True, exist_ok=True)
    key = f"adm_{secrets.token_urlsafe(32)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


class Comptoir:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        embedder: Embedder,
        *,
        admin_key: str,
        target: DatabaseTarget | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.embedder = embedder
        self.admin_key = admin_key
        self.target = target
        self.companies = CompanyService(db)
        self.keys = self.companies.keys
        self.limiter = Limiter(db, Limits.defaults(settings))
        self.audit = AuditLog(db)
        self.models = ModelRegistry(
            db,
            embedder,
            alternatives=build_alternatives(settings),
            languages=dict.fromkeys(settings.multilingual_language_list, MULTILINGUAL),
            query_cache_size=settings.query_embedding_cache_size,
        )
        self.fact_store = FactStore(db)
        self.fact_index = FactIndex(self.fact_store)
        self.documents = DocumentStore(
            db,
            embedder,
            Chunker(settings.chunk_tokens, settings.chunk_overlap_tokens),
            on_change=self.fact_store,
            models=self.models,
        )
        self.jobs = JobStore(db)
        self.indexes = CompanyIndexes(
            db, target.owner_url if target else None, min_chunks=settings.ann_min_chunks
        )
        self.graphs = CompanyGraphs(
            db,
            min_chunks=settings.ann_min_chunks,
            budget=settings.graph_memory_mb * 1024 * 1024,
            files=GraphFiles(settings.home / "graphs"),  # one per machine, mapped by all its processes
        )
        self.documents.on_committed = self._committed
        self.query_embedder = self.models.query_embedder(None)  # the default model's
        self.searcher = Searcher(
            db,
            self.query_embedder,
            max_k=settings.max_k,
            max_query_chars=settings.max_query_chars,
            models=self.models,
            indexes=self.indexes,
            graphs=self.graphs,
        )
        self.answer_cache = (
            SemanticCache(
                db,
                threshold=settings.cache_threshold,
                ttl_s=settings.cache_ttl_s,
                l1_capacity=settings.cache_l1_size,
            )
            if settings.cache_enabled
            else None
        )
        self.conversations = ConversationStore(db)
        self.feedback = FeedbackStore(db)
        self.activity = Activity(db)
        self.owner_questions = OwnerQuestions(
            db, settings=settings, companies=self.companies, models=self.models, documents=self.documents
        )
        self.prompts = PromptStore(db)
        self.providers = (
            build_chain(
                settings.providers,
                threshold=settings.breaker_threshold,
                cooldown_s=settings.breaker_cooldown_s,
            )
            if settings.providers
            else None
        )
        self.chat = ChatPipeline(
            settings=settings,
            companies=self.companies,
            embedder=self.query_embedder,
            searcher=self.searcher,
            memory=self.conversations,
            prompts=self.prompts,
            chain=self.providers,
            cache=self.answer_cache,
            facts=self.fact_index,
            usage=self.limiter,
        )

    @classmethod
    def open(
        cls, settings: Settings, *, embedder: Embedder | None = None, target: DatabaseTarget | None = None
    ) -> Comptoir:
        """Start (or reach) the database, migrate, connect as the app role and load the model.
        ``target``: a database already prepared (``serve`` prepares it as root, then drops privileges);
        from here on this object is responsible for stopping it."""
        target = target or prepare(settings)
        db = Database(target.app_url, min_size=settings.pool_min_size, max_size=settings.pool_max_size)
        try:
            db.open()
            return cls(
                settings,
                db,
                embedder or build_embedder(settings),
                admin_key=resolve_admin_key(settings),
                target=target,
            )
        except BaseException:
            db.close()
            release(target)
            raise

    def _committed(self, tenant_id: str) -> None:
        """A company's documents changed: its own indexes and graph follow, in the background."""
        self.indexes.schedule(tenant_id)
        self.graphs.schedule(tenant_id)

    def job_runner(self) -> JobRunner:
        """A worker for background ingestion jobs (``serve`` runs ``COMPTOIR_JOB_WORKERS`` of them)."""
        settings = self.settings
        return JobRunner(
            self.jobs,
            self.documents,
            self.audit,
            batch_documents=settings.job_batch_documents,
            lease_s=settings.job_lease_s,
            poll_s=settings.job_poll_s,
        )

    def close(self) -> None:
        if self.providers:
            self.providers.close()
        self.db.close()
        if self.target:
            release(self.target)

    @property
    def home(self) -> Path:
        return self.settings.home
