"""The extractive answerer: a grounded answer composed from the retrieved passages, with no LLM.

The best line of the evidence (see ``comptoir.chat.evidence``) is the answer, with its source, narrowed
and said as a sentence (see ``comptoir.chat.readable``); a prose sentence comes with its neighbour when
that one gives the figure it announces; a second line joins when it answers a part of the question the
first leaves out, or when the question cannot tell two rows of one table apart (two brands in the same
size), and both are named. When nothing fits, it says so, in the customer's language. Every number of
the answer is quoted from a cited source; the fixed wording around it holds no digit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from comptoir.chat.evidence import (
    ASKS_FIGURE,
    ASKS_MONEY,
    ASKS_OTHER_FIGURE,
    Evidence,
    evidence_of,
    fit,
    word_weights,
)
from comptoir.chat.prompts import language_of
from comptoir.chat.readable import has_digit, narrow, readable
from comptoir.facts.hit import FactHit
from comptoir.retrieval.search import SearchHit
from comptoir.text import fold, pairs, tokens, words

#: a second line joins the answer when its score is this close to the best one
TIE = 0.93
MAX_LINES = 2
#: a second line joins the answer when it covers a word of the question the first does not and at most
#: this many other lines hold, and scores at least this share of the first
COVER_DF = 2
COVER_SHARE = 0.5
#: a neighbouring sentence joins when it matches the question at least this share of the chosen one
NEIGHBOUR_SHARE = 0.6

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
class ExtractiveAnswer:
    text: str
    used: list[SearchHit]
    facts: list[FactHit] = field(default_factory=list)


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


def _number_slots(text: str) -> dict[str, set[str]]:
    """Each number of a text and the words beside it ("taille 4" → {"4": {"taille"}})."""
    seq = words(text)
    slots: dict[str, set[str]] = {}
    for i, word in enumerate(seq):
        if word.isdigit():
            beside = {w for w in seq[max(i - 1, 0) : i + 2] if not w.isdigit()}
            slots.setdefault(word, set()).update(beside)
    return slots


def _replaced_numbers(question: str, context: str) -> set[str]:
    """The numbers of the question a follow-up continues that its own numbers replace: those beside the
    same words ("taille 4" by "taille 5", "8 pouces" by "10 inch"), not the others ("lot de 300")."""
    asked = _number_slots(question)
    beside = set().union(*asked.values()) if asked else set()
    return {n for n, words_beside in _number_slots(context).items() if words_beside & beside}


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
    if context:  # "et en 10 pouces ?": its numbers replace those it continues for the same thing
        followed -= _replaced_numbers(question, context)
    followed_pairs = (
        frozenset(p for p in pairs(context) if set(p) <= followed | asked) if context else frozenset()
    )
    pool = evidence_of(hits, facts)
    weights = word_weights(pool, asked | followed)
    # money is asked for by the message, or by the question it continues ("et dans le 11e ?" after a fee)
    # unless the message asks for another figure of its own ("et ça ferme quand ?" after a price)
    own, asking = fold(question), fold(f"{question} {context or ''}")
    figure = bool(ASKS_FIGURE.search(asking))
    money = bool(ASKS_MONEY.search(own)) or (
        bool(ASKS_MONEY.search(asking)) and not ASKS_OTHER_FIGURE.search(own)
    )
    scored = []
    for e in pool:
        score, matched = fit(
            e,
            asked,
            asked_pairs,
            followed,
            weights,
            figure=figure,
            money=money,
            followed_pairs=followed_pairs,
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
    # (and the words of the question a follow-up continues: "et en taille 5 ?" after "lot de 300")
    wanted = ((asked | followed) & top.own, asked_pairs & top.pairs)
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
            or (has_digit(e.after) and not has_digit(line))
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
