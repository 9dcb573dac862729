"""What two questions must share before one may be answered with the other's cached answer, beyond
being close in meaning: the same numbers ("taille 4" is not "taille 5", "lot 150" is not "lot 300") and
the same polarity ("livrez-vous à Abobo ?" is not "vous ne livrez pas à Abobo ?"). Embeddings put such
pairs very close together, so similarity alone would serve a wrong answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_NUMBER = re.compile(r"\d+(?:[ .,\u202f]\d{3})*(?:[.,]\d+)?")
_NEGATION = re.compile(
    r"\b(ne|n|pas|jamais|aucun|aucune|rien|sans|non|not|no|never|without|none|nothing)\b|n't",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class QuestionGuard:
    numbers: tuple[str, ...]
    negated: bool


def _number(text: str) -> str:
    digits = re.sub(r"[ .,\u202f](?=\d{3}\b)", "", text)  # thousands separators: 24 000 = 24.000 = 24000
    return digits.replace(",", ".")


def guard_of(question: str) -> QuestionGuard:
    text = unicodedata.normalize("NFKC", question)
    numbers = tuple(sorted(_number(match) for match in _NUMBER.findall(text)))
    folded = text.replace("’", "'")
    return QuestionGuard(numbers, bool(_NEGATION.search(folded)))
