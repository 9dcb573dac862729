"""The chat pipeline, each stage named and timed: normalize → memory → cache (exact repeat) → embed →
cache (similar question) → retrieve → facts → prompt → generate → store.

Memory is read first because a follow-up ("et en taille 5 ?") is retrieved together with the question it
follows, and is never answered from the cache. An exact repeat is looked up before the question is
embedded. The company's own terms sharpen the retrieval query (counted in the facts stage). Retrieval
comes first: the passages ``/search`` would return for the message (with the question a follow-up
continues) are always the base of the answer and its sources; matching facts are added as evidence,
never in their place. Generation goes through the provider chain; with no provider, or when all fail
before the deadline, the extractive answerer composes the answer from that evidence. Greetings and
thanks get a short reply; asking for a person gets the company's contacts and marks the turn a handoff.

A message reads what it needs in one tenant transaction (the company row once, the recent turns, both
cache lookups, the hybrid search, the prompt template, the facts when not cached) and writes the turn,
the cache entry and the cache counter in one more; generation runs between the two and holds no
connection. The query is embedded inside the read transaction: what is embedded (with the question a
follow-up continues and the company's own terms) is known only from what that transaction reads, and an
exact repeat is answered before anything is embedded.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from comptoir.access.limits import Limiter, estimate_tokens
from comptoir.chat.extractive import answer_extractively
from comptoir.chat.followup import is_follow_up
from comptoir.chat.memory import ConversationStore, Turn
from comptoir.chat.normalize import normalize_message
from comptoir.chat.prompts import Passage, PromptStore, build_messages
from comptoir.chat.providers import ProviderChain, StreamEvent
from comptoir.chat.seams import AnswerCache, CachedAnswer, CacheScope, FactSource, NoCache, NoFacts
from comptoir.chat.smalltalk import kind_of, reply
from comptoir.chat.sources import Source
from comptoir.chat.stages import StageClock
from comptoir.chat.unanswered import says_unknown
from comptoir.companies import CompanyService
from comptoir.config import Settings
from comptoir.db.database import Connection
from comptoir.embedding.cached import QueryEmbedder
from comptoir.errors import InvalidInput
from comptoir.facts.hit import FactHit
from comptoir.observability.metrics import observe_chat
from comptoir.retrieval.abbreviations import expand
from comptoir.retrieval.search import Searcher, SearchHit
from comptoir.text import language_of_text

logger = logging.getLogger(__name__)

EXTRACTIVE = "extractive"
SNIPPET_CHARS = 240
MAX_USER_ID = 200


@dataclass
class ChatAnswer:
    answer: str
    sources: list[Source]
    provider: str
    cached: bool
    timings_ms: dict[str, float]
    handoff: bool = False
    #: the company's LLM budget is spent: this answer is extractive although providers are configured
    budget_exhausted: bool = False
    #: the stored turn: what a rating (``POST /v1/chat/feedback``) refers to
    turn_id: int | None = None
    #: False when the answer says it does not know (the console lists it under *To answer*)
    answered: bool = True


#: what ``ChatPipeline.stream`` yields: text deltas, resets, then ``done`` with the ChatAnswer
ChatEvent = StreamEvent[ChatAnswer]


@dataclass
class _Context:
    tenant_id: str
    user_id: str
    question: str
    clock: StageClock
    deadline: float
    language: str = "fr"
    hits: list[SearchHit] = field(default_factory=list)
    facts: list[FactHit] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    cached: CachedAnswer | None = None
    vector: Any = None
    scope: CacheScope | None = None
    follow_up: bool = False
    previous_question: str | None = None
    #: the question's shortened words as the company writes them in full ("amex": "american express")
    expansions: list[str] = field(default_factory=list)
    #: an answer settled before retrieval (a greeting, a handoff): text and sources
    settled: tuple[str, list[Source]] | None = None
    handoff: bool = False
    #: the providers this message may use: none once the company's LLM budget is spent
    chain: ProviderChain | None = None
    budget_exhausted: bool = False


def source_of(hit: SearchHit) -> Source:
    text = " ".join(hit.text.split())
    snippet = text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"
    return Source(hit.document_id, hit.title, snippet)


def _fact_source(fact: FactHit) -> Source:
    return Source(fact.document_id, fact.title, fact.text[:SNIPPET_CHARS])


def _sources(hits: list[SearchHit]) -> list[Source]:
    seen: dict[tuple[uuid.UUID, str], Source] = {}
    for hit in hits:
        source = source_of(hit)
        seen.setdefault((source.document_id, source.snippet), source)
    return list(seen.values())


def _given_sources(ctx: _Context) -> list[Source]:
    """What the provider was given: the passages, then the matching facts not among them."""
    passages = _sources(ctx.hits)
    documents = {s.document_id for s in passages}
    return passages + [_fact_source(f) for f in ctx.facts if f.document_id not in documents]


def _done(answer: ChatAnswer) -> ChatEvent:
    return ChatEvent("done", provider=answer.provider, answer=answer)


class ChatPipeline:
    def __init__(
        self,
        *,
        settings: Settings,
        companies: CompanyService,
        embedder: QueryEmbedder,
        searcher: Searcher,
        memory: ConversationStore,
        prompts: PromptStore,
        chain: ProviderChain | None,
        cache: AnswerCache | None = None,
        facts: FactSource | None = None,
        usage: Limiter | None = None,
    ) -> None:
        self.settings = settings
        #: every store works on this database: a message's two transactions are opened on it
        self.db = companies.db
        self.companies = companies
        self.embedder = embedder
        self.searcher = searcher
        self.memory = memory
        self.prompts = prompts
        self.chain = chain
        self.cache: AnswerCache = cache or NoCache()
        self.facts: FactSource = facts or NoFacts()
        #: counts the LLM tokens of generated answers against the company's budget
        self.usage = usage

    # -- stages before generation ------------------------------------------------------------------

    def _prepare(self, *, tenant_id: str, user_id: str, message: str, allow_llm: bool) -> _Context:
        clock = StageClock()
        if not user_id.strip() or len(user_id) > MAX_USER_ID:
            raise InvalidInput(f"user_id must be 1 to {MAX_USER_ID} characters")
        with clock.stage("normalize"):
            question = normalize_message(message, max_chars=self.settings.max_message_chars)
        ctx = _Context(tenant_id, user_id, question, clock, time.monotonic() + self.settings.chat_deadline_s)
        ctx.chain = self.chain if allow_llm else None
        ctx.budget_exhausted = not allow_llm and bool(self.chain and self.chain.providers)
        with self.db.tenant(tenant_id) as conn:
            self._read(ctx, conn)
        return ctx

    def _read(self, ctx: _Context, conn: Connection) -> None:
        """Every stage before generation, reading in ``conn``, the message's one read transaction."""
        tenant_id, question, clock = ctx.tenant_id, ctx.question, ctx.clock
        kind = kind_of(question)
        if kind is not None:
            with clock.stage("facts"):
                company = self.companies.get(company_id=tenant_id, conn=conn)
                contacts = (
                    self.facts.contacts(
                        tenant_id=tenant_id,
                        incarnation=company.incarnation,
                        knowledge_version=company.knowledge_version,
                        conn=conn,
                    )
                    if kind == "handoff"
                    else []
                )
            text = reply(
                kind,
                company=company.name,
                language=language_of_text(question, company.language),
                contacts=[c.text for c in contacts],
            )
            ctx.settled = (text, [_fact_source(c) for c in contacts])
            ctx.handoff = kind == "handoff"
            return
        with clock.stage("memory"):
            history = self.memory.recent(
                tenant_id=tenant_id, user_id=ctx.user_id, limit=self.settings.memory_turns, conn=conn
            )
        ctx.follow_up = self._is_follow_up(question, history)
        if ctx.follow_up:
            ctx.previous_question = history[-1].question
        retrieval_query = f"{ctx.previous_question}\n{question}" if ctx.previous_question else question
        with clock.stage("cache"):
            company = self.companies.get(company_id=tenant_id, conn=conn)
            ctx.language = company.language
            models = self.searcher.models  # the company's own model, when the process has several
            embedder = (
                models.query_embedder(company.embedding_model, company_id=tenant_id)
                if models
                else self.embedder
            )
            ctx.scope = CacheScope(
                tenant_id,
                company.incarnation,
                company.knowledge_version,
                company.prompt_version,
                company.cache_epoch,
                company.cache_threshold,
                embedder.similarity_map,
            )
            # a follow-up means what the conversation makes it mean: never answered from the cache
            if not ctx.follow_up:
                ctx.cached = self.cache.lookup_exact(ctx.scope, question=question, conn=conn)
        if ctx.cached:
            return
        with clock.stage("facts"):
            retrieval_query = self.facts.sharpen(
                tenant_id=tenant_id,
                incarnation=company.incarnation,
                knowledge_version=company.knowledge_version,
                question=retrieval_query,
                conn=conn,
            )
        with clock.stage("embed"):
            ctx.vector = embedder.embed_query(retrieval_query)
        if not ctx.follow_up:
            with clock.stage("cache"):
                ctx.cached = self.cache.lookup_similar(
                    ctx.scope, question=question, vector=ctx.vector, conn=conn
                )
        if ctx.cached:
            return
        with clock.stage("facts"):  # after the caches: an answer served from them never pays for it
            ctx.expansions = expand(conn, tenant_id, question)  # the message's own words, not its context
        with clock.stage("retrieve"):
            ctx.hits = self.searcher.search_vector(
                tenant_id=tenant_id,
                query=" ".join([retrieval_query, *ctx.expansions]),
                vector=ctx.vector,
                k=self.settings.chat_k,
                model_id=embedder.model_id,
                conn=conn,
            )
        with clock.stage("facts"):
            ctx.facts = self.facts.lookup(
                tenant_id=tenant_id,
                incarnation=company.incarnation,
                knowledge_version=company.knowledge_version,
                question=question,
                context=ctx.previous_question,
                conn=conn,
            )
        with clock.stage("prompt"):
            prompt = self.prompts.get(
                tenant_id=tenant_id,
                incarnation=company.incarnation,
                version=company.prompt_version,
                language=company.language,
                conn=conn,
            )
            ctx.messages = build_messages(
                template=prompt.template,
                company=company.name,
                language=company.language,
                passages=[Passage(h.title, h.text) for h in ctx.hits],
                facts=[f"{fact.text} ({fact.title})" for fact in ctx.facts],
                history=[(t.question, t.answer) for t in history],
                question=question,
            )

    def _is_follow_up(self, question: str, history: list[Turn]) -> bool:
        if not history or not is_follow_up(question, max_words=self.settings.follow_up_max_words):
            return False
        age = (datetime.now(UTC) - history[-1].created_at).total_seconds()
        return age <= self.settings.follow_up_window_s

    def _extractive(self, ctx: _Context) -> tuple[str, list[Source]]:
        """The answer and its sources: what it quotes first, then the rest of what was retrieved."""
        result = answer_extractively(
            " ".join([ctx.question, *ctx.expansions]),
            ctx.hits,
            language=language_of_text(ctx.question, ctx.language),
            facts=ctx.facts,
            context=ctx.previous_question,
        )
        used = [_fact_source(f) for f in result.facts] + _sources(result.used)
        seen = {(s.document_id, s.snippet) for s in used}
        rest = [s for s in _given_sources(ctx) if (s.document_id, s.snippet) not in seen]
        return result.text, used + rest

    def _finish(self, ctx: _Context, answer: str, sources: list[Source], provider: str) -> ChatAnswer:
        """Store the turn, and the cache's outcome and entry, in the message's one write transaction."""
        answered = ctx.settled is not None or not says_unknown(answer)
        with ctx.clock.stage("store"), self.db.tenant(ctx.tenant_id) as conn:
            turn_id = self.memory.append(
                tenant_id=ctx.tenant_id,
                user_id=ctx.user_id,
                question=ctx.question,
                answer=answer,
                sources=sources,
                provider=provider,
                timings_ms=ctx.clock.timings,
                handoff=ctx.handoff,
                answered=answered,
                conn=conn,
            )
            if ctx.scope is not None and not ctx.follow_up:  # the cache was looked up
                self.cache.count(ctx.scope, hit=ctx.cached is not None, conn=conn)
                if not ctx.cached:
                    self.cache.store(
                        ctx.scope,
                        question=ctx.question,
                        vector=ctx.vector,
                        answer=CachedAnswer(answer, sources, provider),
                        degraded=provider == EXTRACTIVE and bool(self.chain and self.chain.providers),
                        conn=conn,
                    )
            if self.usage is not None and provider != EXTRACTIVE and not ctx.cached:
                sent = [message["content"] for message in ctx.messages]
                self.usage.spend(conn, company_id=ctx.tenant_id, tokens=estimate_tokens(*sent, answer))
        budget_exhausted = ctx.budget_exhausted and provider == EXTRACTIVE and not ctx.settled
        done = ChatAnswer(
            answer,
            sources,
            provider,
            ctx.cached is not None,
            ctx.clock.done(),
            ctx.handoff,
            budget_exhausted,
            turn_id,
            answered,
        )
        observe_chat(done)
        return done

    # -- entry points ------------------------------------------------------------------------------

    def answer(self, *, tenant_id: str, user_id: str, message: str, allow_llm: bool = True) -> ChatAnswer:
        """The answer; ``allow_llm`` False (the company's LLM budget is spent): extractive, flagged."""
        ctx = self._prepare(tenant_id=tenant_id, user_id=user_id, message=message, allow_llm=allow_llm)
        if ctx.settled:
            return self._finish(ctx, *ctx.settled, EXTRACTIVE)
        if ctx.cached:
            return self._finish(ctx, ctx.cached.answer, ctx.cached.sources, ctx.cached.provider)
        with ctx.clock.stage("generate"):
            generated = ctx.chain.generate(ctx.messages, deadline=ctx.deadline) if ctx.chain else None
            if generated:
                answer, provider = generated
                sources = _given_sources(ctx)
            else:
                (answer, sources), provider = self._extractive(ctx), EXTRACTIVE
        return self._finish(ctx, answer, sources, provider)

    def stream(
        self, *, tenant_id: str, user_id: str, message: str, allow_llm: bool = True
    ) -> Iterator[ChatEvent]:
        """Events: ``delta`` with text, ``reset`` when a provider broke mid-answer (the text so far is
        void), then ``done`` with the ChatAnswer. Bad input raises before the first event."""
        ctx = self._prepare(tenant_id=tenant_id, user_id=user_id, message=message, allow_llm=allow_llm)
        return self._stream(ctx)

    def _stream(self, ctx: _Context) -> Iterator[ChatEvent]:
        if ctx.settled:
            yield ChatEvent("delta", ctx.settled[0], EXTRACTIVE)
            yield _done(self._finish(ctx, *ctx.settled, EXTRACTIVE))
            return
        if ctx.cached:
            yield ChatEvent("delta", ctx.cached.answer, ctx.cached.provider)
            yield _done(self._finish(ctx, ctx.cached.answer, ctx.cached.sources, ctx.cached.provider))
            return
        parts: list[str] = []
        provider: str | None = None
        with ctx.clock.stage("generate"):
            if ctx.chain:
                for event in ctx.chain.stream(ctx.messages, deadline=ctx.deadline):
                    if event.kind == "delta":
                        parts.append(event.text)
                        yield ChatEvent("delta", event.text, event.provider)
                    elif event.kind == "reset":
                        parts.clear()
                        yield ChatEvent("reset")
                    else:
                        provider = event.provider
            if provider:
                answer, sources = "".join(parts).strip(), _given_sources(ctx)
            else:
                (answer, sources), provider = self._extractive(ctx), EXTRACTIVE
                yield ChatEvent("delta", answer, EXTRACTIVE)
        yield _done(self._finish(ctx, answer, sources, provider))
