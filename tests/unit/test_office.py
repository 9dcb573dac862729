"""PDF, DOCX and XLSX read as Markdown, and hostile files refused with a clear error.

Every file is built here: a workbook with openpyxl, a document with python-docx, PDFs with pypdf's
own objects (a Helvetica text page, a blank page), zip archives with zipfile."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import docx
import openpyxl
import pytest
from docx.enum.style import WD_STYLE_TYPE
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from comptoir.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from comptoir.ingest.office import (
    OFFICE_SUFFIXES,
    OfficeLimits,
    format_date,
    format_number,
    office_to_markdown,
)

# ------------------------------------------------------------------------------------------ builders


def _xlsx_bytes(workbook: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    """The archive ``data`` with some entries' contents replaced."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info.filename)))
    return out.getvalue()


def _price_workbook() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Tarifs"
    sheet["A1"] = "Tarif boutique 2025"
    # row 2 empty; column D left empty on purpose
    sheet.append([])
    for column, title in zip("ABCEF", ["Article", "Prix", "Quantité", "Depuis le", "Remarque"], strict=True):
        sheet[f"{column}3"] = title
    rows = [
        ("Savon | lot de 3", 1500, 45000.0, dt.date(2025, 3, 14), None),
        ("Huile 1 L", 2750.5, 12, dt.date(2024, 12, 1), "promo"),
        ("Sac 25 kg", 24000, 1e4, None, None),
    ]
    for index, (article, price, quantity, since, note) in enumerate(rows, start=4):
        sheet[f"A{index}"] = article
        sheet[f"B{index}"] = price
        sheet[f"B{index}"].number_format = '#,##0.00 "FCFA"' if isinstance(price, float) else '#,##0 "FCFA"'
        sheet[f"C{index}"] = quantity
        sheet[f"E{index}"] = since
        if since is not None:
            sheet[f"E{index}"].number_format = "dd/mm/yyyy"
        sheet[f"F{index}"] = note
    sheet["B7"] = "=B4*2"  # a formula: its cached value is written below, as Excel would have
    sheet["A7"] = "Double savon"
    sheet["B7"].number_format = '#,##0 "FCFA"'
    sheet["A9"] = "Prix TTC, valables jusqu'au 30 juin."

    second = workbook.create_sheet("Remises")
    second.append(["Seuil", "Remise"])
    second.append([100000, 0.05])
    second["B2"].number_format = "0%"
    hidden = workbook.create_sheet("Marges")
    hidden.append(["Article", "Coût"])
    hidden.append(["Savon", 900])
    hidden.sheet_state = "hidden"
    data = _xlsx_bytes(workbook)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml")
    assert b"<f>B4*2</f><v></v>" in sheet_xml
    return _rezip(
        data,
        {"xl/worksheets/sheet1.xml": sheet_xml.replace(b"<f>B4*2</f><v></v>", b"<f>B4*2</f><v>3000</v>")},
    )


def _docx_bytes() -> bytes:
    document = docx.Document()
    document.add_heading("Conditions de vente", 0)
    document.add_paragraph("Valables pour toute commande en boutique.")
    document.add_heading("Garanties", 1)
    document.add_paragraph("Articles neufs : 6 mois.", style="List Bullet")
    document.add_paragraph("Appareils électriques : 12 mois.", style="List Bullet")
    document.add_paragraph("sauf usage commercial", style="List Bullet 2")
    document.add_heading("Tarifs de montage", 2)
    table = document.add_table(rows=3, cols=2)
    for row, (service, price) in zip(
        table.rows,
        [("Service", "Prix"), ("Montage simple", "5 000 FCFA"), ("Montage | réglage", "offerte")],
        strict=True,
    ):
        row.cells[0].text = service
        row.cells[1].text = price
    document.add_paragraph("Fait le 2 janvier 2025.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _pdf_bytes(pages: list[list[tuple[int, int, str]] | None], *, password: str | None = None) -> bytes:
    """A PDF with, on each page, Helvetica text at (x, y); None is a page with a drawn square only."""
    writer = PdfWriter()
    for items in pages:
        page = writer.add_blank_page(width=595, height=842)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        if items is None:
            operations = ["0.5 g 100 100 300 300 re f"]  # like a scan: marks, no text
        else:
            operations = []
            for x, y, text in items:
                escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                operations.append(f"BT /F1 11 Tf {x} {y} Td ({escaped}) Tj ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(operations).encode("cp1252"))
        page.replace_contents(stream)
    if password is not None:
        writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


_MENU = [
    (72, 800, "Menu du midi"),
    (72, 770, "Plats"),
    (72, 750, "Poulet yassa"),
    (400, 750, "3 500 FCFA"),
    (72, 730, "Thieboudienne (poisson)"),
    (400, 730, "4 000 FCFA"),
]

# --------------------------------------------------------------------------------------------- XLSX


def test_xlsx_sheets_become_headings_and_pipe_tables() -> None:
    text = office_to_markdown("tarifs.xlsx", ".xlsx", _price_workbook())
    assert text == (
        "# Tarifs\n"
        "\n"
        "Tarif boutique 2025\n"
        "\n"
        "| Article | Prix | Quantité | Depuis le | Remarque |\n"
        "|---|---|---|---|---|\n"
        "| Savon \\| lot de 3 | 1 500 FCFA | 45000 | 14/03/2025 |  |\n"
        "| Huile 1 L | 2 750.50 FCFA | 12 | 01/12/2024 | promo |\n"
        "| Sac 25 kg | 24 000 FCFA | 10000 |  |  |\n"
        "| Double savon | 3 000 FCFA |  |  |  |\n"
        "\n"
        "Prix TTC, valables jusqu'au 30 juin.\n"
        "\n"
        "# Remises\n"
        "\n"
        "| Seuil | Remise |\n"
        "|---|---|\n"
        "| 100000 | 5% |"
    )


def test_xlsx_hidden_sheets_are_left_out() -> None:
    assert "Marges" not in office_to_markdown("tarifs.xlsx", ".xlsx", _price_workbook())


def test_xlsx_blocks_after_an_empty_row_continue_or_start_tables() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Carte"
    for row in [
        ["Plat", "Prix"],
        ["Poulet", "3 500 F"],
        [],
        ["Desserts"],  # a section row, then more rows of the same table
        ["Thiakry", "1 000 F"],
        [],
        ["Boissons"],  # a title, then a table of its own
        ["Boisson", "Format", "Prix"],
        ["Bissap", "50 cl", "500 F"],
    ]:
        sheet.append(row)
    text = office_to_markdown("carte.xlsx", ".xlsx", _xlsx_bytes(workbook))
    assert text == (
        "# Carte\n\n"
        "| Plat | Prix |\n|---|---|\n| Poulet | 3 500 F |\n\n"
        "Desserts\n\n"
        "| Plat | Prix |\n|---|---|\n| Thiakry | 1 000 F |\n\n"
        "Boissons\n\n"
        "| Boisson | Format | Prix |\n|---|---|---|\n| Bissap | 50 cl | 500 F |"
    )


def test_xlsx_single_column_sheet_is_lines_and_empty_workbook_is_empty() -> None:
    workbook = openpyxl.Workbook()
    workbook.active.append(["Ouvert du lundi au samedi"])
    workbook.active.append(["Fermé le dimanche"])
    workbook.create_sheet("Vide")
    assert office_to_markdown("infos.xlsx", ".xlsx", _xlsx_bytes(workbook)) == (
        "# Sheet\n\nOuvert du lundi au samedi\nFermé le dimanche"
    )
    assert office_to_markdown("vide.xlsx", ".xlsx", _xlsx_bytes(openpyxl.Workbook())) == ""


@pytest.mark.parametrize(
    ("value", "fmt", "shown"),
    [
        (45000.0, "General", "45000"),
        (10000.0, "General", "10000"),
        (0.1 + 0.2, "General", "0.3"),
        (45000, "#,##0", "45 000"),
        (1234567.891, "#,##0.00", "1 234 567.89"),
        (2.675, "0.00", "2.68"),
        (3, "0.00", "3.00"),
        (0.075, "0%", "8%"),
        (-1234.5, "#,##0.00;(#,##0.00)", "(1 234.50)"),
        (-1234.5, "#,##0.00", "-1 234.50"),
        (0, '#,##0;-#,##0;"-"', "-"),
        (24000, '#,##0\\ "F"', "24 000 F"),
        (21.95, "#,##0.00 [$€-40C]", "21.95 €"),
        (21.95, "[$$-409]#,##0.00", "$21.95"),
        (1234567, "#,##0,", "1 235"),
        (12345.678, "0.00E+00", "1.23E+04"),
        (5, "@", "5"),
        (7, "[>=100]0;0.0", "7"),
        (1e30, "#,##0.00", "1 000 000 000 000 000 000 000 000 000 000.00"),  # past 28 digits
        (2.5, "0." + "0" * 40, "2.5" + "0" * 29),  # Excel's 30 decimals at most
        (2.5, "0" * 300 + '"x"', "2.5"),  # longer than Excel allows: General
    ],
)
def test_number_formats_show_numbers_as_the_sheet_does(value: float, fmt: str, shown: str) -> None:
    assert format_number(value, fmt) == shown


@pytest.mark.parametrize(
    ("fmt", "shown"),
    [
        ("dd/mm/yyyy", "14/03/2025"),
        ("d mmmm yyyy", "14 March 2025"),
        ("[$-40C]dddd d mmmm yyyy", "vendredi 14 mars 2025"),
        ("mm-dd-yy", "2025-03-14"),  # Excel's locale short date: written as ISO
        ("hh:mm", "09:05"),
        ("h:mm AM/PM", "9:05 AM"),
        ("General", "2025-03-14 09:05:07"),
    ],
)
def test_date_formats(fmt: str, shown: str) -> None:
    assert format_date(dt.datetime(2025, 3, 14, 9, 5, 7), fmt) == shown


# --------------------------------------------------------------------------------------------- DOCX


def test_docx_headings_lists_and_tables_in_document_order() -> None:
    assert office_to_markdown("conditions.docx", ".docx", _docx_bytes()) == (
        "# Conditions de vente\n"
        "\n"
        "Valables pour toute commande en boutique.\n"
        "\n"
        "# Garanties\n"
        "\n"
        "- Articles neufs : 6 mois.\n"
        "- Appareils électriques : 12 mois.\n"
        "  - sauf usage commercial\n"
        "\n"
        "## Tarifs de montage\n"
        "\n"
        "| Service | Prix |\n"
        "|---|---|\n"
        "| Montage simple | 5 000 FCFA |\n"
        "| Montage \\| réglage | offerte |\n"
        "\n"
        "Fait le 2 janvier 2025."
    )


def test_docx_custom_heading_styles_and_numbered_paragraphs() -> None:
    document = docx.Document()
    chapter = document.styles.add_style("Chapitre", WD_STYLE_TYPE.PARAGRAPH)
    chapter.base_style = document.styles["Heading 2"]
    document.styles.add_style("Titre 3", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("Livraison", style="Chapitre")
    document.add_paragraph("Zones", style="Titre 3")
    document.add_paragraph("Zone nord", style="List Number")
    document.add_paragraph("Zone sud", style="List Number")
    buffer = io.BytesIO()
    document.save(buffer)
    assert office_to_markdown("livraison.docx", ".docx", buffer.getvalue()) == (
        "## Livraison\n\n### Zones\n\n- Zone nord\n- Zone sud"
    )


# ---------------------------------------------------------------------------------------------- PDF


def test_pdf_pages_in_reading_order_separated_by_blank_lines() -> None:
    data = _pdf_bytes([_MENU, [(72, 800, "Livraison : 1 000 FCFA")]])
    text = office_to_markdown("menu.pdf", ".pdf", data)
    assert text == (
        "Menu du midi\n\nPlats\nPoulet yassa\t3 500 FCFA\nThieboudienne (poisson)\t4 000 FCFA\n\n"
        "Livraison : 1 000 FCFA"
    )


def test_pdf_table_drawn_column_by_column_keeps_each_row_on_one_line() -> None:
    """pypdf's plain mode would give the names, then the prices: layout mode keeps the rows."""
    by_column = [item for item in _MENU if item[0] == 72] + [item for item in _MENU if item[0] == 400]
    text = office_to_markdown("menu.pdf", ".pdf", _pdf_bytes([by_column]))
    assert "Poulet yassa\t3 500 FCFA" in text.splitlines()
    assert "Thieboudienne (poisson)\t4 000 FCFA" in text.splitlines()


def test_pdf_wide_word_spaces_of_justified_text_are_not_column_gaps() -> None:
    writer = PdfWriter(clone_from=io.BytesIO(_pdf_bytes([[(72, 800, "x")]])))
    stream = DecodedStreamObject()  # words 0.9 em apart: about three spaces in layout mode
    stream.set_data(
        b"BT /F1 11 Tf 72 700 Td [(Livraison) -900 (offerte) -900 (des) -900 (50) -900 (euros)] TJ ET"
    )
    writer.pages[0].replace_contents(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    assert office_to_markdown("infos.pdf", ".pdf", buffer.getvalue()) == "Livraison offerte des 50 euros"


def test_pdf_encrypted_only_against_copying_is_read() -> None:
    data = _pdf_bytes([_MENU], password="")
    assert "Poulet yassa\t3 500 FCFA" in office_to_markdown("menu.pdf", ".pdf", data)


# ------------------------------------------------------------------------------------------ hostile


def test_pdf_without_text_layer_is_refused() -> None:
    for pages in ([None], [[]], [None, []]):
        with pytest.raises(InvalidInput, match=r"has no text layer \(scanned\?\)"):
            office_to_markdown("scan.pdf", ".pdf", _pdf_bytes(pages))


def test_encrypted_pdf_is_refused() -> None:
    with pytest.raises(InvalidInput, match="encrypted"):
        office_to_markdown("menu.pdf", ".pdf", _pdf_bytes([_MENU], password="secret"))


def test_pdf_page_limit() -> None:
    with pytest.raises(PayloadTooLarge, match="3 pages, more than the 2 allowed"):
        office_to_markdown("menu.pdf", ".pdf", _pdf_bytes([_MENU] * 3), limits=OfficeLimits(max_pdf_pages=2))


def test_time_limit_is_checked_while_reading() -> None:
    limits = OfficeLimits(max_seconds=-1)
    for suffix, data in [
        (".pdf", _pdf_bytes([_MENU])),
        (".docx", _docx_bytes()),
        (".xlsx", _price_workbook()),
    ]:
        with pytest.raises(PayloadTooLarge, match="took longer than -1 s"):
            office_to_markdown("fichier" + suffix, suffix, data, limits=limits)


def test_zip_bomb_is_refused_before_any_library_opens_it() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as entry:
            zeros = bytes(1 << 20)
            for _ in range(200):  # 200 MB of zeros: about 200 KB compressed
                entry.write(zeros)
    data = buffer.getvalue()
    assert len(data) < 1_000_000
    for suffix in (".xlsx", ".docx"):
        with pytest.raises(InvalidInput, match=r"inflates \d+x \(limit 100x\): refused as a zip bomb"):
            office_to_markdown("bombe" + suffix, suffix, data)


def test_archive_expanding_past_the_total_limit_is_refused() -> None:
    with pytest.raises(PayloadTooLarge, match="expands to more than 10000 bytes"):
        office_to_markdown(
            "tarifs.xlsx", ".xlsx", _price_workbook(), limits=OfficeLimits(max_uncompressed_bytes=10_000)
        )


def test_a_sheet_padded_to_column_xfd_is_refused_by_its_cell_count() -> None:
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "x"
    data = _xlsx_bytes(workbook)
    rows = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>x</t></is></c>'
        f'<c r="XFD{i}" t="inlineStr"><is><t>y</t></is></c></row>'
        for i in range(1, 2_001)
    )  # 2,000 rows of 16,384 cells once padded: 32 million
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    start, end = sheet_xml.index("<sheetData>"), sheet_xml.index("</sheetData>")
    sheet_xml = sheet_xml[: start + len("<sheetData>")] + rows + sheet_xml[end:]
    data = _rezip(data, {"xl/worksheets/sheet1.xml": sheet_xml.encode()})
    with pytest.raises(PayloadTooLarge, match="more than 20000000 cells"):
        office_to_markdown("tarifs.xlsx", ".xlsx", data)


def test_too_many_zip_entries_are_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index in range(2_001):
            archive.writestr(f"word/media/image{index}.png", b"")
    with pytest.raises(PayloadTooLarge, match="2001 entries, more than the 2000 allowed"):
        office_to_markdown("conditions.docx", ".docx", buffer.getvalue())


def test_xml_with_a_dtd_is_refused() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>"
    )
    data = _rezip(_docx_bytes(), {"word/document.xml": laughs})
    with pytest.raises(InvalidInput, match="declares a DTD"):
        office_to_markdown("conditions.docx", ".docx", data)


@pytest.mark.parametrize("suffix", OFFICE_SUFFIXES)
def test_corrupt_files_raise_invalid_input(suffix: str) -> None:
    good = {".pdf": _pdf_bytes([_MENU]), ".docx": _docx_bytes(), ".xlsx": _price_workbook()}[suffix]
    for data in (b"", b"\x00garbage\xff" * 100, good[: len(good) // 2], good[:-200]):
        with pytest.raises(InvalidInput):
            office_to_markdown("fichier" + suffix, suffix, data)


def test_an_office_file_of_another_kind_raises_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="cannot read this XLSX file"):
        office_to_markdown("tarifs.xlsx", ".xlsx", _docx_bytes())
    with pytest.raises(InvalidInput, match="cannot read this DOCX file"):
        office_to_markdown("conditions.docx", ".docx", _price_workbook())


def test_a_corrupt_entry_inside_a_valid_archive_raises_invalid_input() -> None:
    data = bytearray(_docx_bytes())
    start = data.find(b"word/document.xml") + len(b"word/document.xml") + 40  # inside its compressed data
    data[start : start + 20] = bytes(20)
    with pytest.raises(InvalidInput):
        office_to_markdown("conditions.docx", ".docx", bytes(data))


def test_other_suffixes_are_unsupported() -> None:
    with pytest.raises(UnsupportedMediaType):
        office_to_markdown("notes.odt", ".odt", b"")
