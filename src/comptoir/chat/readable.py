"""A record's line as a customer reads it, narrowed to what the question names.

Records render as "name — label : value ; label : value" (see ``comptoir.ingest.records``). For an
answer, a labelled record is first narrowed to the values the question names ("la grande" → only the
"Grande" price), then said as a sentence: what it is and its short qualifiers, then its amounts, then
longer notes ("Pull, Laine Douce, taille M : 59 €").
"""

from __future__ import annotations

import re

from comptoir.ingest.records import LABEL_SEPARATOR, NAME_SEPARATOR, VALUE_SEPARATOR, split_line
from comptoir.text import CURRENCY_MARK, tokens


def has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _unit(value: str) -> str:
    """What a value counts in: "9,95 $" → "$", "5 L" → "l", "33500" → ""."""
    return "".join(c for c in value.lower() if not c.isdigit() and c not in " .,'’\u202f\u00a0")


_PRICE_LABEL = re.compile(r"prix|price|tarif|co[uû]t|cost|montant|amount", re.IGNORECASE)
_QUALIFIER_WORDS = 3
_PRICE_WORDS = frozenset(tokens("prix price tarif cout montant amount euro dollar"))
_BARE_NUMBER = re.compile(r"\d[\d\s.,]*")


def _plain_price(label: str, value: str, *, alone: bool) -> bool:
    """Whether a price reads without its label: the only one, labelled "prix" or with its currency."""
    extra = {t for t in tokens(label) - _PRICE_WORDS if not CURRENCY_MARK.fullmatch(t)}
    return alone and bool(_PRICE_LABEL.search(label)) and not extra


def _say(label: str, value: str) -> str:
    """ "neuf 47 000"; "prix carton de 6 : 79,00 €" (a colon where a label's number would run on)."""
    if not label:
        return value
    return f"{label.lower()}{' :' if label[-1:].isdigit() else ''} {value}"


def readable(line: str) -> str:
    """A record's line as a customer reads it: what it is, its short qualifiers, then its amounts, and
    longer notes last: "Pull, Laine Douce — taille : M ; prix : 59 €" → "Pull, Laine Douce, taille M :
    59 €". Other lines are returned as they are."""
    split = split_line(line)
    if split is None:
        return line
    name, parts = split
    amounts, qualifiers, notes = [], [], []
    for label, value in parts:
        money = has_digit(value) and (CURRENCY_MARK.search(value) or _PRICE_LABEL.search(label))
        if money or _BARE_NUMBER.fullmatch(value):
            amounts.append((label, value))
        elif len(value.split()) <= _QUALIFIER_WORDS:
            qualifiers.append(f"{label.lower()} {value}".strip())
        else:
            notes.append(f"{label.lower()} : {value}" if label else value)
    if not amounts:
        return line
    alone = len(amounts) == 1
    spoken = [
        value if _plain_price(label, value, alone=alone) else _say(label, value) for label, value in amounts
    ]
    head = ", ".join([name, *qualifiers])
    tail = f" ({' ; '.join(notes)})" if notes else ""
    return f"{head} : {', '.join(spoken)}{tail}"


#: the share of a label's words a question must hold to name it
LABEL_SHARE = 0.75
_BRACKETS = re.compile(r"\([^)]*\)")


def _label_words(label: str) -> set[str]:
    """The words that name a column: "Journée (9h-19h)" is named by "journée"; its details in brackets
    say more about it, they are not needed to name it."""
    return tokens(_BRACKETS.sub(" ", label)) or tokens(label)


def _named(label: set[str], wanted: set[str]) -> bool:
    return bool(label) and len(label & wanted) >= LABEL_SHARE * len(label)


def narrow(line: str, asked: set[str], followed: set[str]) -> str:
    """A labelled record ("name — Petite : 9,95 $ ; Grande : 15,95 $") narrowed to the values whose
    labels the question names (those of the message first, else of the question it follows); values
    without digits stay. Other lines are returned as they are."""
    split = split_line(line)
    if split is None or not all(label for label, _ in split[1]):
        return line
    name, parts = split
    for wanted in (asked, followed):
        # a label counts as named when the question holds (nearly) all its words ("grande", "location
        # mois", "wax ou Faso Dan Fani"), not some: "vélo électrique" names neither "vélo classique" nor "VAE"
        named = [i for i, (label, _) in enumerate(parts) if _named(_label_words(label), wanted)]
        units = {_unit(parts[i][1]) for i in named if has_digit(parts[i][1])}
        # a value is left out only when it is a sibling of a named one: a figure in the same unit
        dropped = [
            i
            for i, (_, value) in enumerate(parts)
            if i not in named and has_digit(value) and _unit(value) in units
        ]
        if dropped:
            kept = [
                f"{label}{LABEL_SEPARATOR}{value}"
                for i, (label, value) in enumerate(parts)
                if i not in dropped
            ]
            return f"{name}{NAME_SEPARATOR}{VALUE_SEPARATOR.join(kept)}"
    return line
