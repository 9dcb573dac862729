"""Reading the structure of text as small businesses write it: headings, tables, lists of priced lines,
question/answer pairs, and the prose between them.

Recognised, whatever the words: Markdown headings and lines written in capitals as headings; Markdown
pipe tables; blocks of aligned columns (cells separated by two spaces or more, or tabs); lines with a
dotted leader ("Coupe homme ....... 24 €"); lists of "label : value" lines that carry a number (fees,
hours, phone numbers); question/answer pairs ("Q:"/"R:", "Question"/"Réponse", or a line ending with a
question mark followed by its answer). Each becomes a record or a passage of its own with its heading
path as context, so a name and its price never end up in different chunks. Everything else is prose.
One pass over the lines, the patterns run on lines of at most ``MAX_STRUCTURED_LINE`` characters (a
longer line is prose): linear in the size of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from comptoir.ingest.records import Block, Passage, Record, table_records
from comptoir.text import CURRENCY

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_RULE = re.compile(r"^\s*[-=_*~·.]{3,}(?:\s+[-=_*~·.]{3,})*\s*$")
#: a dotted (or dashed, or underscored) leader between a name and its value: "Coupe homme ..... 24 €"
_LEADER_RUN = re.compile(r"\.{3,}|…+|_{3,}|·{3,}|-{4,}")
_COLUMNS = re.compile(r"\t+|\s{2,}")
_KEY_VALUE = re.compile(r"^(?P<name>[^:]{1,60}?)\s*:\s+(?P<value>\S.*)$")
_BULLET = re.compile(r"^\s*(?:[-*•▪►‣◦]|\d{1,2}[.)])\s+")
_QUESTION = re.compile(r"^(?:q(?:uestion)?|question)\s*\d*\s*[:.)\-–]\s*(?P<text>\S.*)$", re.IGNORECASE)
_ANSWER = re.compile(
    r"^(?:r(?:[ée]p(?:onse)?)?|a(?:nswer)?|r[ée]ponse)\s*[:.)\-–]\s*(?P<text>\S.*)$", re.IGNORECASE
)
_DECORATED = re.compile(r"^[-=*#~_+]{2,}\s*(?P<text>[^-=*#~_+\s].*?)\s*[-=*#~_+]{2,}$")
#: a section for the staff, not the customers: never indexed, listed as withheld
_INTERNAL = re.compile(
    r"\b(?:interne|internal|confidentiel(?:le)?|confidential|usage interne|staff only|personnel seulement"
    r"|ne (?:pas|jamais) (?:communiquer|diffuser|partager|transmettre|divulguer|donner)"
    r"|do not (?:share|disclose|distribute|give)|never (?:share|disclose|give)"
    r"|(?:[ée]quipe|personnel|staff|employ[ée]s?) (?:seulement|uniquement|only)"
    r"|r[ée]serv[ée]e? (?:au personnel|a l'[ée]quipe|à l'[ée]quipe|aux employ[ée]s))\b",
    re.IGNORECASE,
)
#: a line that ends with a price: "Burger végé (galette de pois chiches) 15,35 $"
_AMOUNT = rf"[+~]?(?:[$€£]\s?\d[\d\s.,]*\d|[$€£]\s?\d|\d(?:[\d\s.,]*\d)?\s?{CURRENCY})"
#: the amount a line ends with (searched in its last characters only: amounts are short)
_PRICE_TAIL = re.compile(rf"[\s:,–—-]+(?P<value>{_AMOUNT}\.?(?:\s*\([^)]{{0,80}}\))?)$")
_TAIL_CHARS = 120
_MAX_HEADING_CHARS = 80
#: a longer line is prose: priced lines, leaders, rows and headings are short, and the patterns that
#: read them backtrack on long lines (100 KB of "a " took minutes); this keeps reading linear
MAX_STRUCTURED_LINE = 500
_QA_LOOKAHEAD = 4
_MAX_QUESTION_CHARS = 200
_MAX_KEY_WORDS = 8


@dataclass(frozen=True)
class _Pair:
    """A name and its value read from one line."""

    name: str
    value: str

    def group(self, *names: str) -> Any:
        found = tuple(getattr(self, n) for n in names)
        return found[0] if len(found) == 1 else found


def _leader(line: str) -> _Pair | None:
    """ "Coupe homme ....... 24 €" → (Coupe homme, 24 €): split at the first leader run, in one scan."""
    run = _LEADER_RUN.search(line)
    if not run:
        return None
    name, value = line[: run.start()].strip(), line[run.end() :].strip()
    return _Pair(name, value) if value and any(c.isalnum() for c in name) else None


def _priced(line: str) -> _Pair | None:
    """ "Burger végé (galette) 15,35 $" → (Burger végé (galette), 15,35 $): a line ending with an
    amount, after a name holding a letter."""
    start = max(len(line) - _TAIL_CHARS, 0)
    tail = _PRICE_TAIL.search(line, start)
    if not tail:
        return None
    name = line[: tail.start()].strip()
    return _Pair(name, tail.group("value")) if any(c.isalpha() for c in name) else None


def is_internal(heading: str) -> bool:
    return bool(_INTERNAL.search(heading))


def is_caps_heading(line: str) -> bool:
    """ "TARIFS COIFFURE", "HORAIRES ET CONTACT :": a short line in capitals with no amount in it."""
    text = line.strip().rstrip(":").strip()
    letters = [c for c in text if c.isalpha()]
    return (
        len(letters) >= 3
        and len(text) <= _MAX_HEADING_CHARS
        and all(c.isupper() for c in letters)
        and sum(c.isdigit() for c in text) <= 2
        and not text.endswith((".", "!", "?"))
    )


@dataclass
class _Reader:
    blocks: list[Block] = field(default_factory=list)
    path: list[tuple[int, str]] = field(default_factory=list)
    prose: list[str] = field(default_factory=list)  # paragraphs of the current section
    paragraph: list[str] = field(default_factory=list)
    label: str = ""  # a "Title :" line heading the current paragraph
    seen_heading: bool = False
    withheld: list[Block] = field(default_factory=list)  # internal sections
    hidden_level: int | None = None

    @property
    def sink(self) -> list[Block]:
        return self.withheld if self.hidden_level is not None else self.blocks

    @property
    def context(self) -> tuple[str, ...]:
        return tuple(title for _, title in self.path) + ((self.label,) if self.label else ())

    def heading(self, level: int, title: str) -> None:
        self.end_section()
        if self.hidden_level is not None and level <= self.hidden_level:
            self.hidden_level = None
        if self.hidden_level is None and is_internal(title):
            self.hidden_level = level
        self.path = [(lvl, t) for lvl, t in self.path if lvl < level] + [(level, title)]
        self.seen_heading = True

    def end_paragraph(self) -> None:
        if self.paragraph:
            self.prose.append("\n".join(self.paragraph))
            self.paragraph = []
        self.label = ""

    def end_section(self) -> None:
        self.end_paragraph()
        if self.prose:
            self.sink.append(Passage("\n\n".join(self.prose), tuple(t for _, t in self.path)))
            self.prose = []

    def record(self, record: Record) -> None:
        """A record interrupts the prose around it without losing its place."""
        if self.paragraph:
            self.prose.append("\n".join(self.paragraph))
            self.paragraph = []
        self.sink.append(record)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _columns(line: str) -> list[str]:
    return [cell for cell in _COLUMNS.split(line.strip()) if cell]


def _is_listed_value(line: str) -> re.Match[str] | None:
    """A "label : value" line whose value carries a number and whose label is short."""
    match = _KEY_VALUE.match(_BULLET.sub("", line).strip())
    if not match or not any(c.isdigit() for c in match.group("value")):
        return None
    return match if len(match.group("name").split()) <= _MAX_KEY_WORDS else None


def read_text(text: str) -> list[Block]:
    """The blocks of a text document (plain text or Markdown, or the Markdown an office file became)."""
    return read_sections(text)[0]


def read_sections(text: str) -> tuple[list[Block], list[Block]]:
    """The blocks of a text document, and those of its internal sections (for the staff), apart."""
    reader = _Reader()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        stripped = line.strip()
        i += 1
        if not stripped:
            reader.end_paragraph()
            continue
        if len(stripped) > MAX_STRUCTURED_LINE:  # prose: the patterns below are for short lines
            reader.paragraph.append(stripped)
            continue
        heading = _MD_HEADING.match(stripped)
        if heading:
            reader.heading(len(heading.group(1)), heading.group(2).strip("# ").strip())
            continue
        if _RULE.match(stripped):
            continue
        decorated = _DECORATED.match(stripped)
        if decorated:  # "--- STAFF ONLY ---"
            reader.heading(2 if reader.seen_heading else 1, decorated.group("text"))
            continue
        if _between_rules(lines, i) or (is_internal(stripped) and _is_title(stripped, lines, i)):
            # a banner ("=====" / "Title" / "=====") or a line that marks what follows as internal
            reader.heading(2 if reader.seen_heading else 1, " ".join(stripped.split()))
            continue
        if (
            not reader.seen_heading
            and not reader.blocks
            and not reader.prose
            and _is_title(stripped, lines, i)
        ):
            reader.heading(1, " ".join(stripped.split()))
            continue
        if _TABLE_ROW.match(line):
            rows, i = _take(lines, i - 1, lambda s: bool(_TABLE_ROW.match(s)))
            ruled = len(rows) > 1 and bool(_TABLE_RULE.match(rows[1]))
            table = [_cells(r) for r in rows if not _TABLE_RULE.match(r)]
            for record in table_records(table, reader.context, header=ruled or None):
                reader.record(record)
            continue
        question = _QUESTION.match(stripped)
        if question or (
            stripped.endswith("?") and len(stripped) <= _MAX_QUESTION_CHARS and _answered(lines, i)
        ):
            i = _question_answer(reader, lines, i, question.group("text") if question else stripped)
            continue
        if len(_columns(line)) >= 2 and not _leader(stripped):
            rows, end = _take(lines, i - 1, lambda s: len(_columns(s)) >= 2 and not _leader(s.strip()))
            if len(rows) >= 2:
                i = end
                for record in table_records([_columns(r) for r in rows], reader.context):
                    reader.record(record)
                continue
        if is_caps_heading(stripped) and not _leader(stripped):
            reader.heading(1 if not reader.seen_heading and not reader.blocks else 2, stripped.rstrip(" :"))
            continue
        leader = _leader(_BULLET.sub("", stripped))
        if leader:
            reader.record(_pair(leader.group("name"), leader.group("value"), reader.context))
            continue
        items = split_items(_BULLET.sub("", stripped))
        if items:  # "Espresso 2,80$ | Latté 12 oz 4,45$ / 16 oz 5,35$": one record an item
            for name, value in items:
                reader.record(_pair(name, value, reader.context))
            continue
        priced = _priced(_BULLET.sub("", stripped))
        if priced and (_BULLET.match(stripped) or _priced_neighbour(lines, i)):
            keyed = _is_listed_value(stripped)  # "Frites : petite 4,60 $ / grande 6,85 $" splits at its colon
            name, value = (
                (keyed.group("name"), keyed.group("value")) if keyed else priced.group("name", "value")
            )
            reader.record(_pair(name, value, reader.context))
            continue
        listed = _is_listed_value(stripped)
        if listed and (_listed_neighbour(lines, i) or reader.label):
            reader.record(_pair(listed.group("name"), listed.group("value"), reader.context))
            continue
        if stripped.endswith(":") and len(stripped) <= 2 * _MAX_HEADING_CHARS and not reader.paragraph:
            reader.end_paragraph()
            reader.label = stripped.rstrip(" :")
            continue
        reader.paragraph.append(stripped)
    reader.end_section()
    return reader.blocks, reader.withheld


def _pair(name: str, value: str, context: tuple[str, ...]) -> Record:
    return Record((("", name.replace("**", "").strip()), ("", value.replace("**", "").strip())), context)


def _is_title(line: str, lines: list[str], i: int) -> bool:
    """The first line of a document names it when it is short, not a sentence, not a priced line, and
    something follows it."""
    return (
        len(line) <= _MAX_HEADING_CHARS + 20
        and not line.endswith((".", "!", "?", ":", ";", ","))
        and not _leader(line)
        and not _TABLE_ROW.match(line)
        and not _is_listed_value(line)
        and any(rest.strip() for rest in lines[i:])
        and not _heads_columns(line, lines[i] if i < len(lines) else "")
    )


def _between_rules(lines: list[str], i: int) -> bool:
    """Whether the current line (lines[i - 1]) sits between two rule lines, as a banner's title."""
    before = lines[i - 2].strip() if i >= 2 else ""
    after = lines[i].strip() if i < len(lines) else ""
    return bool(before and after and _RULE.match(before) and _RULE.match(after))


def _heads_columns(line: str, following: str) -> bool:
    """A line of column names: cells apart, above a rule or a row of as many cells."""
    cells = len(_columns(line))
    return cells >= 2 and (bool(_RULE.match(following)) or len(_columns(following)) == cells)


_ITEM_SEPARATOR = re.compile(r"\s{1,3}[•|·/—–]\s{1,3}|\s?;\s{1,3}")
_ANY_AMOUNT = re.compile(_AMOUNT)
_CURRENCY_MARK = re.compile(rf"[$€£]|(?<![^\W\d_]){CURRENCY}(?![^\W\d_])")
_TRAILING_MEASURE = re.compile(r"\s{1,3}\d[\d.,]{0,12}\s?[^\W\d_]{1,3}\.?$")


def split_items(line: str) -> list[tuple[str, str]] | None:
    """The items of a line that prices several ("Liqueur 2,85 $ — Café 2,45 $"), each with its name:
    a part that is only a measure is a variant of the item before it ("Latté 12 oz 4,45$ / 16 oz
    5,35$" → "Latté, 16 oz"); a name before a colon names them all ("Pain : 500 g 6,50$ • 1 kg
    11,25$"). None when the line is not such a list (fewer than two amounts, a part without one)."""
    if len(_CURRENCY_MARK.findall(line)) < 2 or len(_ANY_AMOUNT.findall(line)) < 2:
        return None
    base, sep, rest = line.partition(" : ")
    if not sep or any(c.isdigit() for c in base) or len(base) > _MAX_HEADING_CHARS:
        base, rest = "", line
    parts = [p.strip() for p in _ITEM_SEPARATOR.split(rest) if p.strip()]
    if len(parts) < 2:
        return None
    items: list[tuple[str, str]] = []
    previous = base
    for part in parts:
        priced = _priced(part)
        if priced:
            name, value = priced.group("name").strip(" :"), priced.group("value")
        elif _ANY_AMOUNT.fullmatch(part.strip()):
            name, value = "", part.strip()
        else:
            return None
        if not name or not any(c.isalpha() for c in _TRAILING_MEASURE.sub("", f" {name}")):
            # only a measure ("16 oz", "1 kg"): a variant of the item before it
            stem = (_TRAILING_MEASURE.sub("", previous) or previous).rstrip(" ,")
            name = f"{stem}, {name}" if name else stem
        elif base:
            name = f"{base}, {name}"
        if not name:
            return None
        items.append((name, value))
        previous = name
    return items


def _answered(lines: list[str], i: int) -> bool:
    """Whether a question line (lines[i - 1]) is followed, at most a blank line away, by prose that
    answers it rather than another question, a heading or a table."""
    nxt = next((ln.strip() for ln in lines[i : i + _QA_LOOKAHEAD - 1] if ln.strip()), "")
    return bool(nxt) and not (
        nxt.endswith("?") or _QUESTION.match(nxt) or _MD_HEADING.match(nxt) or _TABLE_ROW.match(nxt)
    )


def _priced_line(line: str) -> bool:
    return bool(_priced(_BULLET.sub("", line)) or _leader(line))


def _priced_neighbour(lines: list[str], i: int) -> bool:
    before = _BULLET.sub("", lines[i - 2].strip())[:MAX_STRUCTURED_LINE] if i >= 2 else ""
    after = _BULLET.sub("", lines[i].strip())[:MAX_STRUCTURED_LINE] if i < len(lines) else ""
    return bool((before and _priced(before)) or (after and _priced(after)))


def _listed_neighbour(lines: list[str], i: int) -> bool:
    """Whether the line before or after the current one (lines[i - 1]) is a listed value too."""
    before = lines[i - 2].strip()[:MAX_STRUCTURED_LINE] if i >= 2 else ""
    after = lines[i].strip()[:MAX_STRUCTURED_LINE] if i < len(lines) else ""
    return bool((before and _is_listed_value(before)) or (after and _is_listed_value(after)))


def _take(lines: list[str], start: int, keep: object) -> tuple[list[str], int]:
    """Consecutive lines from ``start`` that ``keep`` accepts (rules in between are skipped)."""
    assert callable(keep)
    rows: list[str] = []
    i = start
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped and _RULE.match(stripped) and rows:
            i += 1
            continue
        if not stripped or not keep(lines[i]):
            break
        rows.append(lines[i])
        i += 1
    return rows, i


def _question_answer(reader: _Reader, lines: list[str], i: int, question: str) -> int:
    """A question and the lines answering it, up to a blank line followed by another question or a
    heading, as one passage: an answer is never split from its question."""
    answer: list[str] = []
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped:
            # the answer may follow after a blank line (an HTML <dt>/<dd> list, an FAQ in paragraphs);
            # a blank line then another question or a heading ends it
            nxt = next((ln.strip() for ln in lines[i + 1 : i + _QA_LOOKAHEAD] if ln.strip()), "")
            if not nxt or _QUESTION.match(nxt) or _MD_HEADING.match(nxt) or is_caps_heading(nxt):
                break
            if nxt.endswith("?") or _TABLE_ROW.match(nxt) or (answer and _priced_line(nxt)):
                break
            i += 1
            continue
        if _QUESTION.match(stripped) or _MD_HEADING.match(stripped):
            break
        found = _ANSWER.match(stripped)
        answer.append(found.group("text") if found else stripped)
        i += 1
    if not answer:  # a question nobody answered is just a line of prose
        reader.paragraph.append(question)
        return i
    reader.end_paragraph()
    reader.sink.append(Passage(f"{question}\n{' '.join(answer)}", reader.context))
    return i
