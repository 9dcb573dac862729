"""Is a message a follow-up of the previous question? ("et en taille 5 ?" after "prix lot 300 taille 4")

A follow-up is short and either opens with a continuation word or has no content word of its own
("300 ?"). These are words of the customer's language, not of any company. A follow-up is retrieved
together with the question it continues, and is never answered from the semantic cache.
"""

from __future__ import annotations

import re

from comptoir.text import tokens

_OPENERS = re.compile(
    r"^\s*(et|puis|pis|aussi|sinon|ou bien|ou|pareil|idem|même chose|and|also|or|then|what about|"
    r"how about|same)\b",
    re.IGNORECASE,
)


def is_follow_up(message: str, *, max_words: int) -> bool:
    if len(message.split()) > max_words:
        return False
    if _OPENERS.match(message):
        return True
    return all(token.isdigit() for token in tokens(message))
