"""`comptoir worker` (more workers for background ingestion jobs, against the same database as `serve`)
and `comptoir jobs` (a company's jobs and one job's progress)."""

from __future__ import annotations

import json
import signal
import threading
import uuid

import click

from comptoir.api.schemas_jobs import job_out
from comptoir.cli import _comptoir, _settings, main


@main.command()
@click.option("--threads", type=click.IntRange(1, 16), default=1, show_default=True, help="jobs run at once")
@click.pass_context
def worker(ctx: click.Context, threads: int) -> None:
    """Run background ingestion jobs until SIGTERM or Ctrl-C (the batch in hand is finished first)."""
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    with _comptoir(_settings(ctx)) as app:
        runners = [app.job_runner() for _ in range(threads)]
        for runner in runners:
            runner.start()
        click.echo(f"worker: {threads} thread(s) waiting for jobs", err=True)
        stopping.wait()
        for runner in runners:
            runner.request_stop()
        for runner in runners:
            runner.stop()


@main.group()
def jobs() -> None:
    """Background ingestion jobs."""


@jobs.command("list")
@click.argument("company_id")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.pass_context
def jobs_list(ctx: click.Context, company_id: str, limit: int) -> None:
    """A company's jobs, newest first: id, status, documents done of total, chunks done of total."""
    with _comptoir(_settings(ctx), with_model=False) as app:
        app.companies.get(company_id=company_id)
        for job in app.jobs.recent(tenant_id=company_id, limit=limit):
            click.echo(
                f"{job.id}\t{job.status}\t{job.documents_done}/{job.documents_total} documents\t"
                f"{job.chunks_done}/{job.chunks_total} chunks\t{job.created_at.isoformat()}"
            )


@jobs.command("show")
@click.argument("job_id", type=click.UUID)
@click.pass_context
def jobs_show(ctx: click.Context, job_id: uuid.UUID) -> None:
    """One job as JSON, each document's result included."""
    with _comptoir(_settings(ctx), with_model=False) as app:
        company_id = app.jobs.company_of(job_id)
        job = app.jobs.get(tenant_id=company_id, job_id=job_id)
    click.echo(json.dumps(job_out(job).model_dump(mode="json"), ensure_ascii=False, indent=2))
