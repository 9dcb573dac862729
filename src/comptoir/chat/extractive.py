"""The extractive answerer: a grounded answer composed from the retrieved passages, with no LLM.

Every line of the passages (a record, a sentence, the answer of a question/answer pair) is a piece of
evidence, scored against the question with the signals retrieval already trusts: the question's words
it holds, each weighted by how rare it is among the candidates (so "taille 4" decides between the
sizes while "prix" decides nothing), the words of its context (heading path, the FAQ question it
answers) at a lower weight, the words of the question a follow-up continues at half weight, and the
passage's retrieval rank. A record whose values are labelled ("Petite : 9,95 $ ; Grande : 15,95 $") is
narrowed to the values the question names. The best line is the answer, with its source; a second one
joins it only when it fits equally (two brands in the same size), and both are named. When nothing
fits, it says so. Every number of the answer is quoted from a cited source; the fixed wording around
it holds no digit.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from pathlib import PurePath

from comptoir.chat.prompts import language_of
from comptoir.facts.hit import FactHit
from comptoir.retrieval.search import SearchHit
from comptoir.text import fold, pairs, prefix_match, sentences, split_chunk, tokens

#: Below this cosine similarity, a passage found only by the dense leg is taken as unrelated.
MIN_SIMILARITY = 0.35
#: a second line joins the answer when its score is this close to the best one
TIE = 0.93
MAX_LINES = 2
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
#: a second line joins the answer when it covers a word of the question the first does not and at most
#: this many other lines hold, and scores at least this share of the first
COVER_DF = 2
COVER_SHARE = 0.5
#: a neighbouring sentence joins when it matches the question at least this share of the chosen one
NEIGHBOUR_SHARE = 0.6
#: words of the customer's language that ask for a figure
_ASKS_FIGURE = re.compile(
    r"\b(?:combien|cmb|prix|tarifs?|co[uû]te?s?|co[uû]tent|cher|frais|montant|taux|heures?|horaires?|caution|"
    r"acompte|livr\w*|envo\w*|exp[eé]di\w*|deliver\w*|shipping|deposit|num[eé]ros?|t[eé]l[eé]phone|tel|phone|"
    r"number|whatsapp|"
    r"quand|ouvert|ouvre|ferme|how much|price|prices|cost|costs|fees?|rates?|charges?|hours|when|open|"
    r"close)\b"
)
_HEAD = re.compile(r" : | — | \.{2,} ")

TEXTS = {
    "fr": {
        "intro": "Voici ce que j'ai trouvé :",
        "source": "source : {title}",
        "unknown": (
            "Je ne sais pas : je n'ai pas trouvé cette information dans nos documents. "
            "Vous pouvez contacter la boutique directement."
        ),
    },
    "en": {
        "intro": "Here is what I found:",
        "source": "source: {title}",
        "unknown": "I don't know: I could not find this in our documents. Please contact the shop directly.",
    },
}


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
            any(c.isdigit() for c in text),
            frozenset(tokens(f"{before} {after}")),
        )


@dataclass(frozen=True)
class ExtractiveAnswer:
    text: str
    used: list[SearchHit]
    facts: list[FactHit] = field(default_factory=list)


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


def _weights(pool: list[Evidence], words: set[str]) -> dict[str, float]:
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


def _score(
    e: Evidence,
    asked: set[str],
    asked_pairs: set[tuple[str, str]],
    followed: set[str],
    w: dict[str, float],
    *,
    figure: bool = False,
    followed_pairs: frozenset[tuple[str, str]] = frozenset(),
) -> tuple[float, float]:
    """(score, what the message itself matched)."""
    own = sum(w[t] for t in asked & e.own) + FAMILY_WEIGHT * sum(w[t] for t in _family(asked, e.own))
    if figure:  # which item's figure: the item's name decides
        own += NAME_WEIGHT * sum(w[t] for t in asked & e.head)
    missing = asked - e.own - _family(asked, e.own)
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
        + (FIGURE_BONUS if figure and e.figure else 0.0)
    )
    return matched + FOLLOWED_WEIGHT * previous + prior, matched


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _unit(value: str) -> str:
    """What a value counts in: "9,95 $" → "$", "5 L" → "l", "33500" → ""."""
    return "".join(c for c in value.lower() if not c.isdigit() and c not in " .,'’\u202f\u00a0")


_PRICE_LABEL = re.compile(r"prix|price|tarif|co[uû]t|cost|montant|amount", re.IGNORECASE)
_CURRENCY_MARK = re.compile(r"[$€£]|\b(?:f|fc|fcfa|cfa|xof|xaf|eur|usd|cad|cdf|chf|gbp)\b", re.IGNORECASE)
_QUALIFIER_WORDS = 3
_PRICE_WORDS = frozenset(tokens("prix price tarif cout montant amount euro dollar"))
_BARE_NUMBER = re.compile(r"\d[\d\s.,]*")


def _plain_price(label: str, value: str, *, alone: bool) -> bool:
    """Whether a price reads without its label: the only one, labelled "prix" or with its currency."""
    extra = {t for t in tokens(label) - _PRICE_WORDS if not _CURRENCY_MARK.fullmatch(t)}
    return alone and bool(_PRICE_LABEL.search(label)) and not extra


def _say(label: str, value: str) -> str:
    """ "neuf 47 000"; "prix carton de 6 : 79,00 €" (a colon where a label's number would run on)."""
    if not label:
        return value
    return f"{label.lower()}{' :' if label[-1:].isdigit() else ''} {value}"


def readable(line: str) -> str:
    """A record's line as a customer reads it: what it is, its short qualifiers, then its amounts, and
    longer notes last: "Pull, Laine Douce — taille : M ; prix : 59 €" → "Pull, Laine Douce, taille M :
    59 €". Other lines are returned as they are."""
    name, sep, rest = line.partition(" — ")
    if not sep:
        return line
    parts = [
        (label, value) if sep else ("", label)
        for label, sep, value in (p.partition(" : ") for p in rest.split(" ; "))
    ]
    amounts, qualifiers, notes = [], [], []
    for label, value in parts:
        money = _has_digit(value) and (_CURRENCY_MARK.search(value) or _PRICE_LABEL.search(label))
        if money or _BARE_NUMBER.fullmatch(value):
            amounts.append((label, value))
        elif len(value.split()) <= _QUALIFIER_WORDS:
            qualifiers.append(f"{label.lower()} {value}".strip())
        else:
            notes.append(f"{label.lower()} : {value}" if label else value)
    if not amounts:
        return line
    alone = len(amounts) == 1
    spoken = [
        value if _plain_price(label, value, alone=alone) else _say(label, value) for label, value in amounts
    ]
    head = ", ".join([name, *qualifiers])
    tail = f" ({' ; '.join(notes)})" if notes else ""
    return f"{head} : {', '.join(spoken)}{tail}"


#: the share of a label's words a question must hold to name it
LABEL_SHARE = 0.75
_BRACKETS = re.compile(r"\([^)]*\)")


def _label_words(label: str) -> set[str]:
    """The words that name a column: "Journée (9h-19h)" is named by "journée"; its details in brackets
    say more about it, they are not needed to name it."""
    return tokens(_BRACKETS.sub(" ", label)) or tokens(label)


def _named(label: set[str], wanted: set[str]) -> bool:
    return bool(label) and len(label & wanted) >= LABEL_SHARE * len(label)


def narrow(line: str, asked: set[str], followed: set[str]) -> str:
    """A labelled record ("name — Petite : 9,95 $ ; Grande : 15,95 $") narrowed to the values whose
    labels the question names (those of the message first, else of the question it follows); values
    without digits stay. Other lines are returned as they are."""
    name, sep, rest = line.partition(" — ")
    if not sep:
        return line
    parts = [part.partition(" : ") for part in rest.split(" ; ")]
    if not all(p[1] for p in parts):
        return line
    for wanted in (asked, followed):
        # a label counts as named when the question holds (nearly) all its words ("grande", "location
        # mois", "wax ou Faso Dan Fani"), not some: "vélo électrique" names neither "vélo classique" nor "VAE"
        named = [i for i, (label, _, _) in enumerate(parts) if _named(_label_words(label), wanted)]
        units = {_unit(parts[i][2]) for i in named if _has_digit(parts[i][2])}
        # a value is left out only when it is a sibling of a named one: a figure in the same unit
        dropped = [
            i
            for i, (_, _, value) in enumerate(parts)
            if i not in named and _has_digit(value) and _unit(value) in units
        ]
        if dropped:
            kept = [f"{label} : {value}" for i, (label, _, value) in enumerate(parts) if i not in dropped]
            return f"{name} — {' ; '.join(kept)}"
    return line


def _covering(scored: list[tuple[float, Evidence]], asked: set[str]) -> list[Evidence]:
    """A line answering the part of the question the best line leaves out ("…to that zone, with a
    heavy part?": the zone's fee, and the surcharge for heavy parts): it holds a word of the question
    that the best line does not and that few lines hold."""
    best_score, best = scored[0]
    pool = [e for _, e in scored]
    left = {
        t
        for t in asked - best.own - best.around
        if sum(1 for e in pool if t in e.own or t in e.around) <= COVER_DF
    }
    for score, e in scored[1:]:
        if score < COVER_SHARE * best_score:
            break
        if (
            e.own & left
            and e.text != best.text
            and e.document_id == best.document_id
            and (e.context != best.context or not e.head & best.head)
        ):
            return [e]
    return []


def answer_extractively(
    question: str,
    hits: list[SearchHit],
    *,
    language: str,
    facts: list[FactHit] | None = None,
    context: str | None = None,
) -> ExtractiveAnswer:
    """The best line of the evidence for ``question``, with its source. ``context`` is the question a
    follow-up continues: its words count, half as much."""
    texts = TEXTS[language_of(language)]
    asked = tokens(question)
    asked_pairs = pairs(question)
    followed = tokens(context) - asked if context else set()
    if any(t.isdigit() for t in asked):  # "et en 10 pouces ?": its numbers replace those it continues
        followed = {t for t in followed if not t.isdigit()}
    followed_pairs = (
        frozenset(p for p in pairs(context) if set(p) <= followed | asked) if context else frozenset()
    )
    pool = evidence_of(hits, facts)
    weights = _weights(pool, asked | followed)
    figure = bool(_ASKS_FIGURE.search(fold(f"{question} {context or ''}")))
    scored = []
    for e in pool:
        score, matched = _score(
            e, asked, asked_pairs, followed, weights, figure=figure, followed_pairs=followed_pairs
        )
        if matched > 0:  # the message itself must match; the question it follows only ranks
            scored.append((score, e, matched))
    if followed:  # a follow-up stays on the subject of the question it continues, when a line does
        on_subject = [s for s in scored if followed & (s[1].own | s[1].around)]
        scored = on_subject or scored
    if not scored:
        return ExtractiveAnswer(texts["unknown"], [])
    scored.sort(key=lambda item: item[0], reverse=True)
    best = scored[0][0]
    top = scored[0][1]
    ranked = [(score, e) for score, e, _ in scored]
    # two lines fit equally only as two rows of one table or list that the question cannot tell apart
    # (two brands in the same size): each matches all the words and word pairs the best one matches
    wanted = (asked & top.own, asked_pairs & top.pairs)
    chosen = [
        e
        for score, e in ranked[:MAX_LINES]
        if score >= TIE * best
        and e.document_id == top.document_id
        and e.context == top.context
        and wanted[0] <= e.own
        and wanted[1] <= e.pairs
    ]
    if len(chosen) == 1:
        chosen += _covering(ranked, asked)
    picked: list[tuple[str, Evidence]] = []
    matched_by = {e.text: m for _, e, m in scored}
    for e in chosen:
        line = readable(narrow(e.text, asked, followed))
        # a sentence of prose comes with its neighbours when they answer too, or give the figure it
        # announces ("Tous les prix sont avant taxes." + "TPS 5 % et TVQ 9,975 % en sus.")
        share = NEIGHBOUR_SHARE * matched_by.get(e.text, 0.0)
        if e.before and matched_by.get(e.before, 0.0) >= share > 0:
            line = f"{e.before} {line}"
        if e.after and (
            line.endswith(":")
            or (_has_digit(e.after) and not _has_digit(line))
            or matched_by.get(e.after, 0.0) >= share > 0
        ):
            line = f"{line} {e.after}"
        if line not in (p[0] for p in picked):
            picked.append((line, e))
    source = texts["source"]
    quoted = [f"{line} ({source.format(title=e.title)})" for line, e in picked]
    body = quoted[0] if len(quoted) == 1 else "\n".join([texts["intro"], *(f"- {q}" for q in quoted)])
    used = list({id(e.hit): e.hit for e in chosen if e.hit is not None}.values())
    return ExtractiveAnswer(body, used, [e.fact for e in chosen if e.fact is not None])
