"""PDF, DOCX and XLSX read as Markdown-ish text for the common structure reader: ``#`` headings,
pipe tables (``| a | b |`` over a ``|---|`` line), paragraphs separated by blank lines, ``- item`` lists.

Every upload is treated as hostile. DOCX and XLSX are zip archives: before a library opens one, its
directory is checked (number of entries, total declared uncompressed size, compression ratio of each
large entry) and its XML parts are streamed once, refusing any DTD (Office never writes one: that is
how entity-expansion bombs get in). Python's zipfile never inflates an entry past its declared size,
so the checked sizes hold when the libraries read. A PDF's pages are capped, and the time spent on a
document is checked between pages, rows and paragraphs. Whatever a library raises on a corrupt file
becomes ``InvalidInput`` (422); a document past a size limit is ``PayloadTooLarge`` (413).

PDF text comes in reading order from pypdf's layout mode, with a tab between columns that the page
sets apart (a menu's dish and its price), pages separated by a blank line.

Spreadsheet numbers are written as the sheet shows them, from each cell's number format (thousands
grouping, decimals, percent, currency text, dates), with a space between thousands and a point before
decimals: a workbook does not say which locale displays it, and both read unambiguously.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable

from comptoir.errors import ComptoirError, InvalidInput, UnsupportedMediaType
from comptoir.ingest.office.docx import _docx
from comptoir.ingest.office.limits import OfficeLimits, _check_zip, _Clock
from comptoir.ingest.office.pdf import _pdf
from comptoir.ingest.office.xlsx import (
    DECIMAL_SEPARATOR,
    THOUSANDS_SEPARATOR,
    _xlsx,
    cell_text,
    format_date,
    format_number,
)

__all__ = [
    "DECIMAL_SEPARATOR",
    "OFFICE_SUFFIXES",
    "THOUSANDS_SEPARATOR",
    "OfficeLimits",
    "cell_text",
    "format_date",
    "format_number",
    "office_to_markdown",
]

OFFICE_SUFFIXES = (".pdf", ".docx", ".xlsx")


def office_to_markdown(name: str, suffix: str, data: bytes, *, limits: OfficeLimits = OfficeLimits()) -> str:  # noqa: B008 (frozen)
    """The text of one PDF, DOCX or XLSX file as Markdown; "" when a DOCX or XLSX holds no text.

    Raises InvalidInput (corrupt, encrypted, no text layer, zip bomb), PayloadTooLarge (past a limit),
    UnsupportedMediaType (another suffix)."""
    kind = suffix.lower()
    clock = _Clock(name, limits.max_seconds)
    if kind == ".pdf":
        return _guarded(name, "PDF", lambda: _pdf(name, data, limits, clock))
    if kind == ".docx":
        _check_zip(name, "DOCX", data, limits, clock)
        return _guarded(name, "DOCX", lambda: _docx(name, data, limits, clock))
    if kind == ".xlsx":
        _check_zip(name, "XLSX", data, limits, clock)
        return _guarded(name, "XLSX", lambda: _xlsx(name, data, limits, clock))
    raise UnsupportedMediaType(
        f"{name}: not an office file ({suffix or 'no suffix'}); supported: {', '.join(OFFICE_SUFFIXES)}"
    )


_BYTES_IO = re.compile(r"'?<_io\.BytesIO object at 0x[0-9a-fA-F]+>'?")


def _guarded(name: str, kind: str, read: Callable[[], str]) -> str:
    """``read()``, with any library failure turned into InvalidInput and library warnings silenced
    (openpyxl warns about features it drops, which a reader does not need)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = read()
    except ComptoirError:
        raise
    except Exception as exc:
        detail = _BYTES_IO.sub("the file", " ".join(str(exc).split()))[:200]
        raise InvalidInput(
            f"{name}: cannot read this {kind} file (corrupt or not really {kind}?): "
            f"{type(exc).__name__}{': ' + detail if detail else ''}"
        ) from exc
    return text.strip()
