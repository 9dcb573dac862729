"""Settings, read once from ``COMPTOIR_*`` environment variables (and CLI options that override them)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from comptoir.chat.providers import ProviderConfig

EmbeddingBackend = Literal["onnx", "onnx-int8", "sentence-transformers", "remote", "fake"]

#: Admin keys shorter than this are refused at start: they would be guessable.
MIN_ADMIN_KEY_LENGTH = 24


class Settings(BaseSettings):
    """Every setting of a Comptoir process. One instance is built at start-up and passed down."""

    model_config = SettingsConfigDict(env_prefix="COMPTOIR_", extra="ignore")

    home: Path = Field(default=Path(".comptoir"), description="data directory (embedded database, keys)")
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of a role that owns the schema; unset: embedded PostgreSQL under home",
    )
    app_role: str = Field(default="comptoir_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    app_db_password: str | None = Field(
        default=None, description="password of the application role, required with database_url"
    )
    admin_key: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="`comptoir serve`: server processes on the port, each with its own pool, model, caches",
    )
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=10, ge=1)

    # int8 with the feed-forward outputs in float: within 0.0039 nDCG@10 of PyTorch fp32 on SciFact, and
    # the only CPU backend over 300 chunks/s on two cores (see the README's measurements)
    embedding_backend: EmbeddingBackend = "onnx-int8"
    embedding_model: str | None = Field(
        default=None, description="sentence-transformers model directory; default all-MiniLM-L6-v2"
    )
    embedding_batch_size: int | None = Field(default=None, ge=1, le=4096, description="default: per device")
    embedding_device: Literal["auto", "cuda", "mps", "cpu"] = "auto"
    model_cache: Path | None = Field(default=None, description="exported models; default: home/models")
    embedding_threads: int | None = Field(default=None, ge=1, description="ONNX Runtime threads")
    embedding_url: str | None = Field(default=None, description="remote backend: base URL up to /v1")
    embedding_remote_model: str | None = Field(default=None, description="remote backend: model name")
    embedding_api_key_env: str | None = None
    embedding_timeout_s: float = Field(default=10.0, gt=0)
    multilingual_languages: str = Field(
        default="",
        description="languages (comma-separated) whose new companies get the multilingual model when it "
        "is installed and the backend is onnx or onnx-int8",
    )

    ann_min_chunks: int = Field(
        default=5000,
        ge=0,
        description="a company with this many chunks gets its own HNSW index and full-text postings "
        "(0: never)",
    )
    graph_memory_mb: int = Field(
        default=512,
        ge=0,
        description="memory the largest companies' in-memory graphs take, from ann_min_chunks chunks "
        "on, largest first; saved under home/graphs and mapped by every process of the machine (0: none; "
        "the dense leg in PostgreSQL alone)",
    )

    max_request_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_document_chars: int = Field(default=2_000_000, ge=1)
    max_documents_per_request: int = Field(default=500, ge=1)
    max_query_chars: int = Field(default=2_000, ge=1)
    max_k: int = Field(default=50, ge=1)
    max_message_chars: int = Field(default=2_000, ge=1)
    memory_turns: int = Field(default=6, ge=0, le=50, description="past turns fed to the next answer")
    follow_up_max_words: int = Field(default=8, ge=0, description="shorter messages reuse the last question")
    follow_up_window_s: int = Field(default=1800, ge=0)
    chat_k: int = Field(default=8, ge=1, le=20, description="passages retrieved per chat message")
    chat_deadline_s: float = Field(default=20.0, gt=0, le=300, description="total time for providers")
    providers: list[ProviderConfig] = Field(
        default_factory=list, description="ordered OpenAI-compatible providers, JSON in COMPTOIR_PROVIDERS"
    )
    cache_enabled: bool = True
    cache_threshold: float = Field(default=0.88, ge=0, le=1, description="cosine similarity for a cache hit")
    cache_ttl_s: float = Field(default=86_400, gt=0)
    cache_l1_size: int = Field(default=10_000, ge=1)
    query_embedding_cache_size: int = Field(default=4_096, ge=1)
    breaker_threshold: int = Field(default=3, ge=1)
    breaker_cooldown_s: float = Field(default=30.0, ge=0)
    chunk_tokens: int = Field(default=250, ge=32, le=2048)
    chunk_overlap_tokens: int = Field(default=30, ge=0, le=512)

    # -- input limits: parsing and validation of what callers send --
    max_json_depth: int = Field(default=64, ge=2, le=512, description="nesting of any JSON body or file")
    max_items_per_document: int = Field(default=20_000, ge=1, description="records and passages read")
    max_fields_per_record: int = Field(default=500, ge=1, description="CSV columns, JSON object fields")
    max_field_chars: int = Field(default=100_000, ge=1, description="one CSV field")
    max_chunks_per_document: int = Field(default=5_000, ge=1)
    max_chunks_per_request: int = Field(default=20_000, ge=1)
    max_metadata_depth: int = Field(default=8, ge=1, le=64)
    max_metadata_bytes: int = Field(default=16_384, ge=64, description="a document's metadata as JSON")
    parse_workers: int = Field(default=2, ge=1, le=64, description="processes that parse uploads")
    parse_seconds: float = Field(default=30.0, gt=0, le=600, description="parsing budget per document")
    parse_request_seconds: float = Field(default=60.0, gt=0, le=3600, description="per request")
    parse_memory_bytes: int = Field(default=1024**3, ge=64 * 1024**2, description="per parsing process")

    # -- background ingestion jobs --
    job_threshold_chunks: int = Field(
        default=500,
        ge=0,
        description="an upload of more chunks answers 202 with a job (?wait=true waits, ?wait=false never)",
    )
    job_workers: int = Field(default=1, ge=0, le=16, description="job worker threads inside `comptoir serve`")
    job_batch_documents: int = Field(default=32, ge=1, le=1000, description="documents per job transaction")
    job_lease_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="a running job whose worker is silent this long is taken over",
    )
    job_poll_s: float = Field(default=1.0, gt=0, le=60, description="how often an idle worker looks for jobs")

    # -- the embedded database and the process's life (privileges, shutdown) --
    service_user: str = Field(
        default="comptoir",  # comptoir.privileges.DEFAULT_SERVICE_USER
        pattern=r"^[a-z_][a-z0-9_-]{0,31}$",
        description="system user (created if missing) that runs the embedded PostgreSQL and, started as "
        "root, `comptoir serve`; the only OS user besides root that can reach the embedded database",
    )
    drop_privileges: bool = Field(
        default=True,
        description="started as root, `comptoir serve` becomes service_user once the database is up, "
        "before it loads the model or accepts a request (embedded or external database alike)",
    )
    shutdown_timeout_s: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="after SIGTERM, time left to requests in flight; then they are abandoned (their "
        "transactions roll back), the embedded database is stopped and the process exits",
    )
    health_interval_s: float = Field(
        default=1.0, gt=0, le=60, description="how often /healthz's view of the database is refreshed"
    )

    # -- what the operator sees: metrics and logs --
    metrics_public: bool = Field(
        default=False, description="serve /metrics without the admin key (to a scraper on a private network)"
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="log lines as text (key=value fields) or one JSON object per line"
    )

    # -- keys, request rates and quotas --
    chat_key_rate_per_minute: int = Field(default=60, ge=1, description="requests per chat key")
    admin_key_rate_per_minute: int = Field(default=3000, ge=1, description="requests per admin key")
    company_rate_per_minute: int = Field(default=6000, ge=1, description="requests per company, all keys")
    messages_per_day: int = Field(default=10_000, ge=0, description="chat messages per company per UTC day")
    messages_per_month: int = Field(default=200_000, ge=0, description="chat messages per company per month")
    llm_tokens_per_month: int = Field(
        default=5_000_000, ge=0, description="provider tokens per company per month; then extractive answers"
    )

    @field_validator("admin_key")
    @classmethod
    def _admin_key_strong_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value) < MIN_ADMIN_KEY_LENGTH:
            raise ValueError(f"COMPTOIR_ADMIN_KEY must be at least {MIN_ADMIN_KEY_LENGTH} characters")
        return value

    @property
    def multilingual_language_list(self) -> list[str]:
        return [part.strip() for part in self.multilingual_languages.split(",") if part.strip()]

    @property
    def embedded(self) -> bool:
        return self.database_url is None
