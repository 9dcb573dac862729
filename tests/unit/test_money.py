"""Real-world price and fee strings, as small businesses write them, read into exact amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from comptoir.facts.money import Conventions, find_amounts, parse_amount

FCFA = Conventions(currency="XOF")
EURO = Conventions(currency="EUR")
MONTREAL = Conventions(currency="CAD", dollar="CAD")

CASES = [
    # FCFA: spaces, dots, commas, glued marks, abbreviations and typos
    ("24 000F", FCFA, "24000", "XOF"),
    ("24 000 F", FCFA, "24000", "XOF"),
    ("24000F", FCFA, "24000", "XOF"),
    ("24.000 fcfa", FCFA, "24000", "XOF"),
    ("24,000 FCFA", FCFA, "24000", "XOF"),
    ("1 500 F CFA", FCFA, "1500", "XOF"),
    ("1500 f cfa", FCFA, "1500", "XOF"),
    ("1.500 FCFA", FCFA, "1500", "XOF"),
    ("2 500 XOF", FCFA, "2500", "XOF"),
    ("XOF 2500", FCFA, "2500", "XOF"),
    ("24000frs", FCFA, "24000", "XOF"),
    ("24 000 Frs CFA", FCFA, "24000", "XOF"),
    ("45 000 francs", FCFA, "45000", "XOF"),
    ("45 000 francs CFA", FCFA, "45000", "XOF"),
    ("10 000f", FCFA, "10000", "XOF"),
    ("25k F", FCFA, "25000", "XOF"),
    ("25 k fcfa", FCFA, "25000", "XOF"),
    ("Lot de 300 couches T4 : 24 000F", FCFA, "24000", "XOF"),
    ("Livraison Cocody 1500 FCFA", FCFA, "1500", "XOF"),
    ("Prix: 6 500 F", FCFA, "6500", "XOF"),
    ("1 250 000 FCFA", FCFA, "1250000", "XOF"),
    ("350 cfa", FCFA, "350", "XOF"),
    ("24\u00a0000\u00a0F", FCFA, "24000", "XOF"),
    ("24\u202f000 FCFA", FCFA, "24000", "XOF"),
    # euros: decimal commas and points, mark before or after
    ("3,20 €", EURO, "3.20", "EUR"),
    ("3,20€", EURO, "3.20", "EUR"),
    ("€3.20", EURO, "3.20", "EUR"),
    ("EUR 12.50", EURO, "12.50", "EUR"),
    ("12,5 euros", EURO, "12.5", "EUR"),
    ("0,90 €", EURO, "0.90", "EUR"),
    ("1 299,00 €", EURO, "1299.00", "EUR"),
    ("1.299,00 €", EURO, "1299.00", "EUR"),
    ("24 € TTC", EURO, "24", "EUR"),
    ("prix TTC: 19,00 €", EURO, "19.00", "EUR"),
    ("8 euro", EURO, "8", "EUR"),
    # dollars: what "$" means is the company's convention
    ("149,99 $", MONTREAL, "149.99", "CAD"),
    ("149,99$", MONTREAL, "149.99", "CAD"),
    ("$149.99", MONTREAL, "149.99", "CAD"),
    ("149,99 $CA", Conventions(), "149.99", "CAD"),
    ("CAD 89.99", Conventions(), "89.99", "CAD"),
    ("89,99 CAD", Conventions(), "89.99", "CAD"),
    ("1 299,99 $", MONTREAL, "1299.99", "CAD"),
    ("1,299.99 $", MONTREAL, "1299.99", "CAD"),
    ("25 $ aller-retour", MONTREAL, "25", "CAD"),
    ("149,99 $", Conventions(), "149.99", "USD"),
    ("USD 40", MONTREAL, "40", "USD"),
    ("40 dollars", MONTREAL, "40", "CAD"),
]


@pytest.mark.parametrize(("text", "conventions", "amount", "currency"), CASES)
def test_amounts_are_read_exactly(text: str, conventions: Conventions, amount: str, currency: str) -> None:
    money = parse_amount(text, conventions)
    assert money is not None, text
    assert (money.amount, money.currency) == (Decimal(amount), currency)


def test_there_are_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(
    "text",
    [
        "Lot de 300 couches T4",  # numbers without a currency are not prices
        "Ouvert de 8h à 20h",
        "Appelez le 07 48 22 15 90",
        "24,50 F",  # FCFA has no cents: not an amount we trust
        "T4 F2",
    ],
)
def test_no_amount(text: str) -> None:
    assert parse_amount(text, FCFA) is None


def test_a_lone_f_is_fcfa_only_for_a_company_that_prices_in_fcfa() -> None:
    assert parse_amount("Tarif 3 F", EURO) is None
    assert parse_amount("Tarif 3 F", FCFA) is not None


def test_bare_numbers_in_a_price_column_take_the_company_currency() -> None:
    money = parse_amount("24000", FCFA, bare_ok=True)
    assert money is not None and (money.amount, money.currency) == (Decimal(24000), "XOF")
    assert parse_amount("24000", Conventions(), bare_ok=True) is None


def test_every_amount_of_a_line() -> None:
    found = list(find_amounts("Frais : 3 000 F + 1 500 FCFA au car", FCFA))
    assert [m.amount for m in found] == [Decimal(3000), Decimal(1500)]
