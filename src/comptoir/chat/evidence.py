"""Evidence for an extractive answer: the lines of the retrieved passages and how well each fits a
question.

Every line of the passages (a record, a sentence, the answer of a question/answer pair) is a piece of
evidence, scored with the signals retrieval already trusts: the question's words it holds, each
weighted by how rare it is among the candidates (so "taille 4" decides between the sizes while "prix"
decides nothing), words of one family at half weight, the words of its context (heading path, the FAQ
question it answers, the document's title) at a lower weight, the sentences around it, words side by
side as in the question, the words of the question a follow-up continues, the dense leg's cosine, and
the passage's retrieval rank.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from pathlib import PurePath

from comptoir.facts.hit import FactHit
from comptoir.retrieval.search import SearchHit
from comptoir.text import CURRENCY, fold, pairs, prefix_match, sentences, split_chunk, tokens

#: Below this cosine similarity, a passage found only by the dense leg is taken as unrelated.
MIN_SIMILARITY = 0.35
CONTEXT_WEIGHT = 0.6
FOLLOWED_WEIGHT = 0.5
RANK_WEIGHT = 0.6
#: the passage's closeness in meaning to the question (cosine of the dense leg)
SIMILARITY_WEIGHT = 2.0
#: a word of the same family ("livrez", "livraison") counts this much of an exact one
FAMILY_WEIGHT = 0.5
#: two words of the question side by side in the line, as in the question
PAIR_WEIGHT = 0.5
#: a word of the question found in the sentence before or after, not in the line itself
NEAR_WEIGHT = 0.5
#: a word found in what the line is about (its name, before " : " or " — ") counts this much more
NAME_WEIGHT = 0.5
#: a line with a figure, when the question asks for one (a price, a fee, an hour)
FIGURE_BONUS = 1.0
#: words of the customer's language that ask for a figure
ASKS_FIGURE = re.compile(
    r"\b(?:combien|cmb|prix|tarifs?|co[uû]te?s?|co[uû]tent|cher|frais|montant|taux|heures?|horaires?|caution|"
    r"acompte|livr\w*|envo\w*|exp[eé]di\w*|deliver\w*|shipping|deposit|num[eé]ros?|t[eé]l[eé]phone|tel|phone|"
    r"number|whatsapp|"
    r"quand|ouvert|ouvre|ferme|how much|price|prices|cost|costs|fees?|rates?|charges?|hours|when|open|"
    r"close)\b"
)
#: words of the customer's language that ask for an amount of money: a line with a date or an hour is no
#: answer to them ("la livraison c'est combien ?": "6,90 €", not "du 15 juin au 31 août"); "combien de
#: mois" and "how much time" ask for another count, and "frais" may be fresh as well as a fee
_MONEY_UNITS = r"(?:euros?|francs?|dollars?|fcfa|cfa)"
ASKS_MONEY = re.compile(
    rf"\b(?:combien(?! d)|combien d(?:e |['’])\s?{_MONEY_UNITS}|cmb|prix|tarifs?|coute?s?|coutent|cher|"
    r"montant|how much(?! time| longer)|price|prices|cost|costs|fees?)\b"
)
#: words asking for a figure that is not money: an hour, a day, a duration, a number to call
ASKS_OTHER_FIGURE = re.compile(
    r"\b(?:quand|heures?|horaires?|ouvert|ouvre|ferme|jours?|num[eé]ros?|t[eé]l[eé]phone|tel|phone|number|"
    r"whatsapp|when|open|close|hours|days?|how long|how much time|combien de (?:temps|jours|mois|minutes))\b"
)
#: a line, its heading or its title that says its figures are money: a currency, glued to its amount or
#: not ("5000F", "12 €", "10 euros"), or a price word
_MONEY = re.compile(
    rf"[$€£]|(?<![^\W\d_]){CURRENCY}(?!\w)|\b(?:{_MONEY_UNITS}|prix|price|tarifs?|couts?|costs?|montant|"
    r"amount|fees?)\b",
    re.IGNORECASE,
)
_HEAD = re.compile(r" : | — | \.{2,} ")


@dataclass(frozen=True)
class Evidence:
    """One line that may answer: its text, the words around it, and where it comes from."""

    text: str
    context: str
    document_id: uuid.UUID
    title: str
    rank: int
    hit: SearchHit | None = None
    fact: FactHit | None = None
    own: frozenset[str] = field(default=frozenset())
    around: frozenset[str] = field(default=frozenset())
    pairs: frozenset[tuple[str, str]] = field(default=frozenset())
    after: str = ""  # the next sentence of the same paragraph, for prose
    before: str = ""  # the sentence before it
    head: frozenset[str] = field(default=frozenset())  # the words of what the line is about
    figure: bool = False
    near: frozenset[str] = field(default=frozenset())  # the words of the sentences around it
    money: bool = False  # its figures are amounts of money (a currency, or a price said in it or above it)

    @staticmethod
    def of(
        text: str,
        context: str,
        *,
        title: str,
        document_id: uuid.UUID,
        rank: int,
        hit: SearchHit | None = None,
        fact: FactHit | None = None,
        after: str = "",
        before: str = "",
    ) -> Evidence:
        own = frozenset(tokens(text))
        about = f"{PurePath(title).stem} {context}"
        head = _HEAD.split(text, maxsplit=1)[0] if _HEAD.search(text) else ""
        figure = any(c.isdigit() for c in text)
        return Evidence(
            text,
            context,
            document_id,
            title,
            rank,
            hit,
            fact,
            own,
            frozenset(tokens(about)) - own,
            frozenset(pairs(text)),
            after,
            before,
            frozenset(tokens(head)),
            figure,
            frozenset(tokens(f"{before} {after}")),
            figure and bool(_MONEY.search(fold(f"{text} {context} {PurePath(title).stem}"))),
        )


def relevant(hit: SearchHit) -> bool:
    return hit.lexical_rank is not None or (hit.similarity or 0.0) >= MIN_SIMILARITY


def evidence_of(hits: list[SearchHit], facts: list[FactHit] | None = None) -> list[Evidence]:
    """The lines of the relevant passages, then the matching facts' lines not already among them."""
    out: list[Evidence] = []
    for rank, hit in enumerate(hits):
        if not relevant(hit):
            continue
        heading, body = split_chunk(hit.text, sentences=False)
        body = _unwrapped("\n".join(body)).splitlines()  # the context line is never joined to the body
        if len(body) > 1 and body[0].endswith("?"):  # a question and its answer: the question is context
            heading, body = f"{heading} {body[0]}", body[1:]
        lines = [s for line in body for s in sentences(line)]
        for i, line in enumerate(lines):
            after = lines[i + 1] if i + 1 < len(lines) else ""
            before = lines[i - 1] if i > 0 else ""
            out.append(
                Evidence.of(
                    line,
                    heading,
                    title=hit.title,
                    document_id=hit.document_id,
                    rank=rank,
                    hit=hit,
                    after=after,
                    before=before,
                )
            )
    seen = {e.text for e in out}
    for fact in facts or []:
        for line in sentences(fact.text):
            if line not in seen:
                seen.add(line)
                out.append(
                    Evidence.of(
                        line, "", title=fact.title, document_id=fact.document_id, rank=len(hits), fact=fact
                    )
                )
    return out


def _unwrapped(text: str) -> str:
    """Lines a writer wrapped in the middle of a sentence, joined ("…dans les 19 communes de Bruxelles,"
    / "au-delà 0,60 € par km")."""
    out: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if (
            out
            and stripped
            and out[-1]
            and (out[-1][-1] in ",;" or out[-1][-1].islower())
            and stripped[0].islower()
        ):
            out[-1] = f"{out[-1]} {stripped}"
        else:
            out.append(stripped)
    return "\n".join(out)


def word_weights(pool: list[Evidence], words: set[str]) -> dict[str, float]:
    """Rarer among the candidates, heavier: 1 + ln(N / df), df the lines holding the word (or, for a
    word no line holds as such, one of its family: "palu" in a list that only says "paludisme")."""
    total = max(len(pool), 1)
    weights = {}
    for word in words:
        df = sum(1 for e in pool if word in e.own or word in e.around) or sum(
            1 for e in pool if any(prefix_match(word, t) for t in e.own | e.around)
        )
        weights[word] = 1.0 + math.log(total / df) if df else 0.0
    return weights


def _family(words: set[str], found: frozenset[str]) -> set[str]:
    """The words not found as such whose family is."""
    return {t for t in words - found if any(prefix_match(t, f) for f in found)}


def fit(
    e: Evidence,
    asked: set[str],
    asked_pairs: set[tuple[str, str]],
    followed: set[str],
    w: dict[str, float],
    *,
    figure: bool = False,
    money: bool = False,
    followed_pairs: frozenset[tuple[str, str]] = frozenset(),
) -> tuple[float, float]:
    """(score, what the message itself matched)."""
    family = _family(asked, e.own)
    own = sum(w[t] for t in asked & e.own) + FAMILY_WEIGHT * sum(w[t] for t in family)
    if figure:  # which item's figure: the item's name decides
        own += NAME_WEIGHT * sum(w[t] for t in asked & e.head)
    missing = asked - e.own - family
    around = sum(w[t] for t in missing & e.around) + FAMILY_WEIGHT * sum(
        w[t] for t in _family(missing - e.around, e.around)
    )
    together = sum(w[b] for _, b in asked_pairs & e.pairs)
    # the sentences around it answer the rest ("Ouvert du lundi au samedi." + "Fermé le dimanche.")
    nearby = sum(w[t] for t in (missing - e.around) & e.near)
    matched = own + CONTEXT_WEIGHT * around + PAIR_WEIGHT * together + NEAR_WEIGHT * nearby
    previous = sum(w[t] for t in followed & (e.own | e.around))
    # the words side by side in the question it continues ("vélo électrique" is not "vélo cargo électrique")
    previous += PAIR_WEIGHT * sum(w.get(b, 0.0) for _, b in followed_pairs & e.pairs)
    similarity = e.hit.similarity if e.hit is not None and e.hit.similarity is not None else 0.0
    prior = (
        RANK_WEIGHT / (e.rank + 1)
        + SIMILARITY_WEIGHT * similarity
        + (FIGURE_BONUS if figure and e.figure and (e.money or not money) else 0.0)
    )
    return matched + FOLLOWED_WEIGHT * previous + prior, matched
