"""JSON at any depth as records.

An object's scalar fields make one record. A list of objects makes one record per item, and each item
inherits its parents' context: the path of keys and names above it ("Shampooings" for the products of
that category) and the codes its parents declare for everything below them (a currency "EUR"). A small
object of scalars inside an item reads as one value ({"valeur": 250, "unite": "ml"} → "250 ml"; {"montant":
18.90, "devise": "EUR"} → "18.90 EUR"); a list of scalars as a list ("secs, bouclés"). Numbers keep the
digits they were written with (18.90 stays 18.90).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from comptoir.errors import InvalidInput, PayloadTooLarge
from comptoir.ingest.limits import InputLimits
from comptoir.ingest.records import Block, Record, humanize

#: a small object of at most this many scalars reads as one value
_VALUE_FIELDS = 3
#: a code declared by a parent for its children: "EUR", "CAD", "XOF"
_CODE = re.compile(r"^[A-Z]{3}$")
_NAME_KEYS = ("nom", "name", "titre", "title", "libelle", "label", "designation", "produit", "article")


def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, Decimal | int | float):
        return str(value)
    return " ".join(str(value).split()) if value is not None else ""


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | Decimal)


def _has_digit(value: Any) -> bool:
    return any(c.isdigit() for c in scalar(value))


def _as_value(value: Any) -> str | None:
    """A scalar, a list of scalars, or a small object holding one figure and its unit ({"valeur": 250,
    "unite": "ml"}) as one value; None for structure (an object of several figures is a set of
    variants, whose labels matter)."""
    if _is_scalar(value):
        return scalar(value)
    if isinstance(value, list) and all(_is_scalar(v) for v in value):
        return ", ".join(s for s in (scalar(v) for v in value) if s)
    if (
        isinstance(value, dict)
        and 0 < len(value) <= _VALUE_FIELDS
        and all(_is_scalar(v) for v in value.values())
        and sum(_has_digit(v) for v in value.values()) <= 1
    ):
        return " ".join(s for s in (scalar(v) for v in value.values()) if s)
    return None


def _is_name_key(key: str) -> bool:
    """A key that names a thing ("Pantalon seul", "Espresso") rather than a field or a variant
    ("prix", "mise_a_jour", "en bazin"): written with a capital, as a name is."""
    key = key.strip()
    return bool(key) and key[0].isupper() and "_" not in key


def _is_variants(value: Any) -> bool:
    """An object of scalars of which several are figures: {"simple": "4 000 F", "brodée": "7 500 F"}."""
    return (
        isinstance(value, dict)
        and all(_is_scalar(v) for v in value.values())
        and sum(_has_digit(v) for v in value.values()) >= 2
    )


def _is_item_map(data: dict[str, Any]) -> bool:
    """An object whose keys are the names of things and whose values are their prices or variants:
    {"Pantalon seul": "3 500 F", "Grand boubou": {"en bazin": "26 000 F", "en wax": "19 000 F"}}."""
    named = [
        k
        for k, v in data.items()
        if _is_name_key(k) and (_has_digit(v) if _is_scalar(v) else _is_variants(v))
    ]
    return len(named) >= 2 and len(named) * 2 > len(data)


def _name_of(obj: dict[str, Any]) -> str:
    for key, value in obj.items():
        if key.lower() in _NAME_KEYS and isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def read_tree(
    data: Any, context: tuple[str, ...] = (), *, limits: InputLimits | None = None, name: str = "JSON"
) -> list[Block]:
    """The records of a parsed JSON value, within ``limits`` (depth, records, fields of an object)."""
    out: list[Block] = []
    _walk(data, context, (), out, depth=0, budget=_Budget(limits or InputLimits(), name))
    return out


class _Budget:
    """The limits of one walk, checked as it goes: a million items stop at the first one too many."""

    def __init__(self, limits: InputLimits, name: str) -> None:
        self.limits = limits
        self.name = name

    def check(self, data: Any, out: list[Block], depth: int) -> None:
        limits = self.limits
        if depth > limits.max_json_depth:
            raise InvalidInput(
                f"{self.name}: JSON nested deeper than {limits.max_json_depth} levels "
                "(COMPTOIR_MAX_JSON_DEPTH)"
            )
        listed = len(data) if isinstance(data, list) else 0
        if len(out) + listed > limits.max_items_per_document:
            raise PayloadTooLarge(
                f"{self.name}: more than {limits.max_items_per_document} records; split it into smaller "
                "documents (COMPTOIR_MAX_ITEMS_PER_DOCUMENT)"
            )
        if isinstance(data, dict) and len(data) > limits.max_fields_per_record:
            raise PayloadTooLarge(
                f"{self.name}: an object has {len(data)} fields, more than the "
                f"{limits.max_fields_per_record} allowed (COMPTOIR_MAX_FIELDS_PER_RECORD)"
            )


def _walk(
    data: Any,
    context: tuple[str, ...],
    inherited: tuple[tuple[str, str], ...],
    out: list[Block],
    *,
    depth: int,
    budget: _Budget,
) -> None:
    budget.check(data, out, depth)
    if isinstance(data, list):
        scalars = [scalar(v) for v in data if _is_scalar(v)]
        if scalars and len(scalars) == len(data):
            out.extend(Record((("", s),), context) for s in scalars if s)
            return
        for item in data:
            _walk(item, context, inherited, out, depth=depth + 1, budget=budget)
        return
    if not isinstance(data, dict):
        text = scalar(data)
        if text:
            out.append(Record((("", text),), context))
        return
    if _is_item_map(data):
        for key, value in data.items():
            if _is_scalar(value):
                out.append(Record((("", key), ("", scalar(value)), *inherited), context))
            elif _is_variants(value) and not _is_item_map(value):
                variants = tuple((label, scalar(v)) for label, v in value.items() if scalar(v))
                out.append(Record((("", key), *variants, *inherited), context))
            else:
                _walk(value, (*context, humanize(key)), inherited, out, depth=depth + 1, budget=budget)
        return
    fields: list[tuple[str, str]] = []
    nested: list[tuple[str, Any]] = []
    for key, value in data.items():
        flat = _as_value(value)
        if flat is None:
            nested.append((key, value))
        elif flat:
            fields.append((key, flat))
    codes = tuple((k, v) for k, v in fields if _CODE.match(v))
    name = _name_of(data)
    if fields and not (nested and len(fields) == 1 and fields[0][1] == name):  # a bare name: context only
        own = tuple(fields) + tuple(c for c in inherited if c[0] not in {k for k, _ in fields})
        out.append(Record(own, context))
    below = (*context, name) if name and nested else context
    for key, value in nested:
        if _is_variants(value) and not _is_item_map(value):  # "Boubou": {"en bazin": …, "en wax": …}
            variants = tuple((label, scalar(v)) for label, v in value.items() if scalar(v))
            out.append(Record((("", humanize(key)), *variants, *inherited, *codes), below))
        else:
            _walk(value, (*below, humanize(key)), inherited + codes, out, depth=depth + 1, budget=budget)
