"""The embedding models of this process, which one produced each company's vectors, and re-embedding a
company with another.

A process has its default model (``COMPTOIR_EMBEDDING_BACKEND`` / ``COMPTOIR_EMBEDDING_MODEL``) and, on
the ONNX backends with the optional package installed, the multilingual one, built on first use. A
company's model is chosen when it is created (by name, or by its language: see
``COMPTOIR_MULTILINGUAL_LANGUAGES``) or, if none was chosen, recorded at its first ingestion as the
default. Its documents and questions are embedded with that model. A company whose model this process
cannot embed with is refused (search, answers, ingestion) with a message saying what to run, until
``comptoir reembed`` has re-embedded every chunk in one transaction (readers see the old vectors or the
new ones, never a mix) and bumped the company's knowledge version (cached answers become unreachable).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np
from pgvector import HalfVector

from comptoir.db.database import Connection, Database
from comptoir.embedding.base import Embedder
from comptoir.embedding.cached import CachedQueryEmbedder
from comptoir.errors import Conflict, InvalidInput
from comptoir.ingest.documents import BUMP_KNOWLEDGE
from comptoir.ingest.locks import LOCK_COMPANY

logger = logging.getLogger(__name__)

_RECORDED = "SELECT embedding_model FROM companies WHERE tenant_id = %s"
_RECORD = "UPDATE companies SET embedding_model = %s WHERE tenant_id = %s AND embedding_model IS NULL"
_CHUNKS = """
    SELECT ch.document_id, ch.ordinal, d.title, ch.text FROM chunks ch
    JOIN documents d ON d.tenant_id = ch.tenant_id AND d.document_id = ch.document_id
    WHERE ch.tenant_id = %s ORDER BY ch.document_id, ch.ordinal"""
_UPDATE = "UPDATE chunks SET embedding = %s WHERE tenant_id = %s AND document_id = %s AND ordinal = %s"
_SET = "UPDATE companies SET embedding_model = %s WHERE tenant_id = %s"


class ModelMismatch(Conflict):
    code = "embedding_model_mismatch"


#: the names a company's model is chosen by
DEFAULT, MULTILINGUAL = "default", "multilingual"


class ModelRegistry:
    """``embedder`` is the default model; ``alternatives`` are the other models this process may embed
    with, by name: their model id (known without loading them) and how to build them."""

    def __init__(
        self,
        db: Database,
        embedder: Embedder,
        *,
        alternatives: dict[str, tuple[str, Callable[[], Embedder]]] | None = None,
        languages: dict[str, str] | None = None,
        query_cache_size: int = 4096,
    ) -> None:
        self.db = db
        self.embedder = embedder
        self.alternatives = alternatives or {}
        #: a company created in one of these languages gets this model unless it names one
        self.languages = languages or {}
        self._query_cache_size = query_cache_size
        self._built: dict[str, Embedder] = {embedder.model_id: embedder}
        self._queries: dict[str, CachedQueryEmbedder] = {}
        self._lock = threading.Lock()

    # -- choosing --------------------------------------------------------------------------------------

    def names(self) -> dict[str, str]:
        """The models this process can embed with: name -> model id."""
        return {DEFAULT: self.embedder.model_id} | {n: model for n, (model, _) in self.alternatives.items()}

    def model_for(self, *, name: str | None, language: str) -> str | None:
        """The model id a new company gets: the alternative it names, else its language's; None for the
        default (recorded at its first ingestion)."""
        if name is None:
            name = self.languages.get(language)
            if name is None or name not in self.alternatives:
                return None
        if name == DEFAULT:
            return None
        if name not in self.alternatives:
            available = ", ".join(sorted(self.names()))
            raise InvalidInput(f"embedding model {name!r} is not available here; available: {available}")
        return self.alternatives[name][0]

    def resolve(self, name_or_id: str | None) -> str:
        """A model id from a name or an id this process knows (None: the default)."""
        known = self.names()
        if name_or_id is None:
            return self.embedder.model_id
        if name_or_id in known:
            return known[name_or_id]
        if name_or_id in known.values():
            return name_or_id
        raise InvalidInput(f"unknown embedding model {name_or_id!r}; available: {', '.join(sorted(known))}")

    # -- embedding -------------------------------------------------------------------------------------

    def embedder_for(self, model_id: str | None, *, company_id: str | None = None) -> Embedder:
        """The embedder of ``model_id`` (None: the default), built on first use; refused, naming the
        fix for ``company_id`` when given, if this process cannot embed with it."""
        model_id = model_id or self.embedder.model_id
        built = self._built.get(model_id)
        if built is not None:
            return built
        factory = next((f for model, f in self.alternatives.values() if model == model_id), None)
        if factory is None:
            available = ", ".join(sorted(self.names().values()))
            if company_id is not None:
                raise ModelMismatch(
                    f"company {company_id!r} was embedded with {model_id}; this server embeds with "
                    f"{available}: run `comptoir reembed --company {company_id}`"
                )
            raise ModelMismatch(f"this server cannot embed with {model_id} (it embeds with {available})")
        with self._lock:
            if model_id not in self._built:
                logger.info("loading an embedding model", extra={"model": model_id})
                self._built[model_id] = factory()
        return self._built[model_id]

    def query_embedder(self, model_id: str | None, *, company_id: str | None = None) -> CachedQueryEmbedder:
        """The cached question embedder of ``model_id`` (None: the default); see ``embedder_for``."""
        model_id = model_id or self.embedder.model_id
        cached = self._queries.get(model_id)
        if cached is None:
            embedder = self.embedder_for(model_id, company_id=company_id)
            with self._lock:
                cached = self._queries.setdefault(
                    model_id, CachedQueryEmbedder(embedder, capacity=self._query_cache_size)
                )
        return cached

    def loaded(self) -> list[Embedder]:
        return list(self._built.values())

    # -- each company's ----------------------------------------------------------------------------------

    def company_model(self, conn: Connection | None = None, *, tenant_id: str) -> str | None:
        """The model recorded for the company, refused when this process cannot embed with it; in the
        caller's transaction when given, else in one round trip of its own."""
        rows = (
            self.db.read(tenant_id, _RECORDED, (tenant_id,))
            if conn is None
            else conn.execute(_RECORDED, (tenant_id,)).fetchall()
        )
        recorded: str | None = rows[0]["embedding_model"] if rows else None
        if recorded is not None:
            self.embedder_for(recorded, company_id=tenant_id)  # refused here, naming the fix
        return recorded

    def check(
        self, conn: Connection | None, *, tenant_id: str, model_id: str | None = None, record: bool = False
    ) -> None:
        """Refuse a company whose vectors come from another model than ``model_id`` (None: the default);
        with ``record``, claim an unset one (in the caller's transaction). ``conn`` None: read in one
        round trip of its own."""
        model_id = model_id or self.embedder.model_id
        if conn is None:
            if record:
                raise ValueError("recording a company's model needs the caller's transaction")
            rows = self.db.read(tenant_id, _RECORDED, (tenant_id,))
        else:
            if record:
                conn.execute(_RECORD, (model_id, tenant_id))
            rows = conn.execute(_RECORDED, (tenant_id,)).fetchall()
        recorded = rows[0]["embedding_model"] if rows else None
        if recorded is not None and recorded != model_id:
            raise ModelMismatch(
                f"company {tenant_id!r} was embedded with {recorded}; this server embeds with "
                f"{model_id}: run `comptoir reembed --company {tenant_id}`"
            )

    def recorded(self, *, tenant_id: str) -> str | None:
        with self.db.tenant(tenant_id) as conn:
            row = conn.execute(_RECORDED, (tenant_id,)).fetchone()
        return row["embedding_model"] if row else None

    def reembed(
        self, *, tenant_id: str, model_id: str | None = None, progress: Callable[[int], None] | None = None
    ) -> int:
        """Re-embed every chunk of the company with ``model_id`` (None: the default model), which becomes
        the company's; returns the chunk count."""
        embedder = self.embedder_for(model_id)
        with self.db.tenant(tenant_id) as conn:
            conn.execute(LOCK_COMPANY, (tenant_id,))
            rows = conn.execute(_CHUNKS, (tenant_id,)).fetchall()
            batch = max(embedder.batch_size * 4, 64)
            for start in range(0, len(rows), batch):
                part = rows[start : start + batch]
                vectors = embedder.embed([f"{r['title']}\n{r['text']}" for r in part])
                with conn.cursor() as cur:
                    cur.executemany(
                        _UPDATE,
                        [
                            (HalfVector(v.astype(np.float16)), tenant_id, r["document_id"], r["ordinal"])
                            for r, v in zip(part, vectors, strict=True)
                        ],
                    )
                if progress:
                    progress(len(part))
            conn.execute(_SET, (embedder.model_id, tenant_id))
            conn.execute(BUMP_KNOWLEDGE, (tenant_id,))
        logger.info(
            "company re-embedded",
            extra={"tenant_id": tenant_id, "chunks": len(rows), "model": embedder.model_id},
        )
        return len(rows)
