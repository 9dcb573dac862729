"""Facts from a document's chunks: offers, delivery zones, contacts, opening hours, payment methods.

Catalog records ("Produit: Couches; Taille: T4; Quantité: Lot de 300; Prix: 45 000 F") are read field by
field, whatever the column names: the price is the field holding an amount (or, without a currency
mark, a field whose header names a price or a currency); lots and sizes are recognised in the values.
Prose is read line by line, with its heading as context. The words used to recognise a delivery, a lot
or opening hours are words of the customer's language (French and English), never of one company.
Every fact keeps the verbatim source text it came from, so an answer can quote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from comptoir.facts.money import Conventions, Money, find_amounts, parse_amount
from comptoir.ingest.records import split_line
from comptoir.text import split_chunk

Kind = Literal["offer", "delivery", "contact", "hours", "payment"]
KINDS: tuple[Kind, ...] = ("offer", "delivery", "contact", "hours", "payment")

_PRICE_HEADER = re.compile(
    r"prix|price|tarif|co[uû]t|cost|montant|amount|\b(?:cad|eur|xof|fcfa|usd)\b|[€$]", re.I
)
_SIZE_HEADER = re.compile(r"taille|size|pointure|format", re.I)
_QTY_HEADER = re.compile(r"quantit|qt[eé]|qty|lot|conditionnement|pack", re.I)
_LOT = re.compile(
    r"\b(?:lot|paquet|pack|carton|bo[iî]te|sachet|bundle|box|case)s?\s+(?:de\s+|of\s+)?(\d+)\b"
    r"(?!\s*(?:g|kg|mg|ml|cl|l|oz|lb)\b)"
    r"|\b(\d+)\s*(?:parts?|pi[eè]ces?|pcs|unit[eé]s?|couches|paquets|pack)\b",
    re.I,
)
_SIZE_LABEL = re.compile(r"^(?:t|taille|size|s)\s?(\d{1,2})$", re.I)
_DELIVERY = re.compile(r"livr|delivery|deliver|shipping|exp[eé]di|envoi|frais de port|ramassage", re.I)
_DELAY = re.compile(
    r"(?:en|sous|within|in)\s+\d+\s*(?:(?:à|-|to)\s*\d+\s*)?"
    r"(?:h\b|heures?|hours?|jours?(?: ouvrables)?|days?|minutes?)"
    r"|le jour m[eê]me|le lendemain|same day|next day|\d+\s*(?:à|-)\s*\d+\s*(?:heures|jours)",
    re.I,
)
_HOURS = re.compile(r"ouvert|ferm[ée]|horaire|heures d'ouverture|open|closed|hours", re.I)
_DAYS = re.compile(
    r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday|friday|saturday|sunday",
    re.I,
)
_TIME = re.compile(r"\b\d{1,2}\s?h(?:\s?\d{2})?\b|\b\d{1,2}:\d{2}\b|\b\d{1,2}\s?(?:am|pm)\b", re.I)
_PAYMENT = re.compile(
    r"paiement|payer|pay[eé]|accept|carte bancaire|esp[eè]ces|comptant|ch[eè]que|payment|\bpay\b|cash|"
    r"mobile money|interac|visa|mastercard|titres?-restaurant",
    re.I,
)
_PHONE = re.compile(r"(?<![\w])(?:\+\d{1,3}[\s.-]?)?(?:\(?\d{2,4}\)?[\s.-]){1,5}\d{2,4}(?![\w])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_CONTACT = re.compile(
    r"t[ée]l|phone|appel|whatsapp|texto|sms|contact|num[ée]ro|joindre|call|courriel|e-?mail", re.I
)
_ZONE_NOISE = re.compile(
    r"^(?:frais\s+(?:de\s+|d['’])?\w+|livraisons?|delivery|shipping|exp[eé]dition|envoi|tarifs?)\b"
    r"\s*(?:(?:à|a|au|aux|en|to|pour|sur)(?!\w)|:)?\s*",
    re.I,
)


@dataclass
class Fact:
    kind: Kind
    subject: str
    text: str
    ordinal: int
    amount: Decimal | None = None
    currency: str | None = None
    quantity: int | None = None
    size: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


def parse_record(text: str) -> dict[str, str] | None:
    """The labelled values of a record's line, its name under "" (see ``comptoir.ingest.records``):
    "Reine — Petite : 9 € ; Grande : 13 €" → {"": "Reine", "Petite": "9 €", "Grande": "13 €"}; the
    older "a: 1; b: 2" form too. None for prose or an unlabelled line."""
    if "\n" in text:
        return None
    split = split_line(text)
    if split is not None and any(label for label, _ in split[1]):
        name, values = split
        return {"": name} | {label or f"#{i}": value for i, (label, value) in enumerate(values)}
    fields = {}
    for part in text.split("; "):
        key, found, value = part.partition(": ")
        if not found:
            return None
        fields[key.strip()] = value.strip()
    return fields if len(fields) >= 2 else None


def size_of(value: str) -> str | None:
    """'T4' → '4', 'taille 4' → '4', '4' → '4', 'XL' → 'xl'."""
    label = _SIZE_LABEL.match(value.strip())
    if label:
        return label.group(1)
    stripped = value.strip().lower()
    if stripped.isdigit() and len(stripped) <= 2:
        return stripped
    if re.fullmatch(r"x{0,3}[sml]|xxl|xxxl", stripped):
        return stripped
    return None


def quantity_of(text: str) -> int | None:
    match = _LOT.search(text)
    if match:
        return int(match.group(1) or match.group(2))
    return None


def _offer_from_record(
    fields: dict[str, str], text: str, ordinal: int, conventions: Conventions
) -> Fact | None:
    price: Money | None = None
    price_key = None
    for key, value in fields.items():
        found = parse_amount(value, conventions, bare_ok=bool(_PRICE_HEADER.search(key)))
        if found is not None and (price is None or _PRICE_HEADER.search(key)):
            price, price_key = found, key
            if _PRICE_HEADER.search(key):
                break
    if price is None:
        return None
    size = quantity = None
    for key, value in fields.items():
        if key == price_key:
            continue
        if size is None and (_SIZE_HEADER.search(key) or _SIZE_LABEL.match(value)):
            size = size_of(value)
        if quantity is None and (_QTY_HEADER.search(key) or _LOT.search(value)):
            quantity = quantity_of(value) or (int(value) if value.isdigit() else None)
    subject = " ".join(value for key, value in fields.items() if key != price_key)
    return Fact("offer", subject, text, ordinal, price.amount, price.currency, quantity, size, dict(fields))


def _zones(before: str) -> list[str]:
    """'Koumassi et Port-Bouët' → ['Koumassi', 'Port-Bouët']; 'Cocody (Riviera, Angré)' → ['Cocody',
    'Riviera', 'Angré']; '' when the text is a sentence rather than a place."""
    text = _ZONE_NOISE.sub("", before.strip(" -*•:")).strip(" :,-")
    if not text or len(text.split()) > 8:
        return []
    inner = re.findall(r"\(([^)]*)\)", text)
    head = re.sub(r"\([^)]*\)", "", text)
    names = re.split(r"\s*(?:,|/|\bet\b|\band\b|&)\s*", head)
    for group in inner:
        names += re.split(r"\s*(?:,|/|\bet\b|\band\b)\s*", group)
    return [name.strip(" .") for name in names if name.strip(" .") and len(name.split()) <= 4]


def _from_line(line: str, heading: str, ordinal: int, conventions: Conventions) -> list[Fact]:
    context = f"{heading} {line}"
    facts: list[Fact] = []
    amounts = list(find_amounts(line, conventions))
    if amounts and _DELIVERY.search(context):
        money = amounts[0]
        delay = _DELAY.search(line)
        zones = _zones(
            line[: money.start].split(":")[0] if ":" in line[: money.start] else line[: money.start]
        )
        attributes = {"zones": ", ".join(zones)} if zones else {}
        if delay:
            attributes["delay"] = delay.group(0)
        facts.append(
            Fact(
                "delivery",
                zones[0] if zones else "",
                line,
                ordinal,
                money.amount,
                money.currency,
                attributes=attributes,
            )
        )
    elif amounts:
        money = amounts[0]
        size = next((s for s in (size_of(w) for w in re.findall(r"\b[Tt]\d{1,2}\b", line)) if s), None)
        facts.append(
            Fact(
                "offer",
                line[: money.start].strip(" :-"),
                line,
                ordinal,
                money.amount,
                money.currency,
                quantity_of(line),
                size,
            )
        )
    if _HOURS.search(context) and (_DAYS.search(line) or _TIME.search(line)):
        facts.append(Fact("hours", heading, line, ordinal))
    if _PAYMENT.search(line) or (_PAYMENT.search(heading) and not amounts):
        facts.append(Fact("payment", heading, line, ordinal))
    if _EMAIL.search(line) or (
        _CONTACT.search(context) and any(len(re.sub(r"\D", "", m)) >= 8 for m in _PHONE.findall(line))
    ):
        channel = "whatsapp" if "whatsapp" in line.lower() else ("email" if _EMAIL.search(line) else "phone")
        facts.append(Fact("contact", channel, line, ordinal))
    return facts


def extract_facts(chunks: list[str], conventions: Conventions) -> list[Fact]:
    """Facts of a company's chunks. A labelled record gives an offer read field by field (unless its
    context is a delivery list: a zone and its fee read as a line); everything else is read line by
    line with its heading as context."""
    facts: list[Fact] = []
    for ordinal, chunk in enumerate(chunks):
        heading, body = split_chunk(chunk, sentences=False)
        record = parse_record(body[0]) if len(body) == 1 else None
        if record is not None and not _DELIVERY.search(f"{heading} {body[0]}"):
            offer = _offer_from_record(record, body[0], ordinal, conventions)
            if offer is not None:
                facts.append(offer)
                continue
        heading, lines = split_chunk(chunk)
        for line in lines:
            facts.extend(_from_line(line, heading, ordinal, conventions))
    return facts
