"""Words a customer shortens, read as the company writes them in full: "Amex" is "American Express",
"momo" is "Mobile Money".

A word of the question that the company's documents never say (no lexeme of it among the company's
terms) is tried as the beginnings of two words the documents say side by side: each split of it in two
pieces of two letters or more is a phrase of prefixes (``am:* <-> ex:*``), looked for in the company's
own chunks through their full-text index (one statement finds the question's unknown words, one per
unknown word looks for it). The words found join the question for retrieval and for the extractive
answer; the question itself is left as it is. A word the company does say is never expanded, so a
known term keeps its meaning; pieces must be followed by more letters, and stop words are never an
expansion.
"""

from __future__ import annotations

import re
from typing import Any

from psycopg import Connection
from psycopg.rows import tuple_row

from comptoir.text import STOPWORDS, fold

#: the shortest word tried, the fewest letters of a piece, the longest word tried
MIN_WORD = 4
MIN_PIECE = 2
MAX_WORD = 12
#: the unknown words of one question looked for, in the question's order: a message of a hundred made-up
#: words costs three index lookups, not a hundred (each up to tens of ms on a company of 100K chunks)
MAX_TRIED = 3
_ASCII_WORD = re.compile(r"[a-z]+")

# The words the company's terms do not hold (in the company's text search configuration, each word's
# lexemes computed once); a stop word of the company's language has none and is no name.
_UNKNOWN = """
WITH asked AS MATERIALIZED (
    SELECT a.word, a.n, tsvector_to_array(to_tsvector(comptoir_ts_config(c.language), a.word)) AS lexemes
    FROM unnest(%(words)s::text[]) WITH ORDINALITY AS a(word, n), companies c
    WHERE c.tenant_id = %(tenant)s
)
SELECT a.word FROM asked a
WHERE cardinality(a.lexemes) > 0
  AND NOT EXISTS (SELECT 1 FROM term_stats s WHERE s.tenant_id = %(tenant)s AND s.lexeme = ANY (a.lexemes))
ORDER BY a.n
"""
# The chunks where a word's pieces begin two words side by side. No LIMIT, and never prepared: with the
# phrase known to the planner this is a scan of the company's full-text index (about 0.1 ms for a
# company of a hundred chunks, 3 to 17 ms at 120,000); a LIMIT made the planner expect an early match
# and read every chunk of a large company instead (60 to 300 ms).
_SPELLED = "SELECT text FROM chunks WHERE tenant_id = %(tenant)s AND tsv @@ to_tsquery('simple', %(phrase)s)"


def candidates(question: str) -> list[str]:
    """The question's words that may be shortened forms: plain letters, not stop words."""
    seen: list[str] = []
    for word in re.findall(r"[^\W\d_]+", fold(question)):
        if (
            MIN_WORD <= len(word) <= MAX_WORD
            and _ASCII_WORD.fullmatch(word)
            and word not in STOPWORDS
            and word not in seen
        ):
            seen.append(word)
    return seen


def splits(word: str) -> list[tuple[str, str]]:
    """Every cut of ``word`` in two pieces of at least two letters: "amex" → [("am", "ex")]."""
    return [(word[:i], word[i:]) for i in range(MIN_PIECE, len(word) - MIN_PIECE + 1)]


def _phrase(word: str) -> str:
    return " | ".join(f"({a}:* <-> {b}:*)" for a, b in splits(word))


def spelled_out(word: str, text: str) -> str | None:
    """The two words of ``text`` side by side that ``word``'s pieces begin, each longer than its piece
    and neither a stop word: ("amex", "Visa, American Express") → "american express"."""
    folded = fold(text)
    for a, b in splits(word):
        for found in re.finditer(rf"\b({a}[a-z]+)[\s'’-]+({b}[a-z]+)\b", folded):
            first, second = found.groups()
            if first not in STOPWORDS and second not in STOPWORDS:
                return f"{first} {second}"
    return None


def expand(conn: Connection[Any], tenant_id: str, question: str) -> list[str]:
    """The words in full of the question's shortened words, as the company writes them (empty when
    every word is the company's own or none reads as the start of two of its words)."""
    words = candidates(question)
    if not words:
        return []
    out: list[str] = []
    with conn.cursor(row_factory=tuple_row) as cur:
        unknown = [w for (w,) in cur.execute(_UNKNOWN, {"tenant": tenant_id, "words": words}).fetchall()]
        for word in unknown[:MAX_TRIED]:
            cur.execute(_SPELLED, {"tenant": tenant_id, "phrase": _phrase(word)}, prepare=False)
            for (text,) in cur:
                full = spelled_out(word, text)
                if full:
                    if full not in out:
                        out.append(full)
                    break
    return out
