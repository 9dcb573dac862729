"""Normalisation of a customer's message before anything else sees it.

NFKC folds compatibility forms (full-width digits, ligatures) so "２４ ０００" and "24 000" match; control
characters, bidirectional overrides and Unicode tag characters (U+E0000-E007F, invisible text used to
smuggle instructions) are removed. The length limit is checked after normalisation.
"""

from __future__ import annotations

import re
import unicodedata

from comptoir.cleaning import INVISIBLE, clean_content
from comptoir.errors import InvalidInput, PayloadTooLarge

_SPACES = re.compile(r"[ \t]+")


def normalize_message(text: str, *, max_chars: int) -> str:
    cleaned = INVISIBLE.sub("", unicodedata.normalize("NFKC", clean_content(text)))
    cleaned = "\n".join(_SPACES.sub(" ", line).strip() for line in cleaned.splitlines()).strip()
    if not cleaned:
        raise InvalidInput("message is empty")
    if len(cleaned) > max_chars:
        raise PayloadTooLarge(f"message is longer than {max_chars} characters (COMPTOIR_MAX_MESSAGE_CHARS)")
    return cleaned
