"""Matching a customer's question to the company's facts.

An offer matches when the question's product words meet it and nothing asked contradicts it: an asked
size ("taille 4", "T4") must be the offer's size, an asked quantity ("lot 300") its quantity; so a lot
is never answered with a unit price. A delivery fact matches when the question names one of its zones,
in the company's own spelling with accents and case folded. Hours, payment methods and contacts match
by what the question asks for. Facts are read once per company and knowledge version.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from comptoir.caching import LRUCache
from comptoir.db.database import Connection
from comptoir.facts.hit import FactHit
from comptoir.facts.store import FactStore, StoredFact
from comptoir.text import fold, tokens

_NUMBER = re.compile(r"\b\d+\b")
_INTENTS = {
    "delivery": re.compile(r"livr|delivery|deliver|shipping|exp[eé]di|envoi|frais de port", re.I),
    "hours": re.compile(
        r"horaire|heure|ouvert|ferm[ée]|\bopen|clos|hours|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|"
        r"week-?end|monday|tuesday|wednesday|thursday|friday|saturday|sunday",
        re.I,
    ),
    "payment": re.compile(
        r"pai|payer|\bpay|accept|carte|esp[eè]ces|cash|wave|money|momo|interac|visa|mastercard|ch[eè]que|titre",
        re.I,
    ),
    "contact": re.compile(
        r"t[ée]l[ée]phone|\btel\b|num[ée]ro|whatsapp|contact|appeler|joindre|e-?mail|courriel|phone|\bcall",
        re.I,
    ),
}
MAX_FACTS = 3


@dataclass(frozen=True)
class _Known:
    facts: list[StoredFact]
    size_prefixes: list[str]


@dataclass(frozen=True)
class _Asked:
    text: str  # folded
    words: set[str]
    sizes: set[str]
    quantities: set[str]


def _hit(stored: StoredFact) -> FactHit:
    return FactHit(stored.fact.kind, stored.fact.text, stored.title, stored.document_id)


def _spaced(text: str) -> str:
    """'lot300' → 'lot 300' ('t4' stays): a number glued to a word is still asked."""
    return re.sub(r"(?<=[a-z]{3})(?=\d)", " ", text)


def _plain(text: str) -> str:
    """'Port-Bouët' and 'port bouet' alike."""
    return " ".join(re.split(r"[\s\-'’]+", fold(text)))


def _names_zone(stored: StoredFact, folded: str) -> bool:
    question = _plain(folded)
    names = [_plain(z) for z in stored.fact.attributes.get("zones", "").split(", ") if len(z) >= 3]
    return any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", question) for name in names)


class FactIndex:
    """The pipeline's facts stage: facts matching a question, and the question sharpened with the
    company's own terms for retrieval."""

    def __init__(self, store: FactStore, *, capacity: int = 256) -> None:
        self.store = store
        self.cache: LRUCache[tuple[str, uuid.UUID, int], _Known] = LRUCache("facts", capacity)

    def _known(
        self, tenant_id: str, incarnation: uuid.UUID, knowledge_version: int, conn: Connection | None
    ) -> _Known:
        """The company's facts at this version (of this incarnation: a company created again under a former
        id shares nothing with it); read, when not cached, in ``conn`` if given."""

        def load() -> _Known:
            conventions = self.store.conventions(tenant_id=tenant_id, conn=conn)
            vocabulary: dict[str, Any] = conventions["vocabulary"]
            return _Known(
                self.store.facts(tenant_id=tenant_id, conn=conn), list(vocabulary.get("size_prefixes", []))
            )

        return self.cache.get_or_compute((tenant_id, incarnation, knowledge_version), load)

    @staticmethod
    def _asked(question: str, prefixes: list[str]) -> _Asked:
        text = _spaced(fold(question))
        labels = "|".join(["taille", "size", "pointure", "t", *(re.escape(p.lower()) for p in prefixes)])
        sizes = set(re.findall(rf"\b(?:{labels})\s?(\d{{1,2}})\b", text))
        return _Asked(text, tokens(question), sizes, set(_NUMBER.findall(text)) - sizes)

    def sharpen(
        self,
        *,
        tenant_id: str,
        incarnation: uuid.UUID,
        knowledge_version: int,
        question: str,
        conn: Connection | None = None,
    ) -> str:
        """ "taille 4" also as the company writes it ("T4"), so the full-text leg meets its catalog."""
        known = self._known(tenant_id, incarnation, knowledge_version, conn)
        asked = self._asked(question, known.size_prefixes)
        labels = [f"{p}{n}" for n in sorted(asked.sizes) for p in known.size_prefixes]
        missing = [label for label in labels if label.lower() not in asked.text.replace(" ", "")]
        return f"{question} {' '.join(missing)}" if missing else question

    def contacts(
        self,
        *,
        tenant_id: str,
        incarnation: uuid.UUID,
        knowledge_version: int,
        conn: Connection | None = None,
    ) -> list[FactHit]:
        """Every contact line of the company, phone and WhatsApp first, each line once."""
        known = self._known(tenant_id, incarnation, knowledge_version, conn)
        found = [f for f in known.facts if f.fact.kind == "contact"]
        found.sort(key=lambda f: f.fact.subject == "email")
        lines = {f.fact.text: f for f in found}
        return [_hit(f) for f in list(lines.values())[:MAX_FACTS]]

    def lookup(
        self,
        *,
        tenant_id: str,
        incarnation: uuid.UUID,
        knowledge_version: int,
        question: str,
        context: str | None = None,
        conn: Connection | None = None,
    ) -> list[FactHit]:
        known = self._known(tenant_id, incarnation, knowledge_version, conn)
        asked = self._asked(question, known.size_prefixes)
        if context:  # a follow-up: what it does not say comes from the question it continues
            before = self._asked(context, known.size_prefixes)
            asked = _Asked(
                f"{asked.text} {before.text}",
                asked.words | {w for w in before.words if not any(c.isdigit() for c in w)},
                asked.sizes or before.sizes,
                asked.quantities or before.quantities,
            )
        zones = [f for f in known.facts if f.fact.kind == "delivery" and _names_zone(f, asked.text)]
        if zones:
            return [_hit(f) for f in zones[:MAX_FACTS]]
        offers = self._offers(known, asked)
        if offers:
            return offers
        for intent in ("hours", "payment", "contact", "delivery"):
            if _INTENTS[intent].search(asked.text):
                ranked = sorted(
                    (f for f in known.facts if f.fact.kind == intent),
                    key=lambda f: -len(asked.words & tokens(f.fact.text)),
                )
                if ranked:
                    return [_hit(f) for f in ranked[:MAX_FACTS]]
        return []

    @staticmethod
    def _offers(known: _Known, asked: _Asked) -> list[FactHit]:
        scored: list[tuple[int, StoredFact]] = []
        for stored in known.facts:
            offer = stored.fact
            if offer.kind != "offer":
                continue
            overlap = len(asked.words & tokens(f"{offer.subject} {offer.text}"))
            if not overlap or (asked.sizes and offer.size not in asked.sizes):
                continue
            # numbers that belong to the offer's name ("iPhone 13", "Optipro 3") are not asked quantities
            own = set(_NUMBER.findall(fold(offer.subject))) - {str(offer.quantity)}
            quantities = asked.quantities - own
            named = offer.quantity is not None and str(offer.quantity) in quantities
            if quantities and offer.quantity is not None and not named:
                continue
            scored.append((overlap + 3 * bool(asked.sizes) + 3 * named, stored))
        scored.sort(key=lambda item: -item[0])
        best = scored[0][0] if scored else 0
        return [_hit(s) for score, s in scored[:MAX_FACTS] if score >= best - 1]
