"""The extractive answerer: a grounded answer composed from retrieved passages, with no LLM.

It quotes the most relevant lines of the passages verbatim, each with its source, so every number in
its answer appears in a cited source; the fixed wording around them holds no digit. When nothing
relevant was retrieved it says it does not know. Text inside documents is only ever quoted, never
followed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from comptoir.chat.prompts import language_of
from comptoir.chat.seams import FactHit
from comptoir.retrieval.search import SearchHit

#: Below this cosine similarity, a passage found only by the dense leg is taken as unrelated.
MIN_SIMILARITY = 0.35
MAX_LINES = 3

_WORD = re.compile(r"\w+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_SENTENCE_ENDS = (".", "!", "?", ":", ";")
_MAX_HEADING = 120
_LABEL = re.compile(r"^[a-z]{1,3}(\d+)$")
_STOPWORDS = frozenset(
    word
    for line in (
        "a au aux avec c ce ces cest combien comment d dans de des du elle en est et il j je l la le les",
        "leur m ma mais me mes mon n ne nos notre nous on ou où par pas pour qu quand que quel quelle",
        "quels qui s sa se ses si son sur t ta te tes ton tu un une vos votre vous y",
        "an and are at be can could do does for from have how i in is it of on or the their there this",
        "to what when where which who why will with you your",
    )
    for word in line.split()
)

TEXTS = {
    "fr": {
        "intro": "Voici ce que j'ai trouvé dans nos documents :",
        "source": "source : {title}",
        "unknown": (
            "Je ne sais pas : je n'ai pas trouvé cette information dans nos documents. "
            "Vous pouvez contacter la boutique directement."
        ),
    },
    "en": {
        "intro": "Here is what I found in our documents:",
        "source": "source: {title}",
        "unknown": "I don't know: I could not find this in our documents. Please contact the shop directly.",
    },
}


def tokens(text: str) -> set[str]:
    """Lower-cased, accent-folded words without stop words, plural -s/-x dropped; a label mixing letters
    and a number ("T5", "F24") also yields the number, so "taille 5" meets "T5"."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    out = set()
    for word in _WORD.findall(folded):
        if word in _STOPWORDS:
            continue
        if len(word) > 3 and word[-1] in "sx" and not word.isdigit():
            word = word[:-1]
        out.add(word)
        label = _LABEL.match(word)
        if label:
            out.add(label.group(1))
    return out


def split_chunk(text: str) -> tuple[str, list[str]]:
    """(heading, lines) of a chunk. Chunks of prose start with their heading path on a line of its own
    (see ingest.chunking); it gives context to the lines below it and is not itself an answer."""
    raw = [line.strip() for line in text.splitlines() if line.strip()]
    heading = ""
    if len(raw) > 1 and len(raw[0]) <= _MAX_HEADING and not raw[0].endswith(_SENTENCE_ENDS):
        heading, raw = raw[0], raw[1:]
    lines: list[str] = []
    for line in raw:
        line = line.lstrip("-*• ").strip()
        lines.extend(s.strip() for s in _SENTENCE.split(line) if s.strip())
    return heading, lines


@dataclass(frozen=True)
class ExtractiveAnswer:
    text: str
    used: list[SearchHit]
    facts: list[FactHit] = field(default_factory=list)


def relevant(hit: SearchHit) -> bool:
    return hit.lexical_rank is not None or (hit.similarity or 0.0) >= MIN_SIMILARITY


def answer_extractively(
    question: str,
    hits: list[SearchHit],
    *,
    language: str,
    facts: list[FactHit] | None = None,
    context: str | None = None,
) -> ExtractiveAnswer:
    """Matching company facts, quoted with their sources, when there are some; else the best lines of
    the passages. ``context`` is the question a follow-up continues: its words count, half as much."""
    texts = TEXTS[language_of(language)]
    if facts:
        body = [f"- {fact.text} ({texts['source'].format(title=fact.title)})" for fact in facts]
        return ExtractiveAnswer("\n".join([texts["intro"], *body]), [], list(facts))
    wanted = tokens(question)
    around = tokens(context) - wanted if context else set()
    scored: list[tuple[float, str, SearchHit]] = []
    for rank, hit in enumerate(hits):
        if not relevant(hit):
            continue
        heading, lines = split_chunk(hit.text)
        from_heading = tokens(heading)
        for line in lines:
            own = tokens(line)
            matched = len(wanted & own) + len(wanted & (from_heading - own))
            if matched:  # the message itself must match; the question it follows only ranks
                score = matched + len(wanted & own) + len(around & own)
                scored.append((score + 1.0 / (rank + 2), line, hit))
    scored.sort(key=lambda item: item[0], reverse=True)
    chosen: list[tuple[str, SearchHit]] = []
    for _, line, hit in scored:
        if line not in (c[0] for c in chosen):
            chosen.append((line, hit))
        if len(chosen) == MAX_LINES:
            break
    if not chosen:
        return ExtractiveAnswer(texts["unknown"], [])
    body = [f"- {line} ({texts['source'].format(title=hit.title)})" for line, hit in chosen]
    used = list({id(hit): hit for _, hit in chosen}.values())
    return ExtractiveAnswer("\n".join([texts["intro"], *body]), used)
