"""Reading amounts of money as small businesses write them: "24 000F", "24.000 fcfa", "3,20 €",
"149,99 $", "EUR 12.50", "1 500 F CFA", "25k".

Currency marks are world knowledge (F CFA is XOF, € is EUR); what is ambiguous is settled by the
company's own conventions, learned from its documents: whether "$" means CAD or USD, and whether
"1.500" is one thousand five hundred (a FCFA shop) or one and a half (a euro shop).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

#: currency marks, longest first; the value is an ISO code, or "$" when only conventions can tell
_MARKS: list[tuple[str, str]] = [
    ("francs cfa", "XOF"),
    ("franc cfa", "XOF"),
    ("frs cfa", "XOF"),
    ("fr cfa", "XOF"),
    ("f cfa", "XOF"),
    ("fcfa", "XOF"),
    ("cfa", "XOF"),
    ("xof", "XOF"),
    ("francs", "XOF"),
    ("frs", "XOF"),
    ("fr", "XOF"),
    ("f", "XOF"),
    ("euros", "EUR"),
    ("euro", "EUR"),
    ("eur", "EUR"),
    ("€", "EUR"),
    ("$ca", "CAD"),
    ("ca$", "CAD"),
    ("cad", "CAD"),
    ("$can", "CAD"),
    ("usd", "USD"),
    ("us$", "USD"),
    ("dollars", "$"),
    ("dollar", "$"),
    ("$", "$"),
]
ZERO_DECIMAL = frozenset({"XOF"})

_MARK = "|".join(re.escape(mark) for mark, _ in _MARKS)
#: written before an amount: symbols and codes only ("F2" is a flat and "fr" a word, not prices)
_PRE_MARKS = ("$ca", "ca$", "$can", "us$", "fcfa", "cfa", "xof", "eur", "cad", "usd", "€", "$")
_PRE_MARK = "|".join(re.escape(mark) for mark in _PRE_MARKS)
_NUMBER = r"\d{1,3}(?:[ \u00a0\u202f.,'’]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_AMOUNT = re.compile(
    rf"(?<![\w.,])(?:(?P<pre>{_PRE_MARK})\s?(?P<n1>{_NUMBER})(?P<k1>\s?k)?|(?P<n2>{_NUMBER})(?P<k2>\s?k)?\s?(?P<post>{_MARK}))"
    r"(?![\w])",
    re.IGNORECASE,
)
_BARE = re.compile(rf"(?<![\w.,])(?P<n>{_NUMBER})(?P<k>\s?k)?(?![\w.,]*\d)", re.IGNORECASE)


@dataclass(frozen=True)
class Conventions:
    """How one company writes money: its currency and what "$" means to it."""

    currency: str | None = None
    dollar: str = "USD"


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str
    text: str  # as written
    start: int
    end: int


def _code(mark: str) -> str:
    folded = " ".join(mark.lower().split())
    return next(code for candidate, code in _MARKS if candidate == folded)


def parse_number(raw: str, *, currency: str | None) -> Decimal | None:
    """'24 000' → 24000 and '3,20' → 3.20: one or two digits after the last separator are decimals,
    three are thousands (as prices are written: "1.500 FCFA", "1,299.99 $"). A zero-decimal currency
    with decimals ("24,50 F") is not an amount we trust."""
    text = raw.replace("\u00a0", " ").replace("\u202f", " ").replace("’", "'")
    groups = re.split(r"[ .,']", text)
    separators = re.findall(r"[ .,']", text)
    if separators and separators[-1] in ".," and len(groups[-1]) in (1, 2):
        if currency in ZERO_DECIMAL:
            return None
        digits = "".join(groups[:-1]) + "." + groups[-1]
    else:
        digits = "".join(groups)
    try:
        return Decimal(digits)
    except InvalidOperation:
        return None


def find_amounts(text: str, conventions: Conventions = Conventions()) -> Iterator[Money]:
    """Every amount with a currency mark in ``text``."""
    for match in _AMOUNT.finditer(text):
        mark = match.group("pre") or match.group("post")
        number = match.group("n1") or match.group("n2")
        thousands = match.group("k1") or match.group("k2")
        code = _code(mark)
        if code == "$":
            code = conventions.dollar
        if mark.lower() in ("f", "fr") and conventions.currency not in (None, "XOF"):
            continue  # a lone "F" means FCFA only in a company that prices in FCFA
        amount = parse_number(number, currency=code)
        if amount is None:
            continue
        if thousands:
            amount *= 1000
        yield Money(amount, code, match.group(0).strip(), match.start(), match.end())


def currency_marks(text: str) -> Iterator[str]:
    """The currency of every marked amount in ``text``, "$" left unresolved: evidence for conventions."""
    for match in _AMOUNT.finditer(text):
        yield _code(match.group("pre") or match.group("post"))


def number_styles(text: str) -> Iterator[tuple[str | None, str | None]]:
    """(decimal separator, thousands separator) of every marked amount, None where it shows none."""
    for match in _AMOUNT.finditer(text):
        number = (match.group("n1") or match.group("n2")).replace("\u00a0", " ").replace("\u202f", " ")
        separators = re.findall(r"[ .,'’]", number)
        decimal = separators[-1] if separators and len(re.split(r"[ .,'’]", number)[-1]) in (1, 2) else None
        thousands = next((s for s in separators if s != decimal), None) if separators else None
        yield decimal, thousands


def parse_amount(
    text: str, conventions: Conventions = Conventions(), *, bare_ok: bool = False
) -> Money | None:
    """The first amount in ``text``; with ``bare_ok`` (a price column), a number without a mark is read
    in the company's currency."""
    found = next(find_amounts(text, conventions), None)
    if found or not bare_ok or conventions.currency is None:
        return found
    match = _BARE.search(text)
    if not match:
        return None
    amount = parse_number(match.group("n"), currency=conventions.currency)
    if amount is None:
        return None
    if match.group("k"):
        amount *= 1000
    return Money(amount, conventions.currency, match.group(0).strip(), match.start(), match.end())
