"""One chat message reads in one tenant transaction and writes in one more, and reads the company row
once. Every tenant transaction is recorded with the statements run on it, and is a write when one of
them inserts, updates or deletes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

import pytest

import comptoir.companies
from comptoir.app import Comptoir
from comptoir.chat.pipeline import ChatAnswer
from comptoir.db.database import Connection, Database
from comptoir.ingest.loaders import parse_text
from tests.integration.conftest import MakeComptoir

DOCS = {
    "catalogue": "Couches taille 4, lot de 300 : 45 000 F\n\nCouches taille 5, lot de 300 : 48 000 F",
    "livraison": "Livraison à Cocody : 1 500 FCFA.\n\nLivraison à Abobo : 2 500 FCFA.",
    "contact": "Téléphone : 07 00 00 00 00. WhatsApp : 05 11 22 33 44.",
}
_WRITE = re.compile(r"\b(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


@dataclass
class Transaction:
    tenant_id: str
    statements: list[str] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        return any(_WRITE.search(statement) for statement in self.statements)

    def ran(self, table: str) -> bool:
        return any(re.search(rf"\b{table}\b", statement) for statement in self.statements)


class _Recorded:
    """A transaction's connection that records what runs on it."""

    def __init__(self, conn: Connection, transaction: Transaction) -> None:
        self._conn = conn
        self._transaction = transaction

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        self._transaction.statements.append(str(query))
        return self._conn.execute(query, *args, **kwargs)

    def cursor(self, *args: Any, **kwargs: Any) -> _RecordedCursor:
        return _RecordedCursor(self._conn.cursor(*args, **kwargs), self._transaction)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class _RecordedCursor:
    """A cursor of a recorded connection: what it executes is recorded too."""

    def __init__(self, cursor: Any, transaction: Transaction) -> None:
        self._cursor = cursor
        self._transaction = transaction

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> _RecordedCursor:
        self._transaction.statements.append(str(query))
        self._cursor.execute(query, *args, **kwargs)
        return self

    def __enter__(self) -> _RecordedCursor:
        self._cursor.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._cursor.__exit__(*exc)

    def __iter__(self) -> Any:
        return iter(self._cursor)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class Recorder:
    def __init__(self, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.transactions: list[Transaction] = []
        tenant = db.tenant

        @contextmanager
        def recorded(tenant_id: str, *, within: Any = None) -> Iterator[Any]:
            if within is not None:  # the caller's transaction, joined: not a new one
                yield within
                return
            transaction = Transaction(tenant_id)
            self.transactions.append(transaction)
            with tenant(tenant_id) as conn:
                yield _Recorded(conn, transaction)

        read = db.read

        def recorded_read(tenant_id: str, query: Any, *args: Any, **kwargs: Any) -> Any:
            """A lone read is a transaction of its own (``Database.read``)."""
            transaction = Transaction(tenant_id)
            self.transactions.append(transaction)
            transaction.statements.append(str(query))
            return read(tenant_id, query, *args, **kwargs)

        def no_global() -> NoReturn:
            raise AssertionError("a chat message left its tenant")

        monkeypatch.setattr(db, "tenant", recorded)
        monkeypatch.setattr(db, "read", recorded_read)
        monkeypatch.setattr(db, "global_", no_global)

    @contextmanager
    def message(self) -> Iterator[list[Transaction]]:
        """The transactions opened inside the block."""
        self.transactions.clear()
        yield self.transactions


def _read_then_write(transactions: list[Transaction]) -> tuple[Transaction, Transaction]:
    assert [(t.tenant_id, t.writes) for t in transactions] == [("awa", False), ("awa", True)], [
        t.statements for t in transactions
    ]
    read, write = transactions
    assert write.ran("turns")
    company_queries = [s for t in transactions for s in t.statements if s == comptoir.companies._SELECT]
    assert len(company_queries) == 1  # the company row, read once and passed down
    return read, write


@pytest.fixture
def awa(make_comptoir: MakeComptoir) -> Comptoir:
    app = make_comptoir()
    app.companies.create(company_id="awa", name="Chez Awa", language="fr")
    app.documents.ingest(
        tenant_id="awa",
        documents=[parse_text(title, text, source=None, metadata={}) for title, text in DOCS.items()],
    )
    return app


def test_one_read_and_one_write_transaction_per_message(
    awa: Comptoir, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder(awa.db, monkeypatch)
    question = "Prix lot 300 couches taille 4 ?"

    with recorder.message() as miss:  # the first message since ingestion: the facts are loaded too
        answer = awa.chat.answer(tenant_id="awa", user_id="u1", message=question)
    assert not answer.cached and answer.sources
    read, write = _read_then_write(miss)
    assert all(read.ran(table) for table in ("turns", "answer_cache", "chunks", "facts"))
    assert write.ran("answer_cache") and write.ran("cache_stats")

    with recorder.message() as exact:  # an exact repeat: from the L1, counted as a hit
        answer = awa.chat.answer(tenant_id="awa", user_id="u2", message=question)
    assert answer.cached
    read, write = _read_then_write(exact)
    assert not read.ran("chunks") and write.ran("cache_stats") and not write.ran("answer_cache")

    with recorder.message() as similar:  # the same question in other words: from the database
        answer = awa.chat.answer(tenant_id="awa", user_id="u3", message="Prix couches taille 4 lot 300 ?")
    assert answer.cached
    read, write = _read_then_write(similar)
    assert read.ran("answer_cache") and not read.ran("chunks")

    with recorder.message() as follow_up:  # u1's follow-up: never looked up in the cache, nor stored
        answer = awa.chat.answer(tenant_id="awa", user_id="u1", message="et en taille 5 ?")
    assert not answer.cached
    read, write = _read_then_write(follow_up)
    assert not read.ran("answer_cache") and not write.ran("answer_cache") and not write.ran("cache_stats")

    with recorder.message() as streamed:
        events = list(awa.chat.stream(tenant_id="awa", user_id="u4", message="livraison Abobo ?"))
    done = events[-1]
    assert done.kind == "done" and isinstance(done.answer, ChatAnswer) and not done.answer.cached
    assert "".join(e.text for e in events if e.kind == "delta") == done.answer.answer
    _read_then_write(streamed)

    with recorder.message() as handoff:
        answer = awa.chat.answer(tenant_id="awa", user_id="u5", message="je voudrais parler à un conseiller")
    assert answer.handoff
    _read_then_write(handoff)


def test_sources_are_stored_and_read_back_as_they_were_given(awa: Comptoir) -> None:
    given = awa.chat.answer(tenant_id="awa", user_id="u1", message="Livraison à Cocody c'est combien ?")
    assert given.sources
    [turn] = awa.conversations.recent(tenant_id="awa", user_id="u1", limit=5)
    assert turn.sources == given.sources
    cached = awa.chat.answer(tenant_id="awa", user_id="u2", message="C'est combien la livraison à Cocody ?")
    assert cached.cached and cached.sources == given.sources
