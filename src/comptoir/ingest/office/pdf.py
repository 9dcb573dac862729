"""PDF text in reading order."""

from __future__ import annotations

import io
import re

import pypdf

from comptoir.errors import InvalidInput, PayloadTooLarge
from comptoir.ingest.office.limits import OfficeLimits, _Clock

# ---------------------------------------------------------------------------------------------- PDF


def _pdf(name: str, data: bytes, limits: OfficeLimits, clock: _Clock) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not _decrypts_without_password(reader):
        raise InvalidInput(
            f"{name}: the PDF is encrypted (password-protected); upload a copy saved without a password"
        )
    count = len(reader.pages)
    if count > limits.max_pdf_pages:
        raise PayloadTooLarge(
            f"{name}: the PDF has {count} pages, more than the {limits.max_pdf_pages} allowed"
        )
    pages = []
    for index in range(count):
        clock.check()
        text = _page_text(reader.pages[index])
        if text:
            pages.append(text)
    if not pages:
        raise InvalidInput(
            f"{name}: the PDF has no text layer (scanned?): export it as PDF from the program that made "
            "it, or run it through OCR first"
        )
    return "\n\n".join(pages)


def _decrypts_without_password(reader: pypdf.PdfReader) -> bool:
    """Many PDFs are encrypted only to restrict printing or copying, with an empty user password:
    every viewer opens them, and so do we."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # an AES file without the cryptography package, a broken encryption dictionary
        return False


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")
#: in layout mode, about one space per 0.3 em of blank: a gap of 4 or more is a column gap (well over
#: the widest spaces of justified text), written as a tab, which the structure reader takes as one
_GAP = re.compile(r" {4,}")


def _page_text(page: pypdf.PageObject) -> str:
    """The page's text in reading order. Layout mode places text by position, so a table row stays on
    one line even when the file draws it column by column, and its columns stay apart (a tab between
    them): "Pâté maison<TAB>21,95 $", one name-and-price record for the structure reader. Plain mode
    (content order) is the fallback where layout mode fails or finds nothing (rotated text)."""
    try:
        text = page.extract_text(extraction_mode="layout")
    except Exception:
        text = ""
    if not text.strip():
        text = page.extract_text()
    lines = []
    for line in _CONTROL.sub(" ", text).splitlines():
        cells = (" ".join(cell.split()) for cell in _GAP.split(line.strip()))
        lines.append("\t".join(cell for cell in cells if cell))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
