"""The score of a sentence: the sum of its signals' weights, plus chat-template role markers."""

from __future__ import annotations

import re

from comptoir.ingest.instructions.order_signals import _ORDER_SIGNALS
from comptoir.ingest.instructions.prompt_signals import _PROMPT_SIGNALS
from comptoir.ingest.instructions.signals import _Signal
from comptoir.ingest.instructions.vocabulary import (
    _ADVERBS,
    _AI,
    _IMPERATIVES,
    _TU,
    _YOU,
    _fold,
    _tokens,
    _w,
    _wordset,
)

THRESHOLD = 3

_SIGNALS: tuple[_Signal, ...] = _PROMPT_SIGNALS + _ORDER_SIGNALS
_ANCHORS = frozenset().union(*(signal.anchors for signal in _SIGNALS))

_REASON_ORDER = (
    "override",
    "reveal_prompt",
    "role_marker",
    "jailbreak",
    "role_change",
    "free_claim",
    "addressed_to_ai",
)

# chat-template markers and headings that open a fake turn: flagged on their own
_ROLE_MARKER = re.compile(
    r"<\|[a-z_ ]{2,30}\|>|\[/?inst\]|<</?sys>>|</?(?:system|sys|instructions?|prompt|im_start|im_end)>"
    r"|\[(?:system|sys|system prompt)\]|\{\{\s*system"
    r"|^\s*#{1,6}\s*(?:instructions?|system|systeme|response|input|user|assistant|prompt|system prompt)"
    r"\s*:?\s*$"
)
# "System: ..." at the start of a sentence ("Système : Android 14" stays unless something else adds up)
_ROLE_PREFIX = re.compile(r"^\W{0,3}(?:system|systeme|sys|system prompt|developer|developpeur)\s*:")
_TU_RE = re.compile(_TU)
# an AI word that is not "our / your / its / this chatbot": one that may be the addressee
_AI_NAMED = re.compile(
    "".join(f"(?<! {p})" for p in sorted(_wordset("notre nos our votre vos your ton ta tes son sa ses leur")))
    + f" {_AI} "
)
_YOU_RE = re.compile(_YOU)


def score_sentence(sentence: str) -> tuple[int, str]:
    """The score of one sentence and the reason of its strongest signal ("" when it scores 0)."""
    folded = _fold(sentence)
    if _ROLE_MARKER.search(folded):
        return THRESHOLD, "role_marker"
    score = 0
    reasons: dict[str, int] = {}  # reason -> weight of its heaviest signal
    if _ROLE_PREFIX.search(folded):
        score, reasons["role_marker"] = 2, 2
    tokens = _tokens(folded)
    words = set(tokens.split())
    if _ANCHORS.isdisjoint(words):
        return score, "role_marker" if score else ""
    matched: set[str] = set()
    for signal in _SIGNALS:
        if not signal.anchors.isdisjoint(words) and signal.pattern.search(tokens):
            matched.add(signal.name)
            score += signal.weight
            reasons[signal.reason] = max(signal.weight, reasons.get(signal.reason, 0))
    if "override_strong" in matched and "override_weak" in matched:
        score -= 2  # the weak form is part of the strong one
    if (
        "ai_word" in matched
        and (_TU_RE.search(tokens) or _YOU_RE.search(tokens))
        and _AI_NAMED.search(tokens)
    ):
        score += 1  # an AI named and spoken to, not "notre chatbot" shown to a customer
    # what the text asks for (heaviest, then in _REASON_ORDER) rather than whom it speaks to
    reason = max(
        reasons,
        key=lambda r: (r != "addressed_to_ai", reasons[r], -_REASON_ORDER.index(r)),
        default="",
    )
    return score, reason


_CONTINUATION = re.compile(
    r"\A \| (?:"
    + _ADVERBS
    + " ){0,3}"
    + _IMPERATIVES
    + " "
    + r"|\A \| "
    + _w("""
        you must, you will, you should, you have to, you need to, you shall, you can t, you cannot,
        you must never, tu dois, tu vas, tu devras, tu ne, n oublie pas de, ne dis, n indique, ne mentionne,
        ne revele
    """)
    + " "
)


def _continues(sentence: str) -> bool:
    """An order going on after a flagged sentence: an imperative, "tu", or a signal beyond an AI word."""
    tokens = _tokens(_fold(sentence))
    if _CONTINUATION.search(tokens) or _TU_RE.search(tokens):
        return True
    score, reason = score_sentence(sentence)
    return score >= 2 or (score > 0 and reason != "addressed_to_ai")
