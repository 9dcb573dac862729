"""Turn uploaded files and JSON documents into parsed documents: blocks of records and passages.

Every format goes one route: CSV rows, JSON items at any depth, Markdown and HTML tables, aligned
columns, dotted-leader lines, question/answer pairs become records (see ``comptoir.ingest.records``), the
rest prose passages, each with its context. A JSON text document is read by the format its ``source``
names (``menu.csv``, ``faq.md``) or its explicit ``format``.

Every reader is linear in its input and bounded by ``InputLimits`` (items, fields, field length, JSON
depth): an upload is hostile until read. HTML is read by libxml2 (lxml), whose tokenizer is linear where
Python's ``html.parser`` is quadratic on unclosed tags (24 KB of ``<a `` took 7.5 s; lxml: 1 ms). NUL and
lone surrogates, which PostgreSQL refuses, are removed from what is read (see ``comptoir.cleaning``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from lxml import etree

from comptoir.cleaning import clean_content, clean_label
from comptoir.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from comptoir.ingest.limits import InputLimits, check_json_depth
from comptoir.ingest.office import OFFICE_SUFFIXES, office_to_markdown
from comptoir.ingest.records import Block, Passage, Record, table_records
from comptoir.ingest.screening import FlaggedText, screen, withheld
from comptoir.ingest.structure import read_sections
from comptoir.ingest.tree import read_tree

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".csv", ".tsv", ".json", ".jsonl", ".html", ".htm")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + OFFICE_SUFFIXES
TEXT_FORMATS = {suffix.lstrip("."): suffix for suffix in TEXT_SUFFIXES}


@dataclass
class ParsedDocument:
    title: str
    source: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    #: hidden instructions and internal sections, kept out of the blocks
    flagged: list[FlaggedText] = field(default_factory=list)
    #: the chunks, when the document was chunked where it was parsed (see ``comptoir.ingest.isolation``)
    chunks: list[str] | None = None

    @property
    def content(self) -> str:
        return "\n".join(_block_text(block) for block in self.blocks)


def _block_text(block: Block) -> str:
    return block.chunk_text() if isinstance(block, Record) else block.text


def decode_utf8(data: bytes, *, name: str) -> str:
    """The text of an uploaded file, without the NUL characters PostgreSQL cannot store."""
    try:
        return clean_content(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{name}: not valid UTF-8 (byte {exc.start}); save the file as UTF-8") from exc


#: candidate delimiters, the preferred first when two split the rows alike: ";" before "," because a
#: comma is also a decimal mark ("3,40 €")
DELIMITERS = (";", "\t", "|", ",")
_SAMPLE_LINES = 50


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number of fields (two or more) most
    often; a tie goes to the earlier of ``DELIMITERS``."""
    sample = [line for line in text.splitlines()[:_SAMPLE_LINES] if line.strip()]
    best, best_score = ",", 0.0
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(sample, delimiter=delimiter)]
        except csv.Error:
            continue
        if not counts:
            continue
        modal = max(set(counts), key=counts.count)
        score = counts.count(modal) / len(counts) if modal >= 2 else 0.0
        if score > best_score:
            best, best_score = delimiter, score
    return best


def parse_csv(text: str, *, name: str, limits: InputLimits | None = None) -> list[Block]:
    """Rows of a CSV or TSV file, any delimiter, with or without a header row."""
    limits = limits or InputLimits()
    csv.field_size_limit(limits.max_field_chars)  # one value for the process: its settings'
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text)):
            if len(row) > limits.max_fields_per_record:
                raise PayloadTooLarge(
                    f"{name}: row {len(rows) + 1} has {len(row)} fields, more than the "
                    f"{limits.max_fields_per_record} allowed (COMPTOIR_MAX_FIELDS_PER_RECORD)"
                )
            rows.append(row)
            if len(rows) > limits.max_items_per_document + 1:  # one more: the header
                raise _too_many_items(name, limits)
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise PayloadTooLarge(
                f"{name}: a field is longer than {limits.max_field_chars} characters "
                "(COMPTOIR_MAX_FIELD_CHARS)"
            ) from exc
        raise InvalidInput(f"{name}: unreadable CSV: {exc}") from exc
    return list(table_records(rows))


def _too_many_items(name: str, limits: InputLimits) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{name}: more than {limits.max_items_per_document} records or passages; split it into smaller "
        "documents (COMPTOIR_MAX_ITEMS_PER_DOCUMENT)"
    )


def parse_json(text: str, *, name: str, lines: bool, limits: InputLimits | None = None) -> list[Block]:
    limits = limits or InputLimits()
    check_json_depth(text.encode(errors="surrogatepass"), limit=limits.max_json_depth, name=name)
    try:
        items = (
            [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.strip()]
            if lines
            else [json.loads(text, parse_float=Decimal)]
        )
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except (ValueError, RecursionError) as exc:  # an integer of over 4300 digits
        raise InvalidInput(f"{name}: unreadable JSON: {exc}") from exc
    return read_tree(items if lines else items[0], limits=limits, name=name)


class _HTMLText:
    """Text of an HTML page, headings kept as markdown headings, scripts and styles dropped: the target
    of lxml's event parser (``start``, ``end``, ``data``), which never builds the tree."""

    _SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})
    _BLOCK = frozenset({"p", "div", "li", "br", "section", "article", "table", "ul", "ol", "dd", "dt"})

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False
        self._tables = 0  # text between the cells of a table is layout, not content
        self._cells = 0

    def start(self, tag: str, attrib: object) -> None:
        tag = tag.lower()
        if tag == "title":
            self._in_title = True
        if tag in self._SKIP:
            self._skip += 1
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in self._BLOCK:
            self.parts.append("\n\n" if tag in {"p", "div", "section", "article", "table"} else "\n")
        elif tag == "tr":  # table rows as Markdown rows: the structure reader makes them records
            self.parts.append("\n|")
        elif tag in {"td", "th"}:
            self._cells += 1
            self.parts.append(" ")
        if tag == "table":
            self._tables += 1

    def end(self, tag: str) -> None:
        tag = tag.lower()
        if tag == "title":
            self._in_title = False
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.parts.append("\n\n")
        elif tag in {"td", "th"}:
            self._cells = max(self._cells - 1, 0)
            self.parts.append(" |")
        elif tag == "table":
            self._tables = max(self._tables - 1, 0)
            self.parts.append("\n\n")

    def data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if not self._skip and (self._cells or not self._tables):
            self.parts.append(data.replace("|", "/") if self._cells else data)

    def close(self) -> None:
        return None


def html_to_text(html: str) -> tuple[str, str]:
    """The page's title and its text as Markdown-ish lines."""
    reader = _HTMLText()
    parser = etree.HTMLParser(target=reader, recover=True, no_network=True, remove_comments=True)
    if html.strip():
        parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(reader.parts).splitlines()]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return " ".join(reader.title.split()), text.strip()


@dataclass(frozen=True)
class _Read:
    blocks: list[Block]
    flagged: list[FlaggedText]
    learned: dict[str, Any]


def parse_as(suffix: str, text: str, *, name: str, limits: InputLimits | None = None) -> _Read:
    """Blocks of ``text`` read as a ``suffix`` file, screened for hidden instructions and internal
    sections, and what the reading learned (an HTML title)."""
    limits = limits or InputLimits()
    text = clean_content(text)
    internal: list[Block] = []
    learned: dict[str, Any] = {}
    if suffix in (".csv", ".tsv"):
        blocks = parse_csv(text, name=name, limits=limits)
    elif suffix in (".json", ".jsonl"):
        blocks = _cleaned(parse_json(text, name=name, lines=suffix == ".jsonl", limits=limits))
    else:
        if suffix in (".html", ".htm"):
            page_title, text = html_to_text(text)
            learned = {"html_title": clean_label(page_title)} if page_title else {}
        blocks, internal = read_sections(text)
    _check_blocks(blocks, name=name, limits=limits)
    kept, flagged = screen(blocks)
    return _Read(kept, withheld(internal) + flagged, learned)


def _check_blocks(blocks: list[Block], *, name: str, limits: InputLimits) -> None:
    if len(blocks) > limits.max_items_per_document:
        raise _too_many_items(name, limits)
    for block in blocks:
        if isinstance(block, Record) and len(block.fields) > limits.max_fields_per_record:
            raise PayloadTooLarge(
                f"{name}: a record has {len(block.fields)} fields, more than the "
                f"{limits.max_fields_per_record} allowed (COMPTOIR_MAX_FIELDS_PER_RECORD)"
            )


def _cleaned(blocks: list[Block]) -> list[Block]:
    """Blocks read from JSON, whose escapes may spell NUL or a lone surrogate, made storable."""
    return [
        Record(
            tuple((clean_content(label), clean_content(value)) for label, value in block.fields),
            tuple(clean_content(c) for c in block.context),
        )
        if isinstance(block, Record)
        else Passage(clean_content(block.text), tuple(clean_content(c) for c in block.context))
        for block in blocks
    ]


def _has_text(blocks: list[Block]) -> bool:
    return any(b.render() if isinstance(b, Record) else b.text.strip() for b in blocks)


def file_name(filename: str) -> str:
    """The last part of an uploaded file's name, as a label (see ``comptoir.cleaning``)."""
    return clean_label(PurePath(filename.replace("\\", "/")).name) or "document"


def parse_file(
    filename: str, data: bytes, *, source: str | None = None, limits: InputLimits | None = None
) -> ParsedDocument:
    """Parse one uploaded file; the title defaults to the file name."""
    limits = limits or InputLimits()
    name = file_name(filename)
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedMediaType(
            f"{name}: unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if suffix in OFFICE_SUFFIXES:  # read as the Markdown it becomes: headings, tables, lists
        text, suffix = office_to_markdown(name, suffix, data), ".md"
    else:
        text = decode_utf8(data, name=name)
    read = parse_as(suffix, text, name=name, limits=limits)
    if not _has_text(read.blocks):
        raise InvalidInput(f"{name}: the file has no text")
    return ParsedDocument(name, source or name, {"filename": name, **read.learned}, read.blocks, read.flagged)


def parse_text(
    title: str,
    text: str,
    *,
    source: str | None,
    metadata: dict[str, Any],
    format: str | None = None,
    limits: InputLimits | None = None,
) -> ParsedDocument:
    """A JSON text document: read as its ``format`` or as the file its ``source`` names, else as text."""
    limits = limits or InputLimits()
    title = clean_label(title)
    if not title:
        raise InvalidInput("a document needs a non-empty title")
    if not text.strip():
        raise InvalidInput(f"document {title!r}: text is empty")
    if format is not None and format.lower() not in TEXT_FORMATS:
        raise InvalidInput(f"document {title!r}: unknown format {format!r}; known: {', '.join(TEXT_FORMATS)}")
    suffix = TEXT_FORMATS[format.lower()] if format else PurePath(source or "").suffix.lower()
    if suffix not in TEXT_SUFFIXES:
        suffix = ".txt"
    read = parse_as(suffix, text, name=title, limits=limits)
    if not _has_text(read.blocks):
        raise InvalidInput(f"document {title!r}: text is empty")
    return ParsedDocument(title, source, {**metadata, **read.learned}, read.blocks, read.flagged)
