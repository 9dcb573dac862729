"""`comptoir index`: the large companies' own approximate indexes (see ``comptoir.retrieval.ann``)."""

from __future__ import annotations

import click

from comptoir.cli import _comptoir, _settings, main


@main.group()
def index() -> None:
    """The large companies' own indexes: HNSW for the dense leg, postings for full text."""


@index.command("list")
@click.pass_context
def index_list(ctx: click.Context) -> None:
    """Every company: chunks, its dense leg (hnsw: its own index, exact: a scan), its full-text leg
    (postings: its own, gin: the shared index) and whether a server process with these settings holds
    its graph in memory (graph, or -: COMPTOIR_GRAPH_MEMORY_MB goes to larger companies first)."""
    with _comptoir(_settings(ctx), with_model=False) as app:
        graphs = set(app.graphs.plan())
        for company in app.companies.list():
            state = app.indexes.state(company.id)
            dense, lexical = "hnsw" if state.indexed else "exact", "postings" if state.posted else "gin"
            graph = "graph" if company.id in graphs else "-"
            click.echo(f"{company.id}\t{state.chunks}\t{dense}\t{lexical}\t{graph}")


@index.command("sync")
@click.option("--company", "company_id", help="one company; default: every company")
@click.pass_context
def index_sync(ctx: click.Context, company_id: str | None) -> None:
    """Build the indexes and postings of companies over COMPTOIR_ANN_MIN_CHUNKS chunks, drop those of
    companies under half of it (a server does this by itself after changes and at start)."""
    with _comptoir(_settings(ctx), with_model=False) as app:
        if company_id is not None:
            app.companies.get(company_id=company_id)
            outcomes = {company_id: app.indexes.sync(company_id)}
        else:
            outcomes = app.indexes.sync_all()
    for tenant, outcome in outcomes.items():
        click.echo(f"{tenant}\t{outcome}")
