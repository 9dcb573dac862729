"""XLSX sheets as Markdown, cells written as the sheet shows them (number and date formats)."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import lru_cache
from typing import Any

import openpyxl

from comptoir.ingest.office.limits import OfficeLimits, _CellBudget, _Clock
from comptoir.ingest.office.tables import _add_row, _table_markdown

THOUSANDS_SEPARATOR = " "
DECIMAL_SEPARATOR = "."


# --------------------------------------------------------------------------------------------- XLSX


def _xlsx(name: str, data: bytes, limits: OfficeLimits, clock: _Clock) -> str:
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheets = []
        budget = _CellBudget(name, limits.max_cells)
        for sheet in workbook.worksheets:
            if sheet.sheet_state != "visible":
                continue  # a hidden sheet is the owner's working data (costs, margins), not for customers
            body = _table_markdown(_sheet_rows(sheet, budget, clock))
            if body:
                sheets.append(f"# {' '.join(str(sheet.title).split())}\n\n{body}")
        return "\n\n".join(sheets)
    finally:
        workbook.close()


def _sheet_rows(sheet: Any, budget: _CellBudget, clock: _Clock) -> list[list[dict[int, str]]]:
    """The sheet's non-empty rows as blocks (a block ends at an empty row), each row {column: text}."""
    sheet.reset_dimensions()  # a declared A1:XFD1048576 would otherwise pad every row to 16,384 cells
    blocks: list[list[dict[int, str]]] = [[]]
    for row in sheet.iter_rows():
        clock.check()
        budget.spend(len(row))
        cells: dict[int, str] = {}
        for column, cell in enumerate(row, start=1):
            if cell.value is not None:
                text = cell_text(cell)
                if text:
                    cells[column] = text
        _add_row(blocks, cells)
    return [block for block in blocks if block]


def cell_text(cell: Any) -> str:
    """A spreadsheet cell as the sheet shows it."""
    value = cell.value
    if value is None or getattr(cell, "data_type", None) == "e":
        return ""  # error values (#N/A, #DIV/0!) say nothing to a customer
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    fmt = str(getattr(cell, "number_format", None) or "General")
    if isinstance(value, int | float):
        return format_number(value, fmt)
    if isinstance(value, dt.datetime | dt.date | dt.time | dt.timedelta):
        return format_date(value, fmt)
    return str(value).strip()


# ---------------------------------------------------------------------------------- number formats

_CONDITION = re.compile(r"\[[<>=]")
_MAX_FORMAT_CHARS = 255  # Excel's own limit; a longer one is not worth reading cell by cell
_MAX_DECIMALS = 30  # Excel's own limit too


@lru_cache(maxsize=512)
def _sections(fmt: str) -> tuple[str, ...]:
    """The ;-separated sections of a number format, quotes and escapes respected."""
    sections: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in fmt:
        if escaped:
            escaped = False
        elif char == "\\" and not quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            sections.append("".join(current))
            current = []
            continue
        current.append(char)
    sections.append("".join(current))
    return tuple(sections)


@lru_cache(maxsize=512)
def _tokens(section: str) -> tuple[tuple[str, str], ...]:
    """A number-format section as (kind, text): lit, num (a placeholder: 0 # ? . , %), exp, general,
    bracket (locale, colour, elapsed time), at (@)."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(section):
        char = section[i]
        if char == '"':
            end = section.find('"', i + 1)
            end = len(section) if end < 0 else end
            out.append(("lit", section[i + 1 : end]))
            i = end + 1
        elif char == "\\":
            out.append(("lit", section[i + 1 : i + 2]))
            i += 2
        elif char == "_":
            out.append(("lit", " "))  # the width of the next character, as a space
            i += 2
        elif char == "*":
            i += 2  # fill with the next character: nothing in text
        elif char == "[":
            end = section.find("]", i)
            end = len(section) if end < 0 else end
            inner = section[i + 1 : end]
            if inner.startswith("$"):
                out.append(("lit", inner[1:].split("-")[0]))  # [$€-40C]: the symbol, then a locale
            out.append(("bracket", inner))
            i = end + 1
        elif section[i : i + 7].lower() == "general":
            out.append(("general", ""))
            i += 7
        elif char in "0#?.,%":
            out.append(("num", char))
            i += 1
        elif char in "Ee" and section[i + 1 : i + 2] in ("+", "-") and i + 1 < len(section):
            out.append(("exp", section[i : i + 2]))
            i += 2
        elif char == "@":
            out.append(("at", char))
            i += 1
        else:
            out.append(("lit", char))
            i += 1
    return tuple(out)


def _general(value: float | int) -> str:
    """Excel's General format without its scientific notation: 45000.0 → 45000, 0.1 + 0.2 → 0.3."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer():
        return str(int(value))
    return format(Decimal(f"{value:.15g}"), "f").replace(".", DECIMAL_SEPARATOR)


def _group(digits: str) -> str:
    head = len(digits) % 3 or 3
    return THOUSANDS_SEPARATOR.join(
        [digits[:head], *(digits[i : i + 3] for i in range(head, len(digits), 3))]
    )


def _digits(number: Decimal, pattern: str) -> str:
    """``number`` (not negative) written with a digit pattern such as "#,##0.00"."""
    integer, _, fraction = pattern.partition(".")
    most = min(sum(c in "0#?" for c in fraction), _MAX_DECIMALS)
    least = min(fraction.count("0") + fraction.count("?"), most)
    with localcontext() as context:
        context.prec = 400  # room for a float's 309 digits and 30 decimals: quantize never fails
        text = f"{number.quantize(Decimal(1).scaleb(-most), rounding=ROUND_HALF_UP):f}"
    whole, _, decimals = text.partition(".")
    decimals = decimals.rstrip("0").ljust(least, "0") if most else ""
    least_whole = integer.count("0")
    if whole == "0" and least_whole == 0:
        whole = ""
    whole = whole.zfill(least_whole)
    if "," in integer.strip(","):
        whole = _group(whole)
    return whole + (DECIMAL_SEPARATOR + decimals if decimals else "")


def _scientific(number: Decimal, pattern: str, exponent: str) -> str:
    """``number`` as "1.23E+04": the mantissa's decimals from ``pattern``, the exponent's digits from
    ``exponent`` ("E+00")."""
    decimals = min(sum(c in "0#?" for c in pattern.partition(".")[2]), _MAX_DECIMALS)
    mantissa, _, power = f"{float(number):.{decimals}E}".partition("E")
    sign = "-" if power.startswith("-") else ("+" if exponent[1] == "+" else "")
    digits = str(abs(int(power))).zfill(min(max(len(exponent) - 2, 1), 3))
    return mantissa.replace(".", DECIMAL_SEPARATOR) + exponent[0] + sign + digits


def format_number(value: float | int, fmt: str) -> str:
    """A number as a cell with number format ``fmt`` shows it: the common formats (grouping, decimals,
    percent, scaling commas, scientific, literal text, sections for negative numbers and zero);
    conditional formats and anything unreadable fall back to General."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if len(fmt) > _MAX_FORMAT_CHARS or _CONDITION.search(fmt):
        return _general(value)
    sections = _sections(fmt)
    sign = ""
    if value < 0 and len(sections) > 1 and sections[1].strip():
        section, value = sections[1], -value  # the negative section writes its own sign
    elif value == 0 and len(sections) > 2 and sections[2].strip():
        section = sections[2]
    else:
        section = sections[0]
        if value < 0:
            sign, value = "-", -value
    tokens = _tokens(section)
    kinds = {kind for kind, _ in tokens}
    cut = next((i for i, (kind, _) in enumerate(tokens) if kind == "exp"), len(tokens))
    pattern = "".join(text for kind, text in tokens[:cut] if kind == "num")
    if "general" in kinds or not pattern.replace("%", "").strip(".,"):
        if "general" not in kinds and "num" not in kinds and "at" not in kinds and section.strip():
            return "".join(text for kind, text in tokens if kind == "lit").strip()  # '"-"' for zero
        number = _general(value)
    else:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        amount *= Decimal(100) ** pattern.count("%")
        pattern = pattern.replace("%", "")
        while pattern.endswith(","):  # "#,##0," shows thousands
            pattern = pattern[:-1]
            amount /= 1000
        if cut < len(tokens):
            exponent = tokens[cut][1] + "".join(text for _, text in tokens[cut + 1 :] if text == "0")
            number = _scientific(amount, pattern, exponent)
        else:
            number = _digits(amount, pattern)
    out, placed = [], False
    for index, (kind, text) in enumerate(tokens):
        if kind == "lit":
            out.append(text)
        elif kind == "num" and text == "%":
            out.append("%")
        elif kind in ("num", "general", "exp") and not placed and (kind != "num" or index < cut):
            out.append(number)
            placed = True
    if not placed:
        out.append(number)
    return (sign + "".join(out)).strip()


# ------------------------------------------------------------------------------------ date formats

_MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "fr": [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
}
_MONTHS_SHORT = {
    "en": [m[:3] for m in _MONTHS["en"]],
    "fr": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
}
_DAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
}
_DAYS_SHORT = {
    "en": [d[:3] for d in _DAYS["en"]],
    "fr": ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."],
}
#: built-in formats that Excel shows in the reader's own short-date style: written as ISO dates
_LOCAL_SHORT = {"mm-dd-yy": "yyyy-mm-dd", "m/d/yy h:mm": "yyyy-mm-dd hh:mm"}
_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|_.|\*.|\[\$[^\]]*\]|\[h+\]|\[m+\]|\[s+\]|\[[^\]]*\]|am/pm|a/p|yyyy|yyy|yy|y'
    r"|mmmmm|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|\.0+|.",
    re.IGNORECASE | re.DOTALL,
)
_EPOCH = dt.datetime(1899, 12, 30)


def _language(section: str) -> str:
    """French where the format names a French locale ([$-40C], [$€-80C]), else English."""
    match = re.search(r"\[\$[^\]-]*-([0-9A-Fa-f]+)\]", section)
    return "fr" if match and int(match.group(1), 16) & 0x3FF == 0x0C else "en"


def format_date(value: dt.datetime | dt.date | dt.time | dt.timedelta, fmt: str) -> str:
    """A date or time as a cell with number format ``fmt`` shows it; ISO 8601 where the format shows
    no date part."""
    if isinstance(value, dt.timedelta):
        moment, elapsed = _EPOCH + value, value.total_seconds()
    elif isinstance(value, dt.datetime):
        moment = value
        elapsed = (value - _EPOCH).total_seconds()
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
        elapsed = (moment - _EPOCH).total_seconds()
    else:
        moment = dt.datetime.combine(_EPOCH.date(), value)
        elapsed = (moment - _EPOCH).total_seconds()
    section = _sections(fmt)[0] if len(fmt) <= _MAX_FORMAT_CHARS else ""
    section = _LOCAL_SHORT.get(section.strip().lower(), section)
    tokens = _DATE_TOKEN.findall(section)
    if not any(_is_field(token) for token in tokens):
        if isinstance(value, dt.time):
            return value.isoformat()
        return moment.isoformat(sep=" ")[: 10 if moment.time() == dt.time() else 19]
    language = _language(section)
    twelve = any(t.lower() in ("am/pm", "a/p") for t in tokens)
    out: list[str] = []
    for index, token in enumerate(tokens):
        low = token.lower()
        if low.startswith('"'):
            out.append(token[1:-1])
        elif low.startswith("\\"):
            out.append(token[1:])
        elif low.startswith("_"):
            out.append(" ")
        elif low.startswith("*") or (low.startswith("[") and not low.startswith(("[h", "[m", "[s"))):
            if low.startswith("[$"):
                out.append(token[2:-1].split("-")[0])
        elif low.startswith("[h"):
            out.append(str(int(elapsed // 3600)).zfill(len(low) - 2))
        elif low.startswith("[m"):
            out.append(str(int(elapsed // 60)).zfill(len(low) - 2))
        elif low.startswith("[s"):
            out.append(str(int(elapsed)).zfill(len(low) - 2))
        elif low in ("am/pm", "a/p"):
            mark = ("AM", "PM")[moment.hour >= 12][: 2 if low == "am/pm" else 1]
            out.append(mark if token[0].isupper() else mark.lower())
        elif low[0] == "y":
            out.append(str(moment.year) if len(low) > 2 else f"{moment.year % 100:02d}")
        elif low[0] == "m":
            if len(low) <= 2 and _is_minute(tokens, index):
                out.append(f"{moment.minute:0{len(low)}d}")
            elif len(low) <= 2:
                out.append(f"{moment.month:0{len(low)}d}")
            elif len(low) == 3:
                out.append(_MONTHS_SHORT[language][moment.month - 1])
            elif len(low) == 4:
                out.append(_MONTHS[language][moment.month - 1])
            else:
                out.append(_MONTHS[language][moment.month - 1][0])
        elif low[0] == "d":
            if len(low) <= 2:
                out.append(f"{moment.day:0{len(low)}d}")
            elif len(low) == 3:
                out.append(_DAYS_SHORT[language][moment.weekday()])
            else:
                out.append(_DAYS[language][moment.weekday()])
        elif low[0] == "h":
            hour = (moment.hour % 12 or 12) if twelve else moment.hour
            out.append(f"{hour:0{min(len(low), 2)}d}")
        elif low[0] == "s":
            out.append(f"{moment.second:0{min(len(low), 2)}d}")
        elif low.startswith(".0") and len(low) > 1:
            out.append(DECIMAL_SEPARATOR + f"{moment.microsecond:06d}"[: len(low) - 1])
        else:
            out.append(token)
    return "".join(out).strip()


def _is_field(token: str) -> bool:
    low = token.lower()
    return low[:1] in ("y", "m", "d", "h", "s") or low.startswith(("[h", "[m", "[s"))


def _is_minute(tokens: list[str], index: int) -> bool:
    """An m or mm is minutes right after hours or right before seconds (literals between ignored)."""
    for step, wanted in ((-1, "h"), (1, "s")):
        i = index + step
        while 0 <= i < len(tokens):
            if _is_field(tokens[i]):
                return tokens[i].lower().lstrip("[")[:1] == wanted
            i += step
    return False
