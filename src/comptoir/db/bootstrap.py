"""From settings to a migrated database and the application role's connection string."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from comptoir.config import Settings
from comptoir.db.embedded import EmbeddedPostgres
from comptoir.db.migrate import ensure_app_role, migrate
from comptoir.errors import ConfigurationError, DatabaseError

logger = logging.getLogger(__name__)

EMBEDDED_DATABASE = "comptoir"


@dataclass
class DatabaseTarget:
    owner_url: str
    app_url: str
    embedded: EmbeddedPostgres | None
    #: this process started the embedded server, or took it over from a crashed one: it stops it
    started_embedded: bool


def app_url_for(owner_url: str, *, role: str, password: str | None) -> str:
    params = conninfo_to_dict(owner_url)
    params["user"] = role
    params.pop("password", None)
    if password is not None:
        params["password"] = password
    return make_conninfo(**params)  # type: ignore[arg-type]


def ensure_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            # another process starting beside us may create it first
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prepare(settings: Settings, *, start_embedded: bool = True) -> DatabaseTarget:
    """Start the embedded server if configured so, apply migrations, set up the app role."""
    embedded: EmbeddedPostgres | None = None
    started = False
    if settings.database_url is None:
        embedded = EmbeddedPostgres(settings.home, user=settings.service_user)
        if start_embedded:
            started = embedded.start()
        elif not embedded.is_running():
            raise DatabaseError("the embedded database is not running; start it with `comptoir db start`")
        owner_url = embedded.url(EMBEDDED_DATABASE)
        # no password: a private socket and peer authentication, only root and the service user reach it
        password = None
    else:
        owner_url = settings.database_url
        password = settings.app_db_password
        if password is None:
            raise ConfigurationError(
                "COMPTOIR_APP_DB_PASSWORD must be set with COMPTOIR_DATABASE_URL: the application connects "
                f"as the role {settings.app_role!r}, which owns nothing and cannot bypass row-level security"
            )
    try:
        if embedded:
            ensure_database(embedded.url(), EMBEDDED_DATABASE)
        with psycopg.connect(owner_url, autocommit=True) as conn:
            applied = migrate(conn)
            ensure_app_role(conn, role=settings.app_role, password=password)
    except BaseException as exc:
        if started and embedded:
            embedded.stop()  # leave nothing running behind a failed start
        if isinstance(exc, psycopg.OperationalError):
            raise DatabaseError(f"cannot connect to the database: {exc}") from exc
        raise
    if applied:
        logger.info("database migrated", extra={"versions": applied})
    return DatabaseTarget(
        owner_url=owner_url,
        app_url=app_url_for(owner_url, role=settings.app_role, password=password),
        embedded=embedded,
        started_embedded=started,
    )


def release(target: DatabaseTarget) -> None:
    """Stop the embedded server if this process is responsible for it (it started it or took it over)."""
    if target.started_embedded and target.embedded:
        target.embedded.stop()
