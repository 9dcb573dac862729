from __future__ import annotations

import pytest

from comptoir.errors import InvalidInput, UnsupportedMediaType
from comptoir.ingest.chunking import Chunker
from comptoir.ingest.loaders import html_to_text, parse_file, parse_text
from comptoir.ingest.records import Passage, Record


def chunks(name: str, data: bytes | str) -> list[str]:
    raw = data.encode() if isinstance(data, str) else data
    return Chunker().chunk_blocks(parse_file(name, raw).blocks)


def lines(name: str, data: bytes | str) -> list[str]:
    """The last line of each chunk: a record's rendering, without its context line."""
    return [chunk.splitlines()[-1] for chunk in chunks(name, data)]


def test_csv_rows_become_readable_records_whatever_the_delimiter() -> None:
    assert lines("a.csv", "Produit;Marque;Prix\nSavon au miel;Abeille;1 200 F\n") == [
        "Savon au miel, Abeille — Prix : 1 200 F"
    ]
    assert lines("b.csv", 'article,prix TTC\nCroissant,"1,25 €"\n') == ["Croissant — prix TTC : 1,25 €"]


def test_the_delimiter_is_the_one_that_splits_rows_alike_and_a_decimal_comma_is_not_one() -> None:
    assert lines("p.csv", "Pain de campagne;3,40 €\nCroissant au beurre;1,15 €\n") == [
        "Pain de campagne : 3,40 €",
        "Croissant au beurre : 1,15 €",
    ]
    assert lines("q.csv", 'Article,Prix\nBaguette,"1,20 €"\nFicelle,"0,90 €"\n') == [
        "Baguette — Prix : 1,20 €",
        "Ficelle — Prix : 0,90 €",
    ]
    assert lines("t.tsv", "Article\tPrix\nBaguette\t1,20 €\n") == ["Baguette — Prix : 1,20 €"]


def test_csv_without_header_row_keeps_every_row() -> None:
    data = "Pose vitre,12$,33 600 FC,1 heure\nPose coque,5$,14 000 FC,10 minutes\n"
    assert lines("r.csv", data) == [
        "Pose vitre — 12$ ; 33 600 FC ; 1 heure",
        "Pose coque — 5$ ; 14 000 FC ; 10 minutes",
    ]


def test_csv_reference_columns_go_last_and_empty_cells_are_skipped() -> None:
    data = "\ufeffRef;Article;Couleur;Prix\nAB-12;Tabouret;;15 €\n;;;\n"
    assert lines("c.csv", data) == ["Tabouret — Prix : 15 € ; Ref : AB-12"]


def test_nested_json_items_inherit_their_parents_context_and_codes() -> None:
    data = """{"magasin": "Quincaillerie du port", "devise": "EUR",
        "rayons": [{"nom": "Peinture", "articles": [
        {"nom": "Pinceau plat", "taille": {"valeur": 40, "unite": "mm"}, "prix": 4.50},
        {"nom": "Rouleau", "prix": {"montant": 7.90, "devise": "EUR"}, "usages": ["mur", "plafond"]}]}]}"""
    got = chunks("q.json", data)
    assert (
        got[1] == "rayons > Peinture > articles\nPinceau plat — taille : 40 mm ; prix : 4.50 ; devise : EUR"
    )
    assert (
        got[2]
        == "rayons > Peinture > articles\nRouleau — prix : 7.90 EUR ; usages : mur, plafond ; devise : EUR"
    )


def test_json_keeps_decimals_as_written_and_jsonl_is_one_record_per_line() -> None:
    assert lines("p.json", '[{"article": "Vis", "prix": 0.50}]') == ["Vis — prix : 0.50"]
    assert lines("s.jsonl", b'{"x": "y"}\n\n{"x": "z"}\n') == ["x : y", "x : z"]


def test_dotted_leaders_and_aligned_columns_keep_names_with_their_prices() -> None:
    text = (
        "ATELIER DU CYCLE — TARIFS\n\n"
        "REPARATIONS\n"
        "Crevaison (chambre fournie) ........ 12 €\n"
        "Réglage freins ..................... 15 €\n\n"
        "ROUES           AVANT      ARRIERE\n"
        "-----------------------------------\n"
        "Ville 28        45 000     52 000\n"
        "VTT 27.5        61 000     66 500\n"
    )
    got = chunks("t.txt", text)
    assert "ATELIER DU CYCLE — TARIFS > REPARATIONS\nCrevaison (chambre fournie) : 12 €" in got
    assert "ATELIER DU CYCLE — TARIFS > REPARATIONS\nRéglage freins : 15 €" in got
    assert any(c.endswith("Ville 28 — avant : 45 000 ; arriere : 52 000") for c in got)
    # a rule drawn under each column is a rule, not a row or a heading
    spaced = "Modèle    Neuf     Occasion\n--------  -------  --------\nRando     789 €    455 €\n"
    assert lines("s.txt", spaced) == ["Rando — Neuf : 789 € ; Occasion : 455 €"]


def test_markdown_and_html_tables_become_one_record_per_row() -> None:
    md = "# Carte\n\n## Pizzas\n\n| Pizza | Petite | Grande |\n|---|---|---|\n| Reine | 9 € | 13 € |\n"
    assert chunks("m.md", md) == ["Carte > Pizzas\nReine — Petite : 9 € ; Grande : 13 €"]
    html = (
        "<h2>Tarifs</h2><table>\n<tr><th>Soin</th><th>Prix</th></tr>\n"
        "<tr><td>Massage | dos</td><td>40 €</td></tr>\n</table><ul><li>Gommage 25 €</li></ul>"
    )
    assert chunks("p.html", html) == ["Tarifs\nMassage / dos — Prix : 40 €", "Tarifs\nGommage : 25 €"]


def test_question_answer_pairs_stay_together() -> None:
    text = (
        "FAQ\n\nQ : Livrez-vous le dimanche ?\nR : Non, du lundi au samedi.\n\n"
        "Q: Et les jours fériés ?\nR: Non plus.\n"
    )
    assert chunks("f.txt", text) == [
        "FAQ\nLivrez-vous le dimanche ?\nNon, du lundi au samedi.",
        "FAQ\nEt les jours fériés ?\nNon plus.",
    ]


def test_listed_values_with_numbers_are_records_and_prose_stays_prose() -> None:
    text = (
        "Horaires :\nLundi - vendredi : 8 h - 19 h\nSamedi : 9 h - 13 h\n\n"
        "Nous sommes une petite équipe : merci de votre patience."
    )
    blocks = parse_file("h.txt", text.encode()).blocks
    assert [b.render() for b in blocks if isinstance(b, Record)] == [
        "Lundi - vendredi : 8 h - 19 h",
        "Samedi : 9 h - 13 h",
    ]
    assert blocks[0].context == ("Horaires",)
    assert [b.text for b in blocks if isinstance(b, Passage)] == [
        "Nous sommes une petite équipe : merci de votre patience."
    ]


def test_internal_sections_are_withheld_and_flagged() -> None:
    text = (
        "INFOS BOUTIQUE\n\nOuvert du mardi au samedi.\n\n"
        "=== Réservé au personnel — ne pas communiquer ===\nCode alarme : 4242\n"
    )
    doc = parse_file("i.txt", text.encode())
    assert "4242" not in doc.content
    assert [(f.reason, f.text) for f in doc.flagged] == [("internal", "Code alarme : 4242")]


def test_a_json_text_document_is_read_by_its_source_suffix_or_format() -> None:
    csv_text = "Produit;Prix\nSavon;500 F\n"
    by_source = parse_text("Tarifs", csv_text, source="tarifs.csv", metadata={})
    by_format = parse_text("Tarifs", csv_text, source=None, metadata={}, format="csv")
    as_prose = parse_text("Tarifs", csv_text, source=None, metadata={})
    assert [b.render() for b in by_source.blocks if isinstance(b, Record)] == ["Savon — Prix : 500 F"]
    assert by_format.content == by_source.content
    assert all(isinstance(b, Passage) for b in as_prose.blocks)
    with pytest.raises(InvalidInput, match="unknown format"):
        parse_text("T", "x", source=None, metadata={}, format="pdf")


def test_html_keeps_headings_and_drops_scripts() -> None:
    title, text = html_to_text(
        "<html><head><title>T</title><style>p{}</style></head><body><h2>Horaires</h2>"
        "<p>Ouvert&nbsp;8h</p><script>alert(1)</script><ul><li>Lundi</li><li>Mardi</li></ul></body></html>"
    )
    assert title == "T"
    assert text == "## Horaires\n\nOuvert 8h\n\n- Lundi\n- Mardi"


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("x.exe", b"MZ", UnsupportedMediaType),
        ("noext", b"hello", UnsupportedMediaType),
        ("x.txt", "é".encode("latin-1"), InvalidInput),
        ("x.json", b"{", InvalidInput),
        ("x.json", b"[" * 100 + b"]" * 100, InvalidInput),
        ("x.txt", b"   ", InvalidInput),
        ("x.csv", b"", InvalidInput),
        ("x.pdf", b"%PDF-1.4 not really", InvalidInput),
    ],
)
def test_bad_files_are_refused(name: str, data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_file(name, data)


def test_a_line_that_prices_several_items_gives_one_record_each() -> None:
    assert lines("c.txt", "Thé 2,50€ | Café crème 12 cl 3,10€ / 25 cl 4,20€") == [
        "Thé : 2,50€",
        "Café crème 12 cl : 3,10€",
        "Café crème, 25 cl : 4,20€",
    ]
    assert lines("b.txt", "Miche au seigle : 400 g 3,80$ • 800 g 6,90$") == [
        "Miche au seigle, 400 g : 3,80$",
        "Miche au seigle, 800 g : 6,90$",
    ]


def test_json_maps_of_named_things_and_their_variants() -> None:
    data = """{"tarifs": {"Veste doublée": {"en lin": "18 000 F", "en laine": "25 000 F"},
        "Gilet": "7 000 F", "Ourlet": "1 500 F"}, "contenance": {"valeur": 33, "unite": "cl"}}"""
    assert chunks("t.json", data) == [
        "contenance : 33 cl",  # a figure with its unit is one value
        "tarifs\nVeste doublée — en lin : 18 000 F ; en laine : 25 000 F",
        "tarifs\nGilet : 7 000 F",
        "tarifs\nOurlet : 1 500 F",
    ]


def test_a_banner_title_between_rules_is_a_heading_and_can_mark_an_internal_section() -> None:
    text = (
        "ATELIER\n\nOuvert le samedi.\n\n"
        "=======\nRéservé au personnel (jamais aux clients)\n=======\nCode : 1234\n"
    )
    doc = parse_file("i.txt", text.encode())
    assert "1234" not in doc.content and [f.text for f in doc.flagged] == ["Code : 1234"]


def test_a_question_answered_after_a_blank_line_stays_with_its_answer() -> None:
    html = "<h1>FAQ</h1><dl><dt>Livrez-vous le soir ?</dt>\n<dd>Oui, jusqu'à 21 h.</dd></dl>"
    assert chunks("f.html", html) == ["FAQ\nLivrez-vous le soir ?\nOui, jusqu'à 21 h."]


def test_a_very_long_line_is_prose_and_lines_around_it_are_still_read() -> None:
    text = "Tarifs\n\nCoupe : 20 €\nBrushing : 15 €\n" + "a " * 50_000 + "\nSoin : 9 €\n"
    doc = parse_file("long.txt", text.encode())
    assert [b.render() for b in doc.blocks if isinstance(b, Record)] == ["Coupe : 20 €", "Brushing : 15 €"]
    assert any(isinstance(b, Passage) and b.text.startswith("a a a") for b in doc.blocks)
