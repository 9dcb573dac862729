"""A signal: a weighted pattern over the tokens of a sentence, run only when one of its anchors is there."""

from __future__ import annotations

import re
from dataclasses import dataclass

from comptoir.ingest.instructions.vocabulary import _wordset


@dataclass(frozen=True)
class _Signal:
    name: str
    reason: str
    weight: int
    pattern: re.Pattern[str]
    anchors: frozenset[str]  # a match holds at least one of these tokens: skip the regex otherwise


# words too common to tell a sentence apart; no pattern is made of these alone
_STOP = _wordset(
    """a l le la les the de d du des to for pour au aux un une an et and of in en ce cet cette ces this
    these that qui que qu on il me mon ma my is are est sont s y j m n t tu te ta ton tes you your vous
    votre vos ne pas not it at or ou with avec par by sur w"""
)


def _words(pattern: str) -> frozenset[str]:
    """The literal words of a pattern, but quantifiers, escapes and the commonest words."""
    literal = re.sub(r"\{\d*,?\d*\}|\\[A-Za-z]", " ", pattern)
    words = set()
    for m in re.finditer(r"[a-z]+|[0-9]+", literal):
        words.add(m.group())
        if literal.startswith("?", m.end()):  # "prompts?" also anchors "prompt"
            words.add(m.group()[:-1])
    return frozenset(words) - _STOP


def _sig(name: str, reason: str, weight: int, *patterns: str, need: str = "") -> _Signal:
    """A signal; `need` is a part every one of its patterns requires (its words become the anchors)."""
    source = "|".join(f"(?:{p})" for p in patterns)
    return _Signal(name, reason, weight, re.compile(source), _words(need or source))
