"""Turn uploaded files and JSON documents into parsed documents: prose to chunk, or records to keep whole.

Catalog formats (CSV, JSON, JSONL) become one record per row with the column names kept in the text
("Produit: Couches; Taille: 4; Prix: 24 000 FCFA"), so both the embedding and the full-text index see
what each value means.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import PurePath
from typing import Any

from comptoir.errors import InvalidInput, UnsupportedMediaType

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".csv", ".json", ".jsonl", ".html", ".htm")


@dataclass
class ParsedDocument:
    title: str
    source: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    prose: str = ""  # chunked by headings and paragraphs
    records: list[str] = field(default_factory=list)  # one chunk each

    @property
    def content(self) -> str:
        return self.prose if not self.records else "\n".join(self.records)


def decode_utf8(data: bytes, *, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{name}: not valid UTF-8 (byte {exc.start}); save the file as UTF-8") from exc


def _format_value(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def format_record(row: dict[str, Any]) -> str:
    parts = [f"{str(key).strip()}: {_format_value(value)}" for key, value in row.items()]
    return "; ".join(part for part in parts if not part.endswith(": ") and part.strip(": "))


def parse_csv(text: str, *, name: str) -> list[str]:
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    if not reader.fieldnames:
        raise InvalidInput(f"{name}: the CSV file has no header row")
    records = []
    for row in reader:
        clean = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
        if clean:
            records.append(format_record(clean))
    return records


def parse_json(text: str, *, name: str, lines: bool) -> tuple[str, list[str]]:
    try:
        items = (
            [json.loads(line) for line in text.splitlines() if line.strip()] if lines else [json.loads(text)]
        )
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    if not lines and isinstance(items[0], list):
        items = items[0]
    records = []
    for item in items:
        if isinstance(item, dict):
            records.append(format_record(item))
        elif isinstance(item, str | int | float):
            records.append(str(item))
        else:
            raise InvalidInput(f"{name}: expected objects or values, found {type(item).__name__}")
    return "", [r for r in records if r.strip()]


class _HTMLText(HTMLParser):
    """Text of an HTML page, headings kept as markdown headings, scripts and styles dropped."""

    _SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})
    _BLOCK = frozenset({"p", "div", "li", "tr", "br", "section", "article", "table", "ul", "ol", "dd", "dt"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in self._SKIP:
            self._skip += 1
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self._BLOCK:
            self.parts.append("\n\n" if tag in {"p", "div", "section", "article", "table"} else "\n")
        elif tag in {"td", "th"}:
            self.parts.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return parser.title.strip(), text.strip()


def parse_file(filename: str, data: bytes, *, source: str | None = None) -> ParsedDocument:
    """Parse one uploaded file; the title defaults to the file name."""
    name = PurePath(filename).name or "document"
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedMediaType(
            f"{name}: unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    text = decode_utf8(data, name=name)
    doc = ParsedDocument(title=name, source=source or name, metadata={"filename": name})
    if suffix == ".csv":
        doc.records = parse_csv(text, name=name)
    elif suffix in (".json", ".jsonl"):
        doc.prose, doc.records = parse_json(text, name=name, lines=suffix == ".jsonl")
    elif suffix in (".html", ".htm"):
        page_title, doc.prose = html_to_text(text)
        if page_title:
            doc.metadata["html_title"] = page_title
    else:
        doc.prose = text
    if not doc.content.strip():
        raise InvalidInput(f"{name}: the file has no text")
    return doc


def parse_text(title: str, text: str, *, source: str | None, metadata: dict[str, Any]) -> ParsedDocument:
    if not title.strip():
        raise InvalidInput("a document needs a non-empty title")
    if not text.strip():
        raise InvalidInput(f"document {title!r}: text is empty")
    return ParsedDocument(title=title.strip(), source=source, metadata=metadata, prose=text)
