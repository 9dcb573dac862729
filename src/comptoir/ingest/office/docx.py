"""DOCX paragraphs, headings, lists and tables as Markdown."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import docx
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from comptoir.ingest.office.limits import OfficeLimits, _CellBudget, _Clock
from comptoir.ingest.office.tables import _add_row, _table_markdown

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
