"""Whether an answer said it did not know.

The extractive answerer's own "I don't know" and an LLM's, which the prompt asks for in so many words
(``comptoir.chat.prompts``: "say you do not know"), are recognised by the phrases a model uses for it in
French and English. The owner's console lists such turns under *To answer*.
"""

from __future__ import annotations

import re

from comptoir.chat.extractive import TEXTS
from comptoir.text import fold

_UNKNOWN = re.compile(
    r"\b("
    r"je ne (le )?sais pas|je l'?ignore|je n'?ai pas (trouve|d'?information|cette information|la reponse)"
    r"|je ne trouve pas|je ne peux pas (repondre|vous repondre|vous renseigner)"
    r"|aucune information|pas d'?information|n'?est pas (mentionne|indique|precise)"
    r"|i (do not|don'?t) know|i could(n'?t| not) find|i (did not|didn'?t|cannot|can'?t) find"
    r"|no information|not (mentioned|stated|specified) in"
    r")\b"
)
_KNOWN_REPLIES = {fold(texts["unknown"]) for texts in TEXTS.values()}


def says_unknown(answer: str) -> bool:
    """True when ``answer`` says it does not know."""
    folded = fold(answer).replace("’", "'")
    return folded.strip() in _KNOWN_REPLIES or bool(_UNKNOWN.search(folded))
