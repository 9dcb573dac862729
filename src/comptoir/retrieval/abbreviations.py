"""Names a customer shortens, read as the company writes them in full: "Amex" is "American Express",
"momo" is "Mobile Money".

A word of the customer's message that the company's documents never say (no lexeme of it among the
company's terms) is tried as the beginnings of two capitalised words the documents write side by side:
each cut of it in two pieces of two letters or more is a phrase of prefixes (``am:* <-> ex:*``), looked
for in the company's own chunks through their full-text index (one statement finds the message's
unknown words, one per unknown word looks for it, three words at most). Of the pairs found, the one the
documents write most often (among the first chunks that write one) is the expansion. It joins the
full-text query and the words the extractive answer is scored on (not the question's embedding); the
question itself is left as it is.

Only names are read this way: both words must start with a capital in the document and stand on one
line ("American Express", "Mobile Money"), so a common phrase ("la vente locale") never spells a word
out; a heading in capitals or in title case still can. A word the company does say is never expanded,
so a known term keeps its meaning; pieces must be followed by more letters, and the answerer's stop
words are never half of an expansion.
"""

from __future__ import annotations

import itertools
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
# The chunks where a word's pieces begin two words side by side, through the company's full-text index,
# then those of them that write such a pair as a name (two capitalised words, accents folded). A LIMIT on
# the index scan itself made the planner expect an early match and read every chunk of a large company
# (60 to 300 ms at 120,000 chunks): the match is a materialized CTE, planned for all its rows (an index
# scan), and only the texts read are limited. Never prepared, so the phrase is planned for.
_SPELLED = """
WITH found AS MATERIALIZED (
    SELECT text FROM chunks WHERE tenant_id = %(tenant)s AND tsv @@ to_tsquery('simple', %(phrase)s)
)
SELECT text FROM found WHERE unaccent(text) ~ %(names)s LIMIT %(texts)s
"""
#: chunk texts read per unknown word, to count which name the documents write most often
TEXTS_READ = 20
_WORD = re.compile(r"[^\W\d_]+")
#: what may stand between the two words of a name: spaces, a dash, an apostrophe; never a new line
_BETWEEN = re.compile(r"[ \t'’-]+")


def candidates(question: str) -> list[str]:
    """The question's words that may be shortened forms: plain letters, not stop words."""
    seen: list[str] = []
    for word in _WORD.findall(fold(question)):
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


def _names(word: str) -> str:
    """The pairs of capitalised words ``word``'s cuts begin, as a PostgreSQL regular expression."""
    word_of = r"[[:alpha:]]+"
    return "|".join(
        rf"\m{a.capitalize()}{word_of}[ \t'’-]+{b.capitalize()}{word_of}" for a, b in splits(word)
    )


def _begins(piece: str, word: str) -> bool:
    return word.startswith(piece) and len(word) > len(piece)


def spelled_out(word: str, texts: list[str]) -> str | None:
    """The two capitalised words side by side in ``texts`` that ``word``'s pieces begin, each longer
    than its piece and neither a stop word, the pair written most often (then the first in alphabetical
    order): ("amex", ["Visa, American Express"]) → "american express"."""
    counts: dict[str, int] = {}
    cuts = splits(word)
    for text in texts:
        found = list(_WORD.finditer(text))
        for left, right in itertools.pairwise(found):
            if not _BETWEEN.fullmatch(text[left.end() : right.start()]):
                continue
            first, second = left.group(), right.group()
            if not (first[0].isupper() and second[0].isupper()):
                continue
            a, b = fold(first), fold(second)
            if a in STOPWORDS or b in STOPWORDS:
                continue
            if any(_begins(x, a) and _begins(y, b) for x, y in cuts):
                counts[f"{a} {b}"] = counts.get(f"{a} {b}", 0) + 1
    if not counts:
        return None
    return min(counts, key=lambda pair: (-counts[pair], pair))


def expand(conn: Connection[Any], tenant_id: str, message: str) -> list[str]:
    """The names in full of the message's shortened words, as the company writes them (empty when every
    word is the company's own or none reads as the start of two of its names)."""
    words = candidates(message)
    if not words:
        return []
    out: list[str] = []
    with conn.cursor(row_factory=tuple_row) as cur:
        unknown = [w for (w,) in cur.execute(_UNKNOWN, {"tenant": tenant_id, "words": words}).fetchall()]
        for word in unknown[:MAX_TRIED]:
            params = {"tenant": tenant_id, "phrase": _phrase(word), "names": _names(word)}
            rows = cur.execute(_SPELLED, {**params, "texts": TEXTS_READ}, prepare=False).fetchall()
            texts = [text for (text,) in rows]
            full = spelled_out(word, texts)
            if full and full not in out:
                out.append(full)
    return out
