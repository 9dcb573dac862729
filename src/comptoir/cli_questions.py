"""`comptoir questions`: what the assistant could not answer, and the owner's answers (the console's
*To answer* page, from the command line)."""

from __future__ import annotations

import click

from comptoir.cli import _comptoir, _settings, main


@main.group()
def questions() -> None:
    """Questions the assistant could not answer."""


@questions.command("list")
@click.argument("company_id")
@click.option("--days", type=click.IntRange(1, 365), default=30, show_default=True)
@click.pass_context
def questions_list(ctx: click.Context, company_id: str, days: int) -> None:
    """Open groups, the most asked first: count, last date, reasons, the latest wording, its turn ids."""
    with _comptoir(_settings(ctx)) as app:
        for group in app.owner_questions.open_groups(tenant_id=company_id, days=days):
            reasons = ",".join(f"{reason}:{n}" for reason, n in sorted(group.reasons.items()))
            turns = ",".join(str(turn) for turn in group.turn_ids)
            click.echo(f"{group.count}\t{group.last_at.isoformat()}\t{reasons}\t{group.question}\t{turns}")


@questions.command("answer")
@click.argument("company_id")
@click.option("--question", required=True)
@click.option("--answer", required=True)
@click.option("--turn", "turn_ids", type=int, multiple=True, help="a listed turn it closes (repeatable)")
@click.pass_context
def questions_answer(
    ctx: click.Context, company_id: str, question: str, answer: str, turn_ids: tuple[int, ...]
) -> None:
    """Add the owner's answer to the company's FAQ document (ingested at once) and close the turns."""
    with _comptoir(_settings(ctx)) as app:
        done = app.owner_questions.answer(
            tenant_id=company_id, question=question, answer=answer, turn_ids=list(turn_ids)
        )
    click.echo(f"{done.document.status}\t{done.entries} answers in the FAQ\t{done.resolved} turns closed")
