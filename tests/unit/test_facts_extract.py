from __future__ import annotations

from decimal import Decimal

from comptoir.facts.conventions import Evidence, learn_conventions
from comptoir.facts.extract import extract_facts, parse_record
from comptoir.facts.money import Conventions

FCFA = Conventions(currency="XOF")


def test_catalog_rows_whatever_the_column_names() -> None:
    rows = [
        "Produit: Couches; Taille: T4; Quantité: Lot de 300; Prix: 45 000 F",
        "article: Couches; pointure: 5; conditionnement: paquet de 50; montant: 9000",  # no currency mark
        "Nom: Biberon; Contenance: 260 ml; Tarif (FCFA): 6000",
        "Nom: Lait; Format: Boîte 800 g; Prix: 11 000 F",
    ]
    offers = extract_facts(rows, FCFA)
    assert [(f.amount, f.currency, f.size, f.quantity) for f in offers] == [
        (Decimal(45000), "XOF", "4", 300),
        (Decimal(9000), "XOF", "5", 50),
        (Decimal(6000), "XOF", None, None),
        (Decimal(11000), "XOF", None, None),  # 800 g is a weight, not a lot
    ]
    assert offers[0].text == rows[0] and offers[0].attributes["Taille"] == "T4"


def test_prose_lines_give_zones_offers_contacts_hours_and_payment() -> None:
    chunk = (
        "Livraison > Tarifs\n- Cocody (Riviera, Angré) : 1 500 FCFA, livré en 2 à 4 heures\n"
        "- Koumassi et Port-Bouët : 2 000 FCFA, livré le jour même\n"
        "Frais d'expédition : 3 000 F + le prix du colis."
    )
    facts = extract_facts([chunk, "Promo : lot de 300 couches T4 à 43 000F"], FCFA)
    zones = [
        (f.subject, f.amount, f.attributes.get("zones"), f.attributes.get("delay"))
        for f in facts
        if f.kind == "delivery"
    ]
    assert zones == [
        ("Cocody", Decimal(1500), "Cocody, Riviera, Angré", "en 2 à 4 heures"),
        ("Koumassi", Decimal(2000), "Koumassi, Port-Bouët", "le jour même"),
        ("", Decimal(3000), None, None),
    ]
    [offer] = [f for f in facts if f.kind == "offer"]
    assert (offer.amount, offer.quantity, offer.size) == (Decimal(43000), 300, "4")
    other = extract_facts(
        [
            "Contact\nÉcrivez-nous sur WhatsApp au +225 07 48 22 15 90.\nCourriel : a@b.ci",
            "Horaires\nOuvert du lundi au samedi de 8h à 20h.\nOn accepte Wave et Orange Money.",
        ],
        FCFA,
    )
    assert [(f.kind, f.subject) for f in other if f.kind == "contact"] == [
        ("contact", "whatsapp"),
        ("contact", "email"),
    ]
    assert [f.kind for f in other if f.kind in ("hours", "payment")] == ["hours", "payment"]


def test_records_and_prose_are_told_apart() -> None:
    assert parse_record("a: 1; b: 2") == {"a": "1", "b": "2"}
    assert parse_record("Reine — Petite : 9 € ; Grande : 13 €") == {
        "": "Reine",
        "Petite": "9 €",
        "Grande": "13 €",
    }
    assert parse_record("Livraison : 1 500 F") is None
    assert parse_record("Titre\na: 1; b: 2") is None


def test_a_rendered_record_under_its_context_is_an_offer_read_field_by_field() -> None:
    [offer] = extract_facts(["Boutique > Couches\nCouches, Bébédoux — Taille : T4 ; Prix : 8 400 F"], FCFA)
    assert (offer.amount, offer.size, offer.text) == (
        Decimal(8400),
        "4",
        "Couches, Bébédoux — Taille : T4 ; Prix : 8 400 F",
    )
    [zone] = extract_facts(["Livraison > Zones\nCocody, Riviera : 1 500 FCFA"], FCFA)
    assert (zone.kind, zone.amount, zone.attributes["zones"]) == (
        "delivery",
        Decimal(1500),
        "Cocody, Riviera",
    )


def test_conventions_are_learned_from_the_company_texts() -> None:
    assert learn_conventions(["Prix (CAD): 149,99 $", "Diagnostic : 39,99 $"]) == Conventions("CAD", "CAD")
    assert learn_conventions(["Item: 12.50 $", "Item: 3 $"]) == Conventions("USD", "USD")
    assert learn_conventions(["Lot: 24 000 F", "Livraison 1500 FCFA", "3,20 €"]).currency == "XOF"
    assert learn_conventions(["no prices here"]).currency is None


def test_vocabulary_learns_size_labels_and_zones() -> None:
    facts = extract_facts(
        [
            "Produit: Couches; Taille: T4; Prix: 8 500 F",
            "Produit: Couches; Taille: T5; Prix: 9 000 F",
            "Livraison\n- Abobo : 2 500 FCFA",
        ],
        FCFA,
    )
    vocabulary = Evidence.of((), facts).vocabulary()
    assert vocabulary["size_prefixes"] == ["T"]
    assert vocabulary["zones"] == ["Abobo"]
    assert "couche" in vocabulary["product_terms"]


def test_number_format_is_learned() -> None:

    assert _number_format(["Prix: 24 000 F", "Lot: 1 500 FCFA"]) == {"decimal": None, "thousands": " "}
    assert _number_format(["3,20 €", "1.299,00 €", "0,90 €"]) == {"decimal": ",", "thousands": "."}
    assert _number_format(["$1,299.99", "$3.50"]) == {"decimal": ".", "thousands": ","}


def _number_format(texts: list[str]) -> dict[str, str | None]:
    return Evidence.of(texts).number_format()
