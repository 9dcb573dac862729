"""What of a caller's text may be stored, one floor below the API, ingestion and chat.

PostgreSQL refuses NUL in ``text`` and ``jsonb``, and a lone UTF-16 surrogate (``"\\ud800"`` in JSON
decodes to one) cannot be encoded to UTF-8 at all: either would fail the write with a server error.
Three kinds of field, three treatments:

- **content** (document text, file contents, a question, a prompt template): NUL removed, lone surrogates
  become U+FFFD; the rest is the caller's text, kept as sent.
- **labels** (titles, file names, sources, a company name): NFKC (full-width forms folded), control
  characters, bidirectional overrides, zero-width and tag characters removed, runs of spaces collapsed:
  a label shows in listings and prompts, where invisible characters only ever hide something.
- **identifiers** (a user id, a model name, metadata keys and values): refused when they hold NUL, a
  control character or a lone surrogate (``forbidden_in_identifier``), since changing an identifier
  silently would make it name someone else.
"""

from __future__ import annotations

import re
import unicodedata

#: C0/C1 controls (tab and newline kept), zero-width characters, bidi overrides and isolates, the BOM and
#: Unicode tag characters (U+E0000-E007F, invisible text used to smuggle instructions)
INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
    "\U000e0000-\U000e007f]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\u0000-\u001f\u007f-\u009f\ud800-\udfff]")
_SPACES = re.compile(r"\s+")


def clean_content(text: str) -> str:
    """Text PostgreSQL stores: NUL removed, lone surrogates replaced by U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    return _SURROGATE.sub("\ufffd", text)


def clean_label(text: str) -> str:
    """A one-line label: NFKC, invisible characters removed, whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", clean_content(text))
    return _SPACES.sub(" ", INVISIBLE.sub("", folded)).strip()


def forbidden_in_identifier(text: str) -> str | None:
    """The first character an identifier may not hold (NUL, a control, a lone surrogate), named."""
    found = _CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"
