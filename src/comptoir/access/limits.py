"""Request rates, message quotas and LLM token budgets, per key and per company, held in PostgreSQL so
that every process on one database enforces the same ones.

- **Rates** are token buckets (``comptoir_take_token``): each key has one, filled at its rate per minute
  (its own, else its company's for its scope) up to one minute's worth, and the company has one shared by
  all its keys. A request takes a token from both, in the transaction that authenticates its key.
- **Quotas** count chat messages per UTC day and month; a message over either is refused.
- **Durability**: the transactions that take tokens and count messages commit without waiting for the
  disk (``synchronous_commit = off``, for them only): a crash may forget the last milliseconds of
  counting, never corrupt it, and each request saves a WAL flush (about 2 ms here).
- **The LLM budget** counts tokens sent to and received from providers per UTC month (estimated as
  characters / 4, the same for every provider); once spent, answers are extractive and say so.

The server's settings give the defaults; the operator overrides them per company.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from comptoir.access.keys import ApiKey
from comptoir.config import Settings
from comptoir.db.database import Connection, Database
from comptoir.errors import InvalidInput, NotFound, TooManyRequests

#: characters per token when estimating what a provider counts
CHARS_PER_TOKEN = 4

#: a token from each bucket that has one (it returns a row); the others are left as they were. A changed
#: rate applies at once, refilling from what is left.
_REFILLED = (
    "least(EXCLUDED.burst,"
    " b.tokens + extract(epoch FROM clock_timestamp() - b.refreshed_at) * EXCLUDED.rate_per_s)"
)
_TAKE = f"""
    INSERT INTO rate_buckets AS b (tenant_id, bucket, rate_per_s, burst, tokens, refreshed_at)
    VALUES (%(tenant)s, %(key)s, %(key_rate)s, %(key_burst)s, %(key_burst)s - 1, clock_timestamp()),
           (%(tenant)s, 'company', %(company_rate)s, %(company_burst)s, %(company_burst)s - 1,
            clock_timestamp())
    ON CONFLICT (tenant_id, bucket) DO UPDATE
        SET tokens = {_REFILLED} - 1, refreshed_at = clock_timestamp(),
            rate_per_s = EXCLUDED.rate_per_s, burst = EXCLUDED.burst
        WHERE {_REFILLED} >= 1
    RETURNING bucket"""
_ASYNC_COMMIT = "SET LOCAL synchronous_commit TO off"
_WAIT = """
    SELECT (1 - least(burst, tokens + extract(epoch FROM clock_timestamp() - refreshed_at) * rate_per_s))
           / rate_per_s AS wait
    FROM rate_buckets WHERE tenant_id = %s AND bucket = %s"""
#: one message in the day's and the month's counters, each only while under its quota; the month's LLM
#: tokens spent so far
_ADMIT = """
    WITH day AS (
        INSERT INTO usage_counters AS u (tenant_id, period, messages) VALUES (%(tenant)s, %(day)s, 1)
        ON CONFLICT (tenant_id, period) DO UPDATE SET messages = u.messages + 1
            WHERE u.messages < %(day_quota)s
        RETURNING messages),
    month AS (
        INSERT INTO usage_counters AS u (tenant_id, period, messages) VALUES (%(tenant)s, %(month)s, 1)
        ON CONFLICT (tenant_id, period) DO UPDATE SET messages = u.messages + 1
            WHERE u.messages < %(month_quota)s
        RETURNING messages, llm_tokens)
    SELECT (SELECT count(*) FROM day) AS day_ok, (SELECT count(*) FROM month) AS month_ok,
           (SELECT llm_tokens FROM month) AS spent"""
_SPEND = """
    INSERT INTO usage_counters AS u (tenant_id, period, llm_tokens) VALUES (%(tenant)s, %(period)s, %(n)s)
    ON CONFLICT (tenant_id, period) DO UPDATE SET llm_tokens = u.llm_tokens + %(n)s"""
_USAGE = "SELECT period, messages, llm_tokens FROM usage_counters WHERE tenant_id = %s AND period = ANY(%s)"
_SET = "UPDATE companies SET limits = %s WHERE tenant_id = %s RETURNING limits"


@dataclass(frozen=True)
class Limits:
    chat_key_rate_per_minute: int
    admin_key_rate_per_minute: int
    company_rate_per_minute: int
    messages_per_day: int
    messages_per_month: int
    llm_tokens_per_month: int

    @classmethod
    def defaults(cls, settings: Settings) -> Limits:
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})

    def overridden(self, overrides: dict[str, Any]) -> Limits:
        known = {f.name for f in fields(self)}
        return replace(self, **{k: int(v) for k, v in overrides.items() if k in known and v is not None})

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


LIMIT_NAMES = tuple(f.name for f in fields(Limits))
_RATES = ("chat_key_rate_per_minute", "admin_key_rate_per_minute", "company_rate_per_minute")


def validate_overrides(overrides: dict[str, Any]) -> dict[str, int]:
    """Known names, integers, rates at least 1 and quotas at least 0; ``None`` drops an override."""
    clean: dict[str, int] = {}
    for name, value in overrides.items():
        if name not in LIMIT_NAMES:
            raise InvalidInput(f"unknown limit {name!r}; known: {', '.join(LIMIT_NAMES)}")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{name} must be an integer")
        lowest = 1 if name in _RATES else 0
        if not lowest <= value <= 10**12:
            raise InvalidInput(f"{name} must be between {lowest} and 10^12")
        clean[name] = value
    return clean


def _periods(now: datetime) -> tuple[str, str]:
    return f"d{now:%Y-%m-%d}", f"m{now:%Y-%m}"


def _until_next_day(now: datetime) -> float:
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


def _until_next_month(now: datetime) -> float:
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (first + timedelta(days=32)).replace(day=1)
    return (following - now).total_seconds()


def estimate_tokens(*texts: str) -> int:
    return sum(math.ceil(len(text) / CHARS_PER_TOKEN) for text in texts)


class Limiter:
    def __init__(self, db: Database, defaults: Limits) -> None:
        self.db = db
        self.defaults = defaults

    def limits_of(self, overrides: dict[str, Any]) -> Limits:
        return self.defaults.overridden(overrides)

    @staticmethod
    def take(conn: Connection, *, key: ApiKey, limits: Limits) -> None:
        """One request of ``key``: a token from its bucket and from its company's, or 429 (raised in the
        caller's transaction, which then takes nothing from either)."""
        if key.rate_per_minute is not None:
            key_rate, key_limit = key.rate_per_minute, "key rate_per_minute"
        elif key.scope == "chat":
            key_rate, key_limit = limits.chat_key_rate_per_minute, "chat_key_rate_per_minute"
        else:
            key_rate, key_limit = limits.admin_key_rate_per_minute, "admin_key_rate_per_minute"
        company_rate = limits.company_rate_per_minute
        params = {
            "tenant": key.company_id,
            "key": str(key.id),
            "key_rate": key_rate / 60.0,
            "key_burst": float(key_rate),
            "company_rate": company_rate / 60.0,
            "company_burst": float(company_rate),
        }
        # a token need not outlive a crash: this transaction's commit does not wait for the disk
        conn.execute(_ASYNC_COMMIT)
        taken = {row["bucket"] for row in conn.execute(_TAKE, params)}
        for bucket, rate, name in (
            (str(key.id), key_rate, key_limit),
            ("company", company_rate, "company_rate_per_minute"),
        ):
            if bucket not in taken:
                row = conn.execute(_WAIT, (key.company_id, bucket)).fetchone()
                wait = max(row["wait"], 0.0) if row else 60.0 / rate
                raise TooManyRequests(
                    f"too many requests: {name} is {rate} per minute", limit=name, retry_after_s=wait
                )

    def admit_message(self, conn: Connection, *, company_id: str, overrides: dict[str, Any]) -> bool:
        """Count one chat message against the company's day and month quotas, in the caller's transaction
        (429 when either is spent: raised there, so a refused message counts in no period); True while
        the company's LLM budget is not spent."""
        limits = self.limits_of(overrides)
        now = datetime.now(UTC)
        day, month = _periods(now)
        params = {
            "tenant": company_id,
            "day": day,
            "month": month,
            "day_quota": limits.messages_per_day,
            "month_quota": limits.messages_per_month,
        }
        row = conn.execute(_ADMIT, params).fetchone()
        assert row is not None
        for ok, quota, name, wait in (
            (
                row["day_ok"] and limits.messages_per_day > 0,
                limits.messages_per_day,
                "messages_per_day",
                _until_next_day(now),
            ),
            (
                row["month_ok"] and limits.messages_per_month > 0,
                limits.messages_per_month,
                "messages_per_month",
                _until_next_month(now),
            ),
        ):
            if not ok:
                raise TooManyRequests(
                    f"message quota reached: {name} is {quota}", limit=name, retry_after_s=wait
                )
        return bool((row["spent"] or 0) < limits.llm_tokens_per_month)

    def admit_message_alone(self, *, company_id: str) -> bool:
        """``admit_message`` in a transaction of its own (the operator's messages: no key transaction)."""
        with self.db.tenant(company_id) as conn:
            conn.execute(_ASYNC_COMMIT)
            row = conn.execute("SELECT limits FROM companies WHERE tenant_id = %s", (company_id,)).fetchone()
            return self.admit_message(conn, company_id=company_id, overrides=row["limits"] if row else {})

    def spend(self, conn: Connection, *, company_id: str, tokens: int) -> None:
        """Count LLM tokens, in the caller's (the message's write) transaction."""
        if tokens > 0:
            _, month = _periods(datetime.now(UTC))
            conn.execute(_SPEND, {"tenant": company_id, "period": month, "n": tokens})

    def usage(self, *, company_id: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        day, month = _periods(now)
        with self.db.tenant(company_id) as conn:
            rows = {r["period"]: r for r in conn.execute(_USAGE, (company_id, [day, month]))}
        today, this_month = rows.get(day, {}), rows.get(month, {})
        return {
            "day": day[1:],
            "month": month[1:],
            "messages_today": today.get("messages", 0),
            "messages_this_month": this_month.get("messages", 0),
            "llm_tokens_this_month": this_month.get("llm_tokens", 0),
        }

    def set_overrides(self, *, company_id: str, overrides: dict[str, Any]) -> dict[str, int]:
        """Replace the company's overrides (validated); returns them."""
        clean = validate_overrides(overrides)
        with self.db.tenant(company_id) as conn:
            row = conn.execute(_SET, (json.dumps(clean), company_id)).fetchone()
        if row is None:
            raise NotFound(f"company {company_id!r} not found")
        return dict(row["limits"])

    def overrides(self, *, company_id: str) -> dict[str, int]:
        with self.db.tenant(company_id) as conn:
            row = conn.execute("SELECT limits FROM companies WHERE tenant_id = %s", (company_id,)).fetchone()
        return dict(row["limits"]) if row else {}
