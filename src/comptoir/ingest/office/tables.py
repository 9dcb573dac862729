"""Rows of table cells (XLSX sheets, DOCX tables) as paragraphs and Markdown pipe tables."""

from __future__ import annotations

from dataclasses import dataclass, field


def _add_row(blocks: list[list[dict[int, str]]], cells: dict[int, str]) -> None:
    """A row joins the current block; an empty row closes it (the next rows start another table)."""
    if cells:
        blocks[-1].append(cells)
    elif blocks[-1]:
        blocks.append([])


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
