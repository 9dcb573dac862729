"""Records: the unit of knowledge every loader yields, and how one reads as a line.

A document becomes blocks: ``Record`` (one row of a table, one item of a JSON list, one priced line of a
list) and ``Passage`` (prose, chunked by headings and paragraphs). Both carry their context (heading
path, sheet name, parent objects), so a record read alone still says what it is about. A record renders
as one readable line, name first and then its values with their labels ("Coupe homme : 24 €";
"Couches, Molfix, T4 — quantité : lot de 300 ; prix : 27 000 FCFA"), for its chunk and for answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

#: a value that is a measure or an amount rather than a name: "250 ml", "18 500 XAF", "$159", "4.500F"
_MEASURE = re.compile(
    r"^[~≈<>+\-–]?\s*(?:[$€£]\s?)?\d[\d\s.,'’/x×\-–]*(?:\s?[a-zA-Zµ€$£%°]{1,6}\.?)?(?:\s?[$€£])?$"
)
#: a code such as a reference or SKU: one word mixing letters and digits or dashes ("BAP-PF-101")
_CODE = re.compile(r"^(?=\S*\d)(?=\S*[A-Za-z])[A-Za-z0-9][\w./\-]*$")
_MAX_NAME_FIELDS = 3
_MAX_NAME_CHARS = 90


def humanize(label: str) -> str:
    """'prix_fcfa' → 'prix fcfa'; 'NEUF' → 'neuf'; labels as a reader would write them."""
    text = " ".join(re.sub(r"[_]+", " ", label).split())
    return text.lower() if text.isupper() and len(text) > 3 else text


def is_measure(value: str) -> bool:
    return bool(_MEASURE.match(value.strip()))


def _is_name(value: str, *, first: bool = False) -> bool:
    """Whether a value names the record: words rather than figures (the first column may mix both,
    "175/70 R13"; the next ones need more letters than digits)."""
    letters = sum(c.isalpha() for c in value)
    return (
        letters >= 2
        and (first or letters > sum(c.isdigit() for c in value))
        and not is_measure(value)
        and not _CODE.match(value)
        and len(value) <= _MAX_NAME_CHARS
    )


@dataclass(frozen=True)
class Record:
    """Labelled values (an empty label for a column without a header) and where they come from."""

    fields: tuple[tuple[str, str], ...]
    context: tuple[str, ...] = ()

    def render(self) -> str:
        fields = [(humanize(label), " ".join(value.split())) for label, value in self.fields if value.strip()]
        if not fields:
            return ""
        codes = [(label, value) for label, value in fields[:1] if _CODE.match(value) and len(fields) > 1]
        rest = fields[len(codes) :]
        name: list[str] = []
        # without labels a record is "name : value, ..." as written; with them the leading textual
        # columns together name it ("Plaquettes de frein, Toyota Corolla, avant")
        most = _MAX_NAME_FIELDS if any(label for label, _ in rest) else 1
        while rest and len(name) < most and _is_name(rest[0][1], first=not name):
            name.append(rest.pop(0)[1])
        if not name:  # a record without a textual name: its first value names it
            name.append(_labelled(*rest.pop(0)))
        return join_line(", ".join(name), rest + codes)

    def chunk_text(self) -> str:
        line = self.render()
        return f"{' > '.join(self.context)}\n{line}" if self.context else line


#: how a rendered line separates its name from its values, the values from each other, a label from
#: its value: "name — label : value ; label : value"
NAME_SEPARATOR = " — "
VALUE_SEPARATOR = " ; "
LABEL_SEPARATOR = " : "


def join_line(name: str, values: list[tuple[str, str]]) -> str:
    """ "Coupe homme : 24 €" for one unlabelled value; "name — label : value ; …" otherwise."""
    parts = [_labelled(label, value) for label, value in values]
    if not parts:
        return name
    if len(parts) == 1 and LABEL_SEPARATOR not in parts[0]:
        return f"{name}{LABEL_SEPARATOR}{parts[0]}"
    return f"{name}{NAME_SEPARATOR}{VALUE_SEPARATOR.join(parts)}"


def split_line(line: str) -> tuple[str, list[tuple[str, str]]] | None:
    """A rendered line's name and its (label, value) pairs, an unlabelled value with label ""; None for
    a line that is not "name — values" (prose, or a single "name : value")."""
    name, sep, rest = line.partition(NAME_SEPARATOR)
    if not sep:
        return None
    values = []
    for part in rest.split(VALUE_SEPARATOR):
        label, labelled, value = part.partition(LABEL_SEPARATOR)
        values.append((label.strip(), value.strip()) if labelled else ("", label.strip()))
    return name.strip(), values


@dataclass(frozen=True)
class Passage:
    """Prose under a heading path; the chunker packs its paragraphs."""

    text: str
    context: tuple[str, ...] = ()


Block = Record | Passage


def _plain(cell: str) -> str:
    """A cell without Markdown emphasis ("**5 000 FCFA**")."""
    return cell.replace("**", "").replace("__", "").strip()


def _labelled(label: str, value: str) -> str:
    if not label or value.lower().startswith(label.lower()):
        return value
    return f"{label}{LABEL_SEPARATOR}{value}"


def _numeric(cell: str) -> bool:
    return any(c.isdigit() for c in cell) and is_measure(cell)


def header_of(rows: Sequence[Sequence[str]]) -> bool:
    """Whether the first row names the columns: every cell of it is a distinct non-empty word (no
    amounts, no measures) while some column below it holds numbers, or it is the only textual row."""
    if len(rows) < 2:
        return False
    first = [cell.strip() for cell in rows[0]]
    if not all(first) or len({c.lower() for c in first}) < len(first) or any(_numeric(c) for c in first):
        return False
    if any(len(c) > 60 for c in first):
        return False
    below = rows[1:]
    for column in range(len(first)):
        cells = [row[column].strip() for row in below if column < len(row) and row[column].strip()]
        if cells and sum(_numeric(c) for c in cells) * 2 >= len(cells):
            return True
    return False


def table_records(
    rows: Sequence[Sequence[str]], context: tuple[str, ...] = (), *, header: bool | None = None
) -> list[Record]:
    """Rows of a table (CSV, Markdown, HTML, aligned columns, a sheet) as records. ``header``: whether
    the first row names the columns (a Markdown table's rule line says so); None: when it reads as one
    (see ``header_of``)."""
    rows = [[_plain(cell) for cell in row] for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return []
    has_header = header_of(rows) if header is None else header and len(rows) > 1
    labels = [c.strip() for c in rows[0]] if has_header else None
    body = rows[1:] if labels else rows
    records = []
    for row in body:
        fields = tuple(
            (labels[i] if labels and i < len(labels) else "", cell.strip())
            for i, cell in enumerate(row)
            if cell.strip()
        )
        if fields:
            records.append(Record(fields, context))
    return records
