"""What a company's own documents say about how it writes: its currency, what "$" means to it, its size
labels ("T4"), its zone names and product words. Learned from all its chunks and facts, stored, and
learned again whenever its documents change; nothing of one company leaks into another's."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from comptoir.facts.extract import Fact
from comptoir.facts.money import Conventions, currency_marks, number_styles
from comptoir.text import fold, tokens

_CAD = re.compile(r"\bCAD\b|\$\s?CA\b|\bCA\s?\$|\$can\b|canad", re.I)
_USD = re.compile(r"\bUSD\b|\bUS\s?\$", re.I)
_LABEL_PREFIX = re.compile(r"^([A-Za-z]{1,3})\s?\d{1,2}$")


def learn_conventions(texts: list[str]) -> Conventions:
    marks: Counter[str] = Counter()
    cad = usd = 0
    for text in texts:
        marks.update(currency_marks(text))
        cad += len(_CAD.findall(text))
        usd += len(_USD.findall(text))
    dollar = "CAD" if cad > usd else "USD"
    if "$" in marks:
        marks[dollar] += marks.pop("$")
    if not marks:
        return Conventions(dollar=dollar)
    currency = marks.most_common(1)[0][0]
    return Conventions(currency=currency, dollar=dollar)


def learn_number_format(texts: list[str]) -> dict[str, str | None]:
    """How the company writes numbers: '3,20' or '3.20'; '24 000', '24.000' or '24,000'."""
    decimals: Counter[str] = Counter()
    thousands: Counter[str] = Counter()
    for text in texts:
        for decimal, grouping in number_styles(text):
            if decimal:
                decimals[decimal] += 1
            if grouping:
                thousands[grouping] += 1
    return {
        "decimal": decimals.most_common(1)[0][0] if decimals else None,
        "thousands": thousands.most_common(1)[0][0] if thousands else None,
    }


def learn_vocabulary(facts: list[Fact]) -> dict[str, Any]:
    zones: list[str] = []
    for fact in facts:
        if fact.kind == "delivery":
            zones += [z for z in fact.attributes.get("zones", "").split(", ") if z]
    prefixes: Counter[str] = Counter()
    products: Counter[str] = Counter()
    for fact in facts:
        if fact.kind != "offer":
            continue
        for value in fact.attributes.values():
            label = _LABEL_PREFIX.match(value.strip())
            if label and fact.size:
                prefixes[label.group(1).upper()] += 1
        products.update(t for t in tokens(fact.subject) if not t.isdigit() and len(t) > 2)
    return {
        "zones": sorted(set(zones), key=fold),
        "size_prefixes": [p for p, _ in prefixes.most_common(3)],
        "product_terms": [t for t, _ in products.most_common(40)],
    }
