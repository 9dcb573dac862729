"""`comptoir key`, `comptoir limits` and `comptoir audit`: keys with scopes, limits and the audit log from
the command line, acting as the operator (recorded as ``cli`` in the audit log)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import click

from comptoir.access.audit import CLI
from comptoir.cli import _comptoir, _settings, main


def _key_json(key: Any) -> dict[str, Any]:
    return {
        "id": str(key.id),
        "scope": key.scope,
        "name": key.name,
        "origins": key.origins,
        "rate_per_minute": key.rate_per_minute,
        "created_at": key.created_at.isoformat(),
    }


@main.group()
def key() -> None:
    """Create, list and revoke a company's API keys."""


@key.command("create")
@click.argument("company_id")
@click.option("--scope", type=click.Choice(["admin", "chat"]), required=True)
@click.option("--origin", "origins", multiple=True, help="chat keys: a web origin allowed (repeatable)")
@click.option("--name", default=None)
@click.option("--rate", "rate_per_minute", type=int, default=None, help="requests per minute for this key")
@click.pass_context
def key_create(
    ctx: click.Context,
    company_id: str,
    scope: str,
    origins: tuple[str, ...],
    name: str | None,
    rate_per_minute: int | None,
) -> None:
    """Create a key and print it with its secret (shown once)."""
    with _comptoir(_settings(ctx), with_model=False) as app:
        created, secret = app.keys.create(
            company_id=company_id,
            scope=scope,
            name=name,
            origins=list(origins) or None,
            rate_per_minute=rate_per_minute,
        )
        app.audit.record(
            company_id=company_id,
            actor=CLI,
            action="key.create",
            target=str(created.id),
            details={"scope": scope},
        )
    click.echo(json.dumps({**_key_json(created), "api_key": secret}))


@key.command("list")
@click.argument("company_id")
@click.pass_context
def key_list(ctx: click.Context, company_id: str) -> None:
    """The company's active keys (never their secrets), one JSON object per line."""
    with _comptoir(_settings(ctx), with_model=False) as app:
        for found in app.keys.list(company_id=company_id):
            click.echo(json.dumps(_key_json(found)))


@key.command("revoke")
@click.argument("company_id")
@click.argument("key_id", type=click.UUID)
@click.pass_context
def key_revoke(ctx: click.Context, company_id: str, key_id: uuid.UUID) -> None:
    with _comptoir(_settings(ctx), with_model=False) as app:
        app.keys.revoke(company_id=company_id, key_id=key_id)
        app.audit.record(company_id=company_id, actor=CLI, action="key.revoke", target=str(key_id))
    click.echo(f"revoked {key_id}")


@main.group()
def limits() -> None:
    """Show or override a company's request rates, quotas and LLM budget."""


def _limits_json(app: Any, company_id: str) -> str:
    overrides = app.limiter.overrides(company_id=company_id)
    return json.dumps(
        {
            "limits": app.limiter.limits_of(overrides).as_dict(),
            "overrides": overrides,
            "usage": app.limiter.usage(company_id=company_id),
        }
    )


@limits.command("show")
@click.argument("company_id")
@click.pass_context
def limits_show(ctx: click.Context, company_id: str) -> None:
    with _comptoir(_settings(ctx), with_model=False) as app:
        app.companies.get(company_id=company_id)
        click.echo(_limits_json(app, company_id))


@limits.command("set")
@click.argument("company_id")
@click.argument("assignments", nargs=-1, required=True)
@click.pass_context
def limits_set(ctx: click.Context, company_id: str, assignments: tuple[str, ...]) -> None:
    """NAME=VALUE... (VALUE `default` drops an override), e.g. `messages_per_day=500`."""
    with _comptoir(_settings(ctx), with_model=False) as app:
        overrides: dict[str, Any] = dict(app.limiter.overrides(company_id=company_id))
        for assignment in assignments:
            name, equals, value = assignment.partition("=")
            if not equals:
                raise click.BadParameter(f"{assignment!r}: expected NAME=VALUE")
            if value == "default":
                overrides.pop(name, None)
            elif value.isdigit():
                overrides[name] = int(value)
            else:
                raise click.BadParameter(f"{assignment!r}: the value must be a whole number or 'default'")
        applied = app.limiter.set_overrides(company_id=company_id, overrides=overrides)
        app.audit.record(company_id=company_id, actor=CLI, action="limits.change", details=applied)
        click.echo(_limits_json(app, company_id))


@main.command()
@click.argument("company_id", required=False)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.pass_context
def audit(ctx: click.Context, company_id: str | None, limit: int) -> None:
    """The audit log, newest first: every company's, or one company's (deleted ones' too)."""
    with _comptoir(_settings(ctx), with_model=False) as app:
        for entry in app.audit.everything(company_id=company_id, limit=limit):
            click.echo(
                json.dumps(
                    {
                        "id": entry.id,
                        "company_id": entry.company_id,
                        "at": entry.at.isoformat(),
                        "actor_scope": entry.actor_scope,
                        "actor_key_id": str(entry.actor_key_id) if entry.actor_key_id else None,
                        "action": entry.action,
                        "target": entry.target,
                        "details": entry.details,
                    },
                    ensure_ascii=False,
                )
            )
