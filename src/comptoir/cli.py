"""The `comptoir` command line: a thin layer over the Comptoir facade.

Every option can also be set through a ``COMPTOIR_*`` variable (``COMPTOIR_HOST``, ``COMPTOIR_PORT``,
``COMPTOIR_COMPANY``...). Domain errors become one-line messages here and nowhere else.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from comptoir.config import Settings
from comptoir.errors import ComptoirError, InvalidInput
from comptoir.facts.extract import KINDS
from comptoir.logs import LogFormat, configure_logging

if TYPE_CHECKING:
    from comptoir.app import Comptoir
    from comptoir.db.bootstrap import DatabaseTarget

logger = logging.getLogger(__name__)


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    base: dict[str, Any] = dict(ctx.obj or {})
    base.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**base)


@contextmanager
def _comptoir(
    settings: Settings, *, with_model: bool = True, target: DatabaseTarget | None = None
) -> Iterator[Any]:
    from comptoir.app import Comptoir

    embedder = None
    if not with_model:
        from comptoir.embedding.fake import FakeEmbedder

        embedder = FakeEmbedder()  # company commands never embed; spare them the model load
    app = Comptoir.open(settings, embedder=embedder, target=target)
    try:
        yield app
    finally:
        app.close()


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ComptoirError as exc:
            raise click.ClickException(exc.message) from exc


@click.group(
    cls=_Group, context_settings={"auto_envvar_prefix": "COMPTOIR", "help_option_names": ["-h", "--help"]}
)
@click.option(
    "--home", type=click.Path(path_type=Path), envvar="COMPTOIR_HOME", help="data directory [./.comptoir]"
)
@click.option("--database-url", envvar="COMPTOIR_DATABASE_URL", help="PostgreSQL URL; unset: embedded")
@click.option("--log-level", envvar="COMPTOIR_LOG_LEVEL", default="INFO", show_default=True)
@click.option(
    "--log-format",
    envvar="COMPTOIR_LOG_FORMAT",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per log line",
)
@click.version_option(package_name="comptoir")
@click.pass_context
def main(
    ctx: click.Context, home: Path | None, database_url: str | None, log_level: str, log_format: LogFormat
) -> None:
    """Comptoir: a multi-tenant retrieval-augmented chat server for businesses."""
    configure_logging(log_level, log_format)
    given = {"home": home, "database_url": database_url, "log_format": log_format}
    ctx.obj = {k: v for k, v in given.items() if v is not None}


@main.command()
@click.option("--host", envvar="COMPTOIR_HOST", default=None, help="[127.0.0.1]")
@click.option("--port", envvar="COMPTOIR_PORT", type=int, default=None, help="[8000]")
@click.option("--demo/--no-demo", envvar="COMPTOIR_DEMO", default=False, help="load the demo companies")
@click.option(
    "--workers",
    envvar="COMPTOIR_WORKERS",
    type=click.IntRange(1, 64),
    default=None,
    help="server processes on the port, each with its own pool, model and caches [1]",
)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, demo: bool, workers: int | None) -> None:
    """Serve the HTTP API. Started as root, it starts the database, then becomes the service user
    (COMPTOIR_SERVICE_USER) before it loads the model. On SIGTERM/SIGINT it lets requests in flight
    finish within COMPTOIR_SHUTDOWN_TIMEOUT_S and stops the embedded database it started (with several
    workers, once they have all exited)."""
    from comptoir.api import serving
    from comptoir.api.app import create_app
    from comptoir.db.bootstrap import prepare, release

    settings = _settings(ctx, host=host, port=port, workers=workers)
    # uvicorn re-raises the signal it caught once it has shut down; make SIGTERM unwind through the
    # `with` below (like SIGINT's KeyboardInterrupt does) so the embedded database is stopped. Set
    # before the database starts: a SIGTERM during start-up unwinds the same way.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    target = prepare(settings)
    try:
        _drop_privileges(settings)
    except BaseException:
        release(target)
        raise
    if settings.workers > 1:
        _serve_workers(settings, target, demo=demo)
        return
    with _comptoir(settings, target=target) as app:
        _announce(app, settings, demo=demo)
        serving.run(
            create_app(app),
            host=settings.host,
            port=settings.port,
            shutdown_timeout_s=settings.shutdown_timeout_s,
            on_abandon=lambda: release(target),
        )


def _serve_workers(settings: Settings, target: DatabaseTarget, *, demo: bool) -> None:
    """``serve --workers N``: the model exported, the admin key written and the demo loaded once, here,
    before the worker processes start (they would race on each); this process keeps the database and
    stops it after them."""
    from dataclasses import replace

    from comptoir.api import workers
    from comptoir.db.bootstrap import release

    try:
        _prepare_for_workers(settings, replace(target, started_embedded=False), demo=demo)
        workers.run(settings, target, workers=settings.workers)
    finally:
        release(target)


def _prepare_for_workers(settings: Settings, borrowed: DatabaseTarget, *, demo: bool) -> None:
    """A Comptoir opened and closed here, its model with it: the parent keeps no copy while it waits."""
    with _comptoir(settings, target=borrowed) as app:
        _announce(app, settings, demo=demo, workers=settings.workers)


def _announce(app: Comptoir, settings: Settings, *, demo: bool, workers: int = 1) -> None:
    """Where the admin key is, the demo companies (loaded now) and their keys, the address."""
    from comptoir.app import admin_key_path

    key_file = admin_key_path(settings)
    click.echo(f"Admin key file: {key_file}" if key_file else "Admin key: from COMPTOIR_ADMIN_KEY")
    if demo:
        from comptoir.demo_loader import load_demo

        companies = load_demo(app)
        for company in companies:
            click.echo(f"Demo company {company.id}: key {company.api_key}")
        example = next((c for c in companies if c.example_question), None)
        if example:
            body = json.dumps({"query": example.example_question, "k": 3}, ensure_ascii=False)
            url = f"http://{settings.host}:{settings.port}/v1/companies/{example.id}/search"
            click.echo(
                f"Try:\n  curl -s {url} -H 'Authorization: Bearer {example.api_key}' "
                f"-H 'Content-Type: application/json' -d '{body}'"
            )
    processes = f", {workers} worker processes" if workers > 1 else ""
    click.echo(f"Serving on http://{settings.host}:{settings.port} (OpenAPI page at /docs{processes})")


def _drop_privileges(settings: Settings) -> None:
    """As root, become the service user: it owns the data directory (but the database's own files) and
    the model cache from now on."""
    if not settings.drop_privileges:
        return
    from comptoir.observability.metrics import multiprocess_dir
    from comptoir.privileges import drop_privileges

    home = settings.home.expanduser().resolve()
    writable = [settings.model_cache.expanduser().resolve()] if settings.model_cache else []
    metrics = multiprocess_dir()
    if metrics:  # every process of the server writes its samples there
        writable.append(Path(metrics).expanduser().resolve())
    drop_privileges(settings.service_user, home=home, writable=writable, skip=[home / "pgdata"])


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


@main.group()
def company() -> None:
    """Create, list and delete companies."""


@company.command("create")
@click.argument("company_id")
@click.option("--name", required=True)
@click.option("--language", type=click.Choice(["fr", "en", "simple"]), default="fr", show_default=True)
@click.option(
    "--model",
    type=click.Choice(["default", "multilingual"]),
    default=None,
    help="the embedding model [default: by language, COMPTOIR_MULTILINGUAL_LANGUAGES]",
)
@click.pass_context
def company_create(ctx: click.Context, company_id: str, name: str, language: str, model: str | None) -> None:
    """Create a company and print its API key (shown once)."""
    with _comptoir(_settings(ctx), with_model=False) as app:
        created, key = app.companies.create(
            company_id=company_id,
            name=name,
            language=language,
            embedding_model=app.models.model_for(name=model, language=language),
            audit=app.audit,
        )
    click.echo(
        json.dumps(
            {
                "id": created.id,
                "name": created.name,
                "language": created.language,
                "embedding_model": created.embedding_model,
                "api_key": key,
            }
        )
    )


@company.command("list")
@click.pass_context
def company_list(ctx: click.Context) -> None:
    with _comptoir(_settings(ctx), with_model=False) as app:
        for c in app.companies.list():
            click.echo(f"{c.id}\t{c.language}\tv{c.knowledge_version}\t{c.name}")


@company.command("delete")
@click.argument("company_id")
@click.confirmation_option(prompt="Delete this company and all its documents?")
@click.pass_context
def company_delete(ctx: click.Context, company_id: str) -> None:
    with _comptoir(_settings(ctx), with_model=False) as app:
        app.companies.delete(company_id=company_id, audit=app.audit)
    click.echo(f"deleted {company_id}")


@company.command("dense-weight")
@click.argument("company_id")
@click.argument("weight")
@click.pass_context
def company_dense_weight(ctx: click.Context, company_id: str, weight: str) -> None:
    """Set the dense leg's share of the company's hybrid search: a number from 0 (full text only) to 1
    (dense only), or "default" (0.5)."""
    try:
        value = None if weight == "default" else float(weight)
    except ValueError:
        raise click.BadParameter("a number from 0 to 1, or 'default'", param_hint="WEIGHT") from None
    with _comptoir(_settings(ctx), with_model=False) as app:
        company = app.companies.set_dense_weight(company_id=company_id, weight=value)
    shown = "default (0.5)" if company.dense_weight is None else f"{company.dense_weight:g}"
    click.echo(f"{company.id}: dense weight {shown}")


@company.command("rotate-key")
@click.argument("company_id")
@click.pass_context
def company_rotate_key(ctx: click.Context, company_id: str) -> None:
    """Revoke the company's keys and print a new one."""
    from comptoir.access.audit import CLI

    with _comptoir(_settings(ctx), with_model=False) as app:
        key, secret = app.keys.rotate(company_id=company_id)
        app.audit.record(company_id=company_id, actor=CLI, action="key.rotate", target=str(key.id))
        click.echo(secret)


def _files(paths: tuple[Path, ...]) -> list[Path]:
    from comptoir.ingest.loaders import SUPPORTED_SUFFIXES

    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
            )
        else:
            found.append(path)
    return found


@main.command()
@click.option("--company", "company_id", envvar="COMPTOIR_COMPANY", required=True)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.pass_context
def ingest(ctx: click.Context, company_id: str, paths: tuple[Path, ...]) -> None:
    """Ingest files and folders (.txt .md .csv .json .jsonl .html) into a company."""
    from tqdm import tqdm

    from comptoir.ingest.loaders import parse_file

    files = _files(paths)
    if not files:
        raise InvalidInput("no supported files found")
    settings = _settings(ctx)
    with _comptoir(settings) as app:
        app.companies.get(company_id=company_id)
        batch = settings.job_batch_documents
        results = []
        with tqdm(total=len(files), unit="doc", file=sys.stderr) as bar:
            # one path for every run: documents read, then embedded and written a batch at a time (shared
            # embedding batches, one transaction and one relearning of the company's facts per batch)
            for start in range(0, len(files), batch):
                documents = [
                    parse_file(p.name, p.read_bytes(), source=str(p)) for p in files[start : start + batch]
                ]
                results.extend(app.documents.ingest(tenant_id=company_id, documents=documents))
                bar.update(len(documents))
    for r in results:
        click.echo(f"{r.status}\t{r.chunks} chunks\t{r.title}")


@main.command()
@click.option("--company", "company_id", envvar="COMPTOIR_COMPANY", required=True)
@click.option("-k", type=int, default=5, show_default=True)
@click.argument("query")
@click.pass_context
def search(ctx: click.Context, company_id: str, k: int, query: str) -> None:
    """Hybrid search in one company's documents."""
    with _comptoir(_settings(ctx)) as app:
        app.companies.get(company_id=company_id)
        result = app.searcher.search(tenant_id=company_id, query=query, k=k)
    for hit in result.hits:
        click.echo(f"{hit.score:.4f}\t{hit.title}\t{' '.join(hit.text.split())[:160]}")
    click.echo(f"timings_ms: {json.dumps(result.timings_ms)}", err=True)


def _print_answer(answer: Any) -> None:
    click.echo(answer.answer)
    for source in answer.sources:
        click.echo(f"  [{source.title}] {source.snippet[:100]}", err=True)
    click.echo(f"provider: {answer.provider}  total: {answer.timings_ms['total']:.0f} ms", err=True)


@main.command()
@click.option("--company", "company_id", envvar="COMPTOIR_COMPANY", required=True)
@click.option("--user", "user_id", envvar="COMPTOIR_USER", default="cli", show_default=True)
@click.argument("message")
@click.pass_context
def ask(ctx: click.Context, company_id: str, user_id: str, message: str) -> None:
    """Ask one question as a customer of the company."""
    with _comptoir(_settings(ctx)) as app:
        app.companies.get(company_id=company_id)
        _print_answer(app.chat.answer(tenant_id=company_id, user_id=user_id, message=message))


@main.command("chat")
@click.option("--company", "company_id", envvar="COMPTOIR_COMPANY", required=True)
@click.option("--user", "user_id", envvar="COMPTOIR_USER", default="cli", show_default=True)
@click.pass_context
def chat_command(ctx: click.Context, company_id: str, user_id: str) -> None:
    """Chat interactively (the conversation is remembered); an empty line or Ctrl-D ends it."""
    with _comptoir(_settings(ctx)) as app:
        company = app.companies.get(company_id=company_id)
        click.echo(f"{company.name} — posez votre question (ligne vide pour finir)")
        while True:
            try:
                message = input("> ").strip()
            except EOFError:
                break
            if not message:
                break
            try:
                _print_answer(app.chat.answer(tenant_id=company_id, user_id=user_id, message=message))
            except ComptoirError as exc:
                click.echo(f"error: {exc.message}", err=True)


@main.command()
@click.option("--company", "company_id", envvar="COMPTOIR_COMPANY", required=True)
@click.option("--kind", type=click.Choice(KINDS))
@click.option("--relearn", is_flag=True, help="learn conventions and facts again from all documents first")
@click.pass_context
def facts(ctx: click.Context, company_id: str, kind: str | None, relearn: bool) -> None:
    """The facts learned from a company's documents, and its conventions."""
    with _comptoir(_settings(ctx), with_model=False) as app:
        app.companies.get(company_id=company_id)
        if relearn:
            app.fact_store.relearn_all(tenant_id=company_id)
        conventions = app.fact_store.conventions(tenant_id=company_id)
        click.echo(f"currency: {conventions['currency']}  $ = {conventions['dollar']}")
        for name, values in (conventions["vocabulary"] or {}).items():
            click.echo(f"{name}: {', '.join(map(str, values))}")
        for stored in app.fact_store.facts(tenant_id=company_id, kind=kind):
            fact = stored.fact
            amount = f"{fact.amount} {fact.currency}" if fact.amount is not None else ""
            click.echo(f"{fact.kind}\t{amount}\t{' '.join(fact.text.split())[:120]}\t[{stored.title}]")


@main.command()
@click.option(
    "--company",
    "company_id",
    envvar="COMPTOIR_COMPANY",
    help="one company; default: every company whose vectors come from a model this server lacks",
)
@click.option(
    "--model",
    type=click.Choice(["default", "multilingual"]),
    default=None,
    help="with --company: move it to this model [default: the default model]",
)
@click.pass_context
def reembed(ctx: click.Context, company_id: str | None, model: str | None) -> None:
    """Re-embed companies: after changing COMPTOIR_EMBEDDING_MODEL, or to move one to another model."""
    from tqdm import tqdm

    if model and not company_id:
        raise click.UsageError("--model needs --company")
    with _comptoir(_settings(ctx)) as app:
        model_id = app.models.resolve(model)
        known = set(app.models.names().values())
        targets = (
            [company_id]
            if company_id
            else [
                c.id
                for c in app.companies.list()
                if app.models.recorded(tenant_id=c.id) not in (None, *known)
            ]
        )
        if not targets:
            click.echo(f"every company is embedded with a model this server has ({', '.join(sorted(known))})")
        for target in targets:
            app.companies.get(company_id=target)
            with tqdm(desc=target, unit="chunk", file=sys.stderr) as bar:
                count = app.models.reembed(tenant_id=target, model_id=model_id, progress=bar.update)
            click.echo(f"{target}: {count} chunks re-embedded with {model_id}")


@main.group("eval")
def eval_group() -> None:
    """Measure retrieval quality."""


@eval_group.command("retrieval")
@click.option(
    "--dataset", "folder", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("--split", default="test", show_default=True)
@click.option("--language", type=click.Choice(["fr", "en", "simple"]), default="en", show_default=True)
@click.option("--max-queries", type=int, default=None, help="evaluate the first N judged queries only")
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(["dense", "fulltext", "hybrid"]),
    help="default: all three",
)
@click.option(
    "--dense-weight",
    "dense_weights",
    multiple=True,
    type=click.FloatRange(0, 1),
    help="also a hybrid line with this dense share of the fusion (repeatable)",
)
@click.option(
    "--embedder",
    type=click.Choice(["default", "multilingual"]),
    default="default",
    show_default=True,
    help="the evaluation company's embedding model",
)
@click.option("--keep", is_flag=True, help="keep the evaluation company afterwards")
@click.pass_context
def eval_retrieval(
    ctx: click.Context,
    folder: Path,
    split: str,
    language: str,
    max_queries: int | None,
    modes: tuple[str, ...],
    dense_weights: tuple[float, ...],
    embedder: str,
    keep: bool,
) -> None:
    """nDCG@10, Recall@10, Recall@100 and MRR@10 of dense, full-text and hybrid search on a BEIR dataset
    (corpus.jsonl, queries.jsonl, qrels/<split>.tsv), loaded through the real ingestion path."""
    import secrets

    from tqdm import tqdm

    from comptoir.evaluation.beir import MODES, evaluate, ingest_corpus, load_dataset

    dataset = load_dataset(folder, split=split, max_queries=max_queries)
    with _comptoir(_settings(ctx)) as app:
        name = "".join(c if c.isalnum() else "-" for c in dataset.name.lower())[:40].strip("-") or "dataset"
        tenant = f"eval-{name}-{secrets.token_hex(3)}"
        model = app.models.model_for(name=embedder, language=language)
        app.companies.create(
            company_id=tenant, name=f"evaluation of {dataset.name}", language=language, embedding_model=model
        )
        try:
            with tqdm(total=len(dataset.corpus), desc="ingest", unit="doc", file=sys.stderr) as bar:
                ids, rate = ingest_corpus(app, tenant, dataset, progress=bar.update)
            click.echo(
                f"{dataset.name}: {len(dataset.corpus)} documents, {len(dataset.queries)} queries ({split}); "
                f"embedder {app.models.embedder_for(model).name}; ingestion {rate:.0f} chunks/s"
            )
            chosen = tuple(modes) or MODES
            for scores in evaluate(app, tenant, dataset, ids, modes=chosen, dense_weights=dense_weights):  # type: ignore[arg-type]
                click.echo(scores.line())
        finally:
            if not keep:
                app.companies.delete(company_id=tenant)


@main.group("bench")
def bench_group() -> None:
    """Measure speed."""


@bench_group.command("embed")
@click.option("--texts", type=int, default=512, show_default=True)
@click.option(
    "--dataset",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="embed the chunks of this BEIR corpus [default: the demo companies' chunks]",
)
@click.pass_context
def bench_embed(ctx: click.Context, texts: int, dataset: Path | None) -> None:
    """Chunks/s and single-query latency of each available embedding backend, side by side."""
    from comptoir.embedding.benchmark import available_backends, corpus_texts, measure, sample_texts

    settings = _settings(ctx)
    chunks = corpus_texts(dataset, texts) if dataset else sample_texts(texts)
    results = measure([backend() for backend in available_backends(settings)], chunks)
    for result in results:
        click.echo(result.line(baseline=results[0]))


@bench_group.command("ingest")
@click.option("--url", default=None, help="a running server [default: one started on a temporary directory]")
@click.option("--admin-key", envvar="COMPTOIR_ADMIN_KEY", default=None, help="the operator's key, with --url")
@click.option("--clients", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option(
    "--phase",
    "phases",
    multiple=True,
    type=click.IntRange(1, 100_000),
    help="documents [default: 100 500 1000]",
)
@click.pass_context
def bench_ingest(
    ctx: click.Context, url: str | None, admin_key: str | None, clients: int, phases: tuple[int, ...]
) -> None:
    """Load phases over HTTP: FAQ-sized documents, one per request from concurrent clients, into a fresh
    company per phase; one line per phase with its success rate, documents/s and P50/P95 per request.
    Exits 1 when a document failed."""
    from contextlib import nullcontext

    import httpx
    from tqdm import tqdm

    from comptoir.evaluation.load import PHASES, IngestLoad, LoadError
    from comptoir.evaluation.local_server import LocalServer

    if url and not admin_key:
        raise click.UsageError("--url needs --admin-key (or COMPTOIR_ADMIN_KEY)")
    settings = _settings(ctx)
    server = (
        nullcontext(None) if url else LocalServer(models=settings.model_cache or settings.home / "models")
    )
    failed = False
    with server as local:
        if local is not None:
            click.echo(f"started a server on a temporary data directory at {local.base_url}", err=True)
            url, admin_key = local.base_url, local.admin_key
        assert url is not None
        assert admin_key is not None
        load = IngestLoad(url, admin_key)
        for size in phases or PHASES:
            with tqdm(total=size, desc=f"{size} documents", unit="doc", file=sys.stderr, leave=False) as bar:
                try:
                    phase = load.run(size, clients=clients, on_done=lambda: bar.update(1))
                except (LoadError, httpx.HTTPError) as error:
                    raise click.ClickException(str(error) or type(error).__name__) from None
            click.echo(phase.line())
            failed = failed or phase.succeeded < size
    ctx.exit(1 if failed else 0)


@main.group()
def db() -> None:
    """The embedded database: start, stop, status, url."""


def _embedded(ctx: click.Context) -> Any:
    from comptoir.db.embedded import EmbeddedPostgres

    settings = _settings(ctx)
    if not settings.embedded:
        raise click.ClickException("COMPTOIR_DATABASE_URL is set: there is no embedded database to manage")
    return EmbeddedPostgres(settings.home, user=settings.service_user)


@db.command("start")
@click.pass_context
def db_start(ctx: click.Context) -> None:
    """Start the embedded database and leave it running (and migrated) for every process: no
    `comptoir serve` stops it on exit, only `comptoir db stop` does."""
    from comptoir.db.bootstrap import prepare

    started = _embedded(ctx).start(shared=True)
    prepare(_settings(ctx))  # reaches the running server: migrations and the app role
    click.echo("started" if started else "already running")


@db.command("stop")
@click.pass_context
def db_stop(ctx: click.Context) -> None:
    click.echo("stopped" if _embedded(ctx).stop() else "not running")


@db.command("status")
@click.pass_context
def db_status(ctx: click.Context) -> None:
    running = _embedded(ctx).is_running()
    click.echo("running" if running else "stopped")
    ctx.exit(0 if running else 3)


@db.command("url")
@click.pass_context
def db_url(ctx: click.Context) -> None:
    """The owner connection URL of the embedded database (for psql)."""
    from comptoir.db.bootstrap import EMBEDDED_DATABASE

    click.echo(_embedded(ctx).url(EMBEDDED_DATABASE))


# the access commands live in their own module and register themselves on `main`
from comptoir import cli_access, cli_indexes, cli_jobs, cli_questions  # noqa: E402, F401

if __name__ == "__main__":
    # run as `python -m comptoir.cli`, this file is `__main__`: the commands of cli_access and cli_jobs
    # registered themselves on the `main` of the module `comptoir.cli`
    from comptoir.cli import main as registered

    registered()
