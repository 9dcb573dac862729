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

import datetime as dt
import io
import math
import re
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import lru_cache
from typing import Any

import docx
import openpyxl
import pypdf
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from comptoir.errors import ComptoirError, InvalidInput, PayloadTooLarge, UnsupportedMediaType

OFFICE_SUFFIXES = (".pdf", ".docx", ".xlsx")

THOUSANDS_SEPARATOR = " "
DECIMAL_SEPARATOR = "."


@dataclass(frozen=True)
class OfficeLimits:
    """What one office document may cost to read."""

    max_zip_entries: int = 2_000
    max_uncompressed_bytes: int = 100 * 1024 * 1024  # all entries of a DOCX/XLSX together, as declared
    max_compression_ratio: float = 100.0  # per entry; zip bombs inflate 1000x and more
    ratio_exempt_bytes: int = 1024 * 1024  # entries up to this size may compress better (harmless)
    max_pdf_pages: int = 500
    max_cells: int = 20_000_000  # table cells, empty ones included: all sheets, or all DOCX tables
    max_seconds: float = 30.0  # per document, checked between pages, rows and paragraphs


def office_to_markdown(name: str, suffix: str, data: bytes, *, limits: OfficeLimits = OfficeLimits()) -> str:
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


class _Clock:
    def __init__(self, name: str, seconds: float) -> None:
        self.name = name
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise PayloadTooLarge(
                f"{self.name}: reading the document took longer than {self.seconds:g} s; split it into "
                "smaller files"
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


# ---------------------------------------------------------------------------------------------- zip

_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
_XML_PART = (".xml", ".rels", ".vml")


def _check_zip(name: str, kind: str, data: bytes, limits: OfficeLimits, clock: _Clock) -> None:
    """Refuse an archive that would cost too much to open, before any library opens it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as exc:
        raise InvalidInput(f"{name}: not a valid {kind} file (not a zip archive: corrupt?)") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_zip_entries:
            raise PayloadTooLarge(
                f"{name}: the {kind} archive has {len(infos)} entries, more than the "
                f"{limits.max_zip_entries} allowed"
            )
        total = 0
        for info in infos:
            size = info.file_size
            if size > limits.ratio_exempt_bytes and size > limits.max_compression_ratio * max(
                info.compress_size, 1
            ):
                ratio = size // max(info.compress_size, 1)
                raise InvalidInput(
                    f"{name}: entry {info.filename[:100]!r} of the {kind} archive inflates {ratio}x "
                    f"(limit {limits.max_compression_ratio:g}x): refused as a zip bomb"
                )
            total += size
            if total > limits.max_uncompressed_bytes:
                raise PayloadTooLarge(
                    f"{name}: the {kind} archive expands to more than {limits.max_uncompressed_bytes} bytes"
                )
        for info in infos:
            if info.filename.lower().endswith(_XML_PART):
                _scan_xml(name, kind, archive, info, clock)


def _scan_xml(name: str, kind: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, clock: _Clock) -> None:
    tail = b""
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(1 << 20):
                clock.check()
                if _DTD.search(tail + chunk):
                    raise InvalidInput(
                        f"{name}: part {info.filename[:100]!r} declares a DTD, which {kind} files never do: "
                        "refused"
                    )
                tail = chunk[-16:]
    except ComptoirError:
        raise
    except Exception as exc:  # CRC mismatch, truncated data, unsupported compression, encrypted entry
        raise InvalidInput(f"{name}: the {kind} archive is corrupt ({type(exc).__name__}: {exc})") from exc


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


# --------------------------------------------------------------------------------------------- DOCX

#: style names, also as a French Word may write them
_HEADING_STYLE = re.compile(r"(?:heading|titre)\s*(\d)", re.IGNORECASE)
_LIST_STYLE = re.compile(r"list (?:bullet|number)(?: (\d))?", re.IGNORECASE)


def _docx(name: str, data: bytes, limits: OfficeLimits, clock: _Clock) -> str:
    document = docx.Document(io.BytesIO(data))
    budget = _CellBudget(name, limits.max_cells)
    out: list[str] = []
    items: list[str] = []  # the list being read
    for block in _docx_blocks(document.element.body, document):
        clock.check()
        if isinstance(block, Table):
            text, is_item = _table_markdown(_docx_table_rows(block, budget, clock)), False
        else:
            read = _docx_paragraph(block)
            if read is None:
                continue
            text, is_item = read
        if is_item:
            items.append(text)
            continue
        if items:
            out.append("\n".join(items))
            items = []
        out.append(text)
    if items:
        out.append("\n".join(items))
    return "\n\n".join(part for part in out if part.strip())


def _docx_blocks(element: Any, parent: Any) -> Iterator[Paragraph | Table]:
    """Paragraphs and tables of the body in document order, content controls opened."""
    for child in element.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, parent)
        elif child.tag == qn("w:tbl"):
            yield Table(child, parent)
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _docx_blocks(content, parent)


def _docx_paragraph(paragraph: Paragraph) -> tuple[str, bool] | None:
    """A paragraph as Markdown (a heading, a paragraph, or a list item: then True); None if empty."""
    text = "\n".join(" ".join(line.split()) for line in paragraph.text.splitlines()).strip()
    if not text:
        return None
    flat = " ".join(text.split())
    level = _heading_level(paragraph)
    if level:
        return "#" * level + " " + flat, False
    depth = _list_depth(paragraph)
    if depth is not None:
        return "  " * min(depth, 8) + "- " + flat, True
    return text, False


def _styles(paragraph: Paragraph) -> Iterator[Any]:
    """The paragraph's style and the styles it is based on."""
    style = paragraph.style
    for _ in range(10):
        if style is None:
            return
        yield style
        style = style.base_style


def _heading_level(paragraph: Paragraph) -> int:
    for style in _styles(paragraph):
        name = (style.name or "").strip()
        if name.lower() in ("title", "titre"):
            return 1
        match = _HEADING_STYLE.fullmatch(name)
        if match:
            return min(max(int(match.group(1)), 1), 6)
    return 0


def _num_level(ppr: Any) -> int | None:
    """The list level set by numbering properties, None without any (or with numbering turned off)."""
    num = ppr.numPr if ppr is not None else None
    if num is None or (num.numId is not None and num.numId.val == 0):
        return None
    return int(num.ilvl.val) if num.ilvl is not None else 0


def _list_depth(paragraph: Paragraph) -> int | None:
    level = _num_level(paragraph._p.pPr)
    if level is not None:
        return level
    for style in _styles(paragraph):
        match = _LIST_STYLE.fullmatch((style.name or "").strip())
        if match:
            return int(match.group(1)) - 1 if match.group(1) else 0
        level = _num_level(style.element.pPr)
        if level is not None:
            return level
    return None


def _docx_table_rows(table: Table, budget: _CellBudget, clock: _Clock) -> list[list[dict[int, str]]]:
    """The table as blocks of rows (a block ends at an empty row), each row {grid column: text}.
    A merged cell's text is kept once per row, in its first column; a vertical merge repeats it in
    each row it spans, so that every row reads on its own."""
    blocks: list[list[dict[int, str]]] = [[]]
    for row in table.rows:
        clock.check()
        cells: dict[int, str] = {}
        seen = None
        grid = row.cells  # a merged cell once per grid column it spans
        budget.spend(len(grid))
        for column, cell in enumerate(grid, start=row.grid_cols_before):
            if cell._tc is seen:
                continue
            seen = cell._tc
            text = " ".join(cell.text.split())
            if text:
                cells[column] = text
        _add_row(blocks, cells)
    return [block for block in blocks if block]


# --------------------------------------------------------------------------------------------- XLSX


def _xlsx(name: str, data: bytes, limits: OfficeLimits, clock: _Clock) -> str:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheets = []
        budget = _CellBudget(name, limits.max_cells)
        for sheet in workbook.worksheets:
            if sheet.sheet_state != "visible":
                continue  # a hidden sheet is the owner's working data (costs, margins), not for customers
            body = _table_markdown(_sheet_rows(sheet, budget, clock))
            if body:
                sheets.append(f"# {' '.join(str(sheet.title).split())}\n\n{body}")
        return "\n\n".join(sheets)
    finally:
        workbook.close()


class _CellBudget:
    """Table cells read, empty ones included. openpyxl pads each row with empty cells up to its last
    one, and python-docx repeats a merged cell once per column it spans: a tiny file with a cell in
    column XFD on every row, or a cell spanning a million columns, costs that much on each row."""

    def __init__(self, name: str, cells: int) -> None:
        self.name = name
        self.limit = self.left = cells

    def spend(self, cells: int) -> None:
        self.left -= cells
        if self.left < 0:
            raise PayloadTooLarge(
                f"{self.name}: the tables have more than {self.limit} cells (rows x columns, empty ones "
                "included); remove unused rows and columns or split the file"
            )


def _sheet_rows(sheet: Any, budget: _CellBudget, clock: _Clock) -> list[list[dict[int, str]]]:
    """The sheet's non-empty rows as blocks (a block ends at an empty row), each row {column: text}."""
    sheet.reset_dimensions()  # a declared A1:XFD1048576 would otherwise pad every row to 16,384 cells
    blocks: list[list[dict[int, str]]] = [[]]
    for row in sheet.iter_rows():
        clock.check()
        budget.spend(len(row))
        cells: dict[int, str] = {}
        for column, cell in enumerate(row, start=1):
            if cell.value is not None:
                text = cell_text(cell)
                if text:
                    cells[column] = text
        _add_row(blocks, cells)
    return [block for block in blocks if block]


def cell_text(cell: Any) -> str:
    """A spreadsheet cell as the sheet shows it."""
    value = cell.value
    if value is None or getattr(cell, "data_type", None) == "e":
        return ""  # error values (#N/A, #DIV/0!) say nothing to a customer
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    fmt = str(getattr(cell, "number_format", None) or "General")
    if isinstance(value, int | float):
        return format_number(value, fmt)
    if isinstance(value, dt.datetime | dt.date | dt.time | dt.timedelta):
        return format_date(value, fmt)
    return str(value).strip()


# ------------------------------------------------------------------------------------ tables → text


@dataclass
class _Table:
    header: dict[int, str]
    rows: list[dict[int, str]] = field(default_factory=list)


def _table_markdown(blocks: list[list[dict[int, str]]]) -> str:
    """Blocks of rows (as separated by empty rows) as paragraphs and pipe tables.

    In each block, rows with a single cell before the first row of several cells are titles or notes
    (paragraphs), and so are those after the last one. The first row of several cells is the header,
    unless it continues the table above: a block after an empty row starts a new table only when its
    first row repeats the header, or looks like a header (no digits) and either follows a title or
    uses other columns. Single-cell rows inside the table stay rows (section rows: "Desserts")."""
    parts: list[str | _Table] = []
    header: dict[int, str] | None = None
    for block in blocks:
        multi = [i for i, row in enumerate(block) if len(row) > 1]
        if not multi:
            parts.append(_lines(block))
            continue
        first, last = multi[0], multi[-1]
        if first:
            parts.append(_lines(block[:first]))
        top, body = block[first], block[first : last + 1]
        if header is None or top == header or (_header_like(top) and (first > 0 or set(top) != set(header))):
            header = top
            parts.append(_Table(header, body[1:]))
        elif parts and isinstance(parts[-1], _Table) and parts[-1].header is header:
            parts[-1].rows.extend(body)
        else:
            parts.append(_Table(header, list(body)))
        if last + 1 < len(block):
            parts.append(_lines(block[last + 1 :]))
    return "\n\n".join(part if isinstance(part, str) else _render_table(part) for part in parts)


def _lines(rows: list[dict[int, str]]) -> str:
    return "\n".join(" ".join(row.values()) for row in rows)


def _header_like(row: dict[int, str]) -> bool:
    return not any(char.isdigit() for text in row.values() for char in text)


def _escape(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _render_table(table: _Table) -> str:
    columns = sorted(set(table.header).union(*table.rows))
    lines = [
        "| " + " | ".join(_escape(table.header.get(c, "")) for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(_escape(row.get(c, "")) for c in columns) + " |" for row in table.rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- number formats

_CONDITION = re.compile(r"\[[<>=]")
_MAX_FORMAT_CHARS = 255  # Excel's own limit; a longer one is not worth reading cell by cell
_MAX_DECIMALS = 30  # Excel's own limit too


@lru_cache(maxsize=512)
def _sections(fmt: str) -> tuple[str, ...]:
    """The ;-separated sections of a number format, quotes and escapes respected."""
    sections: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in fmt:
        if escaped:
            escaped = False
        elif char == "\\" and not quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            sections.append("".join(current))
            current = []
            continue
        current.append(char)
    sections.append("".join(current))
    return tuple(sections)


@lru_cache(maxsize=512)
def _tokens(section: str) -> tuple[tuple[str, str], ...]:
    """A number-format section as (kind, text): lit, num (a placeholder: 0 # ? . , %), exp, general,
    bracket (locale, colour, elapsed time), at (@)."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(section):
        char = section[i]
        if char == '"':
            end = section.find('"', i + 1)
            end = len(section) if end < 0 else end
            out.append(("lit", section[i + 1 : end]))
            i = end + 1
        elif char == "\\":
            out.append(("lit", section[i + 1 : i + 2]))
            i += 2
        elif char == "_":
            out.append(("lit", " "))  # the width of the next character, as a space
            i += 2
        elif char == "*":
            i += 2  # fill with the next character: nothing in text
        elif char == "[":
            end = section.find("]", i)
            end = len(section) if end < 0 else end
            inner = section[i + 1 : end]
            if inner.startswith("$"):
                out.append(("lit", inner[1:].split("-")[0]))  # [$€-40C]: the symbol, then a locale
            out.append(("bracket", inner))
            i = end + 1
        elif section[i : i + 7].lower() == "general":
            out.append(("general", ""))
            i += 7
        elif char in "0#?.,%":
            out.append(("num", char))
            i += 1
        elif char in "Ee" and section[i + 1 : i + 2] in ("+", "-") and i + 1 < len(section):
            out.append(("exp", section[i : i + 2]))
            i += 2
        elif char == "@":
            out.append(("at", char))
            i += 1
        else:
            out.append(("lit", char))
            i += 1
    return tuple(out)


def _general(value: float | int) -> str:
    """Excel's General format without its scientific notation: 45000.0 → 45000, 0.1 + 0.2 → 0.3."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer():
        return str(int(value))
    return format(Decimal(f"{value:.15g}"), "f").replace(".", DECIMAL_SEPARATOR)


def _group(digits: str) -> str:
    head = len(digits) % 3 or 3
    return THOUSANDS_SEPARATOR.join(
        [digits[:head], *(digits[i : i + 3] for i in range(head, len(digits), 3))]
    )


def _digits(number: Decimal, pattern: str) -> str:
    """``number`` (not negative) written with a digit pattern such as "#,##0.00"."""
    integer, _, fraction = pattern.partition(".")
    most = min(sum(c in "0#?" for c in fraction), _MAX_DECIMALS)
    least = min(fraction.count("0") + fraction.count("?"), most)
    with localcontext() as context:
        context.prec = 400  # room for a float's 309 digits and 30 decimals: quantize never fails
        text = f"{number.quantize(Decimal(1).scaleb(-most), rounding=ROUND_HALF_UP):f}"
    whole, _, decimals = text.partition(".")
    decimals = decimals.rstrip("0").ljust(least, "0") if most else ""
    least_whole = integer.count("0")
    if whole == "0" and least_whole == 0:
        whole = ""
    whole = whole.zfill(least_whole)
    if "," in integer.strip(","):
        whole = _group(whole)
    return whole + (DECIMAL_SEPARATOR + decimals if decimals else "")


def _scientific(number: Decimal, pattern: str, exponent: str) -> str:
    """``number`` as "1.23E+04": the mantissa's decimals from ``pattern``, the exponent's digits from
    ``exponent`` ("E+00")."""
    decimals = min(sum(c in "0#?" for c in pattern.partition(".")[2]), _MAX_DECIMALS)
    mantissa, _, power = f"{float(number):.{decimals}E}".partition("E")
    sign = "-" if power.startswith("-") else ("+" if exponent[1] == "+" else "")
    digits = str(abs(int(power))).zfill(min(max(len(exponent) - 2, 1), 3))
    return mantissa.replace(".", DECIMAL_SEPARATOR) + exponent[0] + sign + digits


def format_number(value: float | int, fmt: str) -> str:
    """A number as a cell with number format ``fmt`` shows it: the common formats (grouping, decimals,
    percent, scaling commas, scientific, literal text, sections for negative numbers and zero);
    conditional formats and anything unreadable fall back to General."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if len(fmt) > _MAX_FORMAT_CHARS or _CONDITION.search(fmt):
        return _general(value)
    sections = _sections(fmt)
    sign = ""
    if value < 0 and len(sections) > 1 and sections[1].strip():
        section, value = sections[1], -value  # the negative section writes its own sign
    elif value == 0 and len(sections) > 2 and sections[2].strip():
        section = sections[2]
    else:
        section = sections[0]
        if value < 0:
            sign, value = "-", -value
    tokens = _tokens(section)
    kinds = {kind for kind, _ in tokens}
    cut = next((i for i, (kind, _) in enumerate(tokens) if kind == "exp"), len(tokens))
    pattern = "".join(text for kind, text in tokens[:cut] if kind == "num")
    if "general" in kinds or not pattern.replace("%", "").strip(".,"):
        if "general" not in kinds and "num" not in kinds and "at" not in kinds and section.strip():
            return "".join(text for kind, text in tokens if kind == "lit").strip()  # '"-"' for zero
        number = _general(value)
    else:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        amount *= Decimal(100) ** pattern.count("%")
        pattern = pattern.replace("%", "")
        while pattern.endswith(","):  # "#,##0," shows thousands
            pattern = pattern[:-1]
            amount /= 1000
        if cut < len(tokens):
            exponent = tokens[cut][1] + "".join(text for _, text in tokens[cut + 1 :] if text == "0")
            number = _scientific(amount, pattern, exponent)
        else:
            number = _digits(amount, pattern)
    out, placed = [], False
    for index, (kind, text) in enumerate(tokens):
        if kind == "lit":
            out.append(text)
        elif kind == "num" and text == "%":
            out.append("%")
        elif kind in ("num", "general", "exp") and not placed and (kind != "num" or index < cut):
            out.append(number)
            placed = True
    if not placed:
        out.append(number)
    return (sign + "".join(out)).strip()


# ------------------------------------------------------------------------------------ date formats

_MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "fr": [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
}
_MONTHS_SHORT = {
    "en": [m[:3] for m in _MONTHS["en"]],
    "fr": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
}
_DAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
}
_DAYS_SHORT = {
    "en": [d[:3] for d in _DAYS["en"]],
    "fr": ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."],
}
#: built-in formats that Excel shows in the reader's own short-date style: written as ISO dates
_LOCAL_SHORT = {"mm-dd-yy": "yyyy-mm-dd", "m/d/yy h:mm": "yyyy-mm-dd hh:mm"}
_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|_.|\*.|\[\$[^\]]*\]|\[h+\]|\[m+\]|\[s+\]|\[[^\]]*\]|am/pm|a/p|yyyy|yyy|yy|y'
    r"|mmmmm|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|\.0+|.",
    re.IGNORECASE | re.DOTALL,
)
_EPOCH = dt.datetime(1899, 12, 30)


def _language(section: str) -> str:
    """French where the format names a French locale ([$-40C], [$€-80C]), else English."""
    match = re.search(r"\[\$[^\]-]*-([0-9A-Fa-f]+)\]", section)
    return "fr" if match and int(match.group(1), 16) & 0x3FF == 0x0C else "en"


def format_date(value: dt.datetime | dt.date | dt.time | dt.timedelta, fmt: str) -> str:
    """A date or time as a cell with number format ``fmt`` shows it; ISO 8601 where the format shows
    no date part."""
    if isinstance(value, dt.timedelta):
        moment, elapsed = _EPOCH + value, value.total_seconds()
    elif isinstance(value, dt.datetime):
        moment = value
        elapsed = (value - _EPOCH).total_seconds()
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
        elapsed = (moment - _EPOCH).total_seconds()
    else:
        moment = dt.datetime.combine(_EPOCH.date(), value)
        elapsed = (moment - _EPOCH).total_seconds()
    section = _sections(fmt)[0] if len(fmt) <= _MAX_FORMAT_CHARS else ""
    section = _LOCAL_SHORT.get(section.strip().lower(), section)
    tokens = _DATE_TOKEN.findall(section)
    if not any(_is_field(token) for token in tokens):
        if isinstance(value, dt.time):
            return value.isoformat()
        return moment.isoformat(sep=" ")[: 10 if moment.time() == dt.time() else 19]
    language = _language(section)
    twelve = any(t.lower() in ("am/pm", "a/p") for t in tokens)
    out: list[str] = []
    for index, token in enumerate(tokens):
        low = token.lower()
        if low.startswith('"'):
            out.append(token[1:-1])
        elif low.startswith("\\"):
            out.append(token[1:])
        elif low.startswith("_"):
            out.append(" ")
        elif low.startswith("*") or (low.startswith("[") and not low.startswith(("[h", "[m", "[s"))):
            if low.startswith("[$"):
                out.append(token[2:-1].split("-")[0])
        elif low.startswith("[h"):
            out.append(str(int(elapsed // 3600)).zfill(len(low) - 2))
        elif low.startswith("[m"):
            out.append(str(int(elapsed // 60)).zfill(len(low) - 2))
        elif low.startswith("[s"):
            out.append(str(int(elapsed)).zfill(len(low) - 2))
        elif low in ("am/pm", "a/p"):
            mark = ("AM", "PM")[moment.hour >= 12][: 2 if low == "am/pm" else 1]
            out.append(mark if token[0].isupper() else mark.lower())
        elif low[0] == "y":
            out.append(str(moment.year) if len(low) > 2 else f"{moment.year % 100:02d}")
        elif low[0] == "m":
            if len(low) <= 2 and _is_minute(tokens, index):
                out.append(f"{moment.minute:0{len(low)}d}")
            elif len(low) <= 2:
                out.append(f"{moment.month:0{len(low)}d}")
            elif len(low) == 3:
                out.append(_MONTHS_SHORT[language][moment.month - 1])
            elif len(low) == 4:
                out.append(_MONTHS[language][moment.month - 1])
            else:
                out.append(_MONTHS[language][moment.month - 1][0])
        elif low[0] == "d":
            if len(low) <= 2:
                out.append(f"{moment.day:0{len(low)}d}")
            elif len(low) == 3:
                out.append(_DAYS_SHORT[language][moment.weekday()])
            else:
                out.append(_DAYS[language][moment.weekday()])
        elif low[0] == "h":
            hour = (moment.hour % 12 or 12) if twelve else moment.hour
            out.append(f"{hour:0{min(len(low), 2)}d}")
        elif low[0] == "s":
            out.append(f"{moment.second:0{min(len(low), 2)}d}")
        elif low.startswith(".0") and len(low) > 1:
            out.append(DECIMAL_SEPARATOR + f"{moment.microsecond:06d}"[: len(low) - 1])
        else:
            out.append(token)
    return "".join(out).strip()


def _is_field(token: str) -> bool:
    low = token.lower()
    return low[:1] in ("y", "m", "d", "h", "s") or low.startswith(("[h", "[m", "[s"))


def _is_minute(tokens: list[str], index: int) -> bool:
    """An m or mm is minutes right after hours or right before seconds (literals between ignored)."""
    for step, wanted in ((-1, "h"), (1, "s")):
        i = index + step
        while 0 <= i < len(tokens):
            if _is_field(tokens[i]):
                return tokens[i].lower().lstrip("[")[:1] == wanted
            i += step
    return False


def _add_row(blocks: list[list[dict[int, str]]], cells: dict[int, str]) -> None:
    """A row joins the current block; an empty row closes it (the next rows start another table)."""
    if cells:
        blocks[-1].append(cells)
    elif blocks[-1]:
        blocks.append([])
