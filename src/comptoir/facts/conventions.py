"""What a company's own documents say about how it writes: its currency, what "$" means to it, its size
labels ("T4"), its zone names and product words; nothing of one company leaks into another's.

All of it is counted: each document's counts (its `Evidence`) are kept with the document, and the
company's conventions are read from their sum, so a new document adds its counts instead of making the
whole company be read again."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from comptoir.facts.extract import Fact
from comptoir.facts.money import Conventions, currency_marks, number_styles
from comptoir.text import fold, tokens

_CAD = re.compile(r"\bCAD\b|\$\s?CA\b|\bCA\s?\$|\$can\b|canad", re.I)
_USD = re.compile(r"\bUSD\b|\bUS\s?\$", re.I)
_LABEL_PREFIX = re.compile(r"^([A-Za-z]{1,3})\s?\d{1,2}$")


#: the counters of an Evidence, by their name in its JSON form
COUNTERS = ("marks", "dollars", "decimals", "thousands", "zones", "prefixes", "products")


@dataclass
class Evidence:
    """Counts from one document (or, summed, a company): currency marks ("$" unresolved), mentions of
    Canadian or US dollars, decimal and thousands separators of amounts; from its facts, delivery zones,
    size-label prefixes and product words."""

    marks: Counter[str] = field(default_factory=Counter)
    dollars: Counter[str] = field(default_factory=Counter)
    decimals: Counter[str] = field(default_factory=Counter)
    thousands: Counter[str] = field(default_factory=Counter)
    zones: Counter[str] = field(default_factory=Counter)
    prefixes: Counter[str] = field(default_factory=Counter)
    products: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, texts: Iterable[str], facts: Iterable[Fact] = ()) -> Evidence:
        evidence = cls()
        for text in texts:
            evidence.marks.update(currency_marks(text))
            evidence.dollars.update({"CAD": len(_CAD.findall(text)), "USD": len(_USD.findall(text))})
            for decimal, grouping in number_styles(text):
                if decimal:
                    evidence.decimals[decimal] += 1
                if grouping:
                    evidence.thousands[grouping] += 1
        for fact in facts:
            if fact.kind == "delivery":
                evidence.zones.update(z for z in fact.attributes.get("zones", "").split(", ") if z)
            elif fact.kind == "offer":
                for value in fact.attributes.values():
                    label = _LABEL_PREFIX.match(value.strip())
                    if label and fact.size:
                        evidence.prefixes[label.group(1).upper()] += 1
                evidence.products.update(t for t in tokens(fact.subject) if not t.isdigit() and len(t) > 2)
        return evidence

    @classmethod
    def from_counts(cls, rows: Iterable[tuple[str, str, int]]) -> Evidence:
        """From (counter, key, count) rows, as the database sums them."""
        evidence = cls()
        for name, key, count in rows:
            if name in COUNTERS:
                getattr(evidence, name)[key] += int(count)
        return evidence

    @classmethod
    def from_json(cls, counts: dict[str, dict[str, int]]) -> Evidence:
        return cls(**{name: Counter(counts.get(name, {})) for name in COUNTERS})

    def as_json(self) -> dict[str, dict[str, int]]:
        return {name: {k: n for k, n in getattr(self, name).items() if n} for name in COUNTERS}

    def conventions(self) -> Conventions:
        marks = Counter(self.marks)
        dollar = "CAD" if self.dollars["CAD"] > self.dollars["USD"] else "USD"
        if "$" in marks:
            marks[dollar] += marks.pop("$")
        if not +marks:
            return Conventions(dollar=dollar)
        return Conventions(currency=_most_common(marks, 1)[0], dollar=dollar)

    def number_format(self) -> dict[str, str | None]:
        """How the company writes numbers: '3,20' or '3.20'; '24 000', '24.000' or '24,000'."""
        decimal, thousands = _most_common(self.decimals, 1), _most_common(self.thousands, 1)
        return {"decimal": decimal[0] if decimal else None, "thousands": thousands[0] if thousands else None}

    def vocabulary(self) -> dict[str, Any]:
        return {
            "zones": sorted((z for z, n in self.zones.items() if n), key=fold),
            "size_prefixes": _most_common(self.prefixes, 3),
            "product_terms": _most_common(self.products, 40),
        }


def _most_common(counter: Counter[str], n: int) -> list[str]:
    """The n most frequent keys; ties go to the key that sorts first, so a sum read in any order gives
    the same answer."""
    return [key for key, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n] if count > 0]


def learn_conventions(texts: list[str]) -> Conventions:
    return Evidence.of(texts).conventions()
