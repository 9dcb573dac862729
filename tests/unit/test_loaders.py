from __future__ import annotations

import json

import pytest

from comptoir.errors import InvalidInput, UnsupportedMediaType
from comptoir.ingest.loaders import format_record, html_to_text, parse_file


def test_csv_rows_keep_column_names_whatever_the_delimiter() -> None:
    semicolon = parse_file("a.csv", b"Produit;Prix\nCouches T4;24 000 F\n")
    comma = parse_file("b.csv", 'article,prix TTC\nCroissant,"1,25 €"\n'.encode())
    assert semicolon.records == ["Produit: Couches T4; Prix: 24 000 F"]
    assert comma.records == ["article: Croissant; prix TTC: 1,25 €"]


def test_csv_skips_empty_cells_and_rows_and_strips_bom() -> None:
    doc = parse_file("c.csv", "\ufeffa;b;c\n1;;3\n;;\n".encode())
    assert doc.records == ["a: 1; c: 3"]


def test_json_list_object_and_jsonl() -> None:
    assert parse_file("l.json", json.dumps([{"a": 1}, {"b": [1, 2]}]).encode()).records == [
        "a: 1",
        "b: [1, 2]",
    ]
    assert parse_file("o.json", json.dumps({"zone": "Cocody", "frais": 1500}).encode()).records == [
        "zone: Cocody; frais: 1500"
    ]
    assert parse_file("s.jsonl", b'{"x": "y"}\n\n{"x": "z"}\n').records == ["x: y", "x: z"]


def test_html_keeps_headings_and_drops_scripts() -> None:
    title, text = html_to_text(
        "<html><head><title>T</title><style>p{}</style></head><body><h2>Horaires</h2>"
        "<p>Ouvert&nbsp;8h</p><script>alert(1)</script><ul><li>Lundi</li><li>Mardi</li></ul></body></html>"
    )
    assert title == "T"
    assert text == "## Horaires\n\nOuvert 8h\n\nLundi\nMardi"


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("x.pdf", b"%PDF", UnsupportedMediaType),
        ("noext", b"hello", UnsupportedMediaType),
        ("x.txt", "é".encode("latin-1"), InvalidInput),
        ("x.json", b"{", InvalidInput),
        ("x.json", b"[[1, 2]]", InvalidInput),
        ("x.txt", b"   ", InvalidInput),
        ("x.csv", b"", InvalidInput),
    ],
)
def test_bad_files_are_refused(name: str, data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_file(name, data)


def test_format_record_drops_empty_values() -> None:
    assert format_record({"a": "", "b": None, "c": 0, "d": " x "}) == "c: 0; d: x"
