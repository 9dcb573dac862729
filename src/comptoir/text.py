"""Text helpers shared by ingestion, facts and chat, one floor below all of them: folding, the words of
a question or a line, and the lines of a chunk.

Words are compared lower-cased with accents folded and plural -s/-x dropped; a number glued to its unit
("128go", "800g", "5l") also yields the number and the unit, and the unit's other spellings meet
("litres" = "l", "go" = "gb"), so "5 litres" meets "5 L" and "taille 4" meets "T4". These are words of
the customer's language and units of measure, never words of one company.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")
#: a sentence ends at . ! ? before a capital, a quote or a bracket: "ven. 17h" and "env. 3 jours" are
#: abbreviations, not ends
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-ÖØ-Þ«\"“(¿¡])")
_SENTENCE_ENDS = (".", "!", "?", ":", ";")
_MAX_HEADING = 200
_LABEL = re.compile(r"^[a-z]{1,3}(\d+)$")
_GLUED = re.compile(r"^(\d+)([a-z]{1,4})$")
#: units a number may be glued to ("800g", "128go", "70ah"); "15e" is an ordinal, not a unit
_GLUED_UNITS = frozenset(
    [
        "g",
        "kg",
        "mg",
        "l",
        "ml",
        "cl",
        "dl",
        "go",
        "gb",
        "mo",
        "mb",
        "to",
        "tb",
        "cm",
        "mm",
        "m",
        "km",
        "h",
        "min",
        "mn",
        "ah",
        "mah",
        "w",
        "kw",
        "v",
        "x",
        "oz",
        "po",
    ]
)
STOPWORDS = frozenset(
    word
    for line in (
        "a au aux avec c ce ces cest combien comment d dans de des du elle en est et il j je l la le les",
        "leur m ma mais me mes mon n ne nos notre nous on ou où par pas pour qu quand que quel quelle",
        "quels qui s sa se ses si son sur t ta te tes ton tu un une vos votre vous y",
        "an and are at be can could do does for from have how i in is it of on or the their there this",
        "to what when where which who why will with you your",
        # the verbs a question is built with, in the forms customers use: they say nothing of what is asked
        "peux peut pouvez puis veux veut voulez voudrais voudrait faut faites fait avez ai as suis etes sont",
        "prenez prends prend vas va vais allez dois doit devez",
    )
    for word in line.split()
)
#: spellings of one unit of measure
_UNITS = {
    "litre": "l",
    "litres": "l",
    "liter": "l",
    "liters": "l",
    "lt": "l",
    "millilitre": "ml",
    "millilitres": "ml",
    "gramme": "g",
    "grammes": "g",
    "gr": "g",
    "gram": "g",
    "grams": "g",
    "kilo": "kg",
    "kilos": "kg",
    "kilogramme": "kg",
    "kilogrammes": "kg",
    "gb": "go",
    "giga": "go",
    "gigas": "go",
    "tb": "to",
    "inch": "po",
    "inches": "po",
    "pouce": "po",
    "pouces": "po",
    "ounce": "oz",
    "ounces": "oz",
    "once": "oz",
    "onces": "oz",
    "dollars": "dollar",
    "usd": "dollar",
    "euros": "euro",
    "eur": "euro",
}


#: currency marks as businesses write them after or before an amount (symbols, ISO codes, "F", "FC")
CURRENCY = r"(?:€|\$|£|F|FC|FCFA|F\s?CFA|CFA|XAF|XOF|EUR|USD|CAD|CDF|CHF|GBP|MAD|DH|DA|TND)"
#: a currency mark anywhere in a value, in any case ("9,95 $", "12 750 fcfa")
CURRENCY_MARK = re.compile(rf"[$€£]|\b{CURRENCY}\b", re.IGNORECASE)


def fold(text: str) -> str:
    """Lower case, accents removed: how names are compared ("Port-Bouët" = "port-bouet")."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def _stem(word: str) -> str:
    if len(word) > 3 and word[-1] in "sx" and not word[-2].isdigit():
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Content words of ``text`` in order: folded, without stop words, plural -s/-x dropped, units
    spelled one way; a label mixing letters and a number ("T5", "F24") is followed by the number, a
    number glued to its unit ("128go") by both."""
    out: list[str] = []
    for word in _WORD.findall(fold(text).replace("$", " dollar ").replace("€", " euro ")):
        if word in STOPWORDS:
            continue
        unit = _UNITS.get(word)
        if unit:
            out.append(unit)
            continue
        out.append(_stem(word))
        label = _LABEL.match(word)
        if label:
            out.append(label.group(1))
        glued = _GLUED.match(word)
        if glued and glued.group(2) in _GLUED_UNITS | _UNITS.keys():
            out.append(glued.group(1))
            out.append(_UNITS.get(glued.group(2), glued.group(2)))
    return out


def tokens(text: str) -> set[str]:
    """The set of ``words`` of a text."""
    return set(words(text))


def pairs(text: str) -> set[tuple[str, str]]:
    """Consecutive content words: "braids longues" is in "box braids longues", not "box braids mi-longues"."""
    seq = words(text)
    return set(itertools.pairwise(seq))


_VERB_ENDING = re.compile(r"(?:ions|iez|ons|ez|er)$")


def prefix_match(a: str, b: str) -> bool:
    """Two words of one family: sharing their first five letters ("ouvert", "ouverture"); a verb
    ("livrez", "envoyez") and a word sharing its first four ("livraison", "envoi"); or one cut short
    from the other ("palu", "paludisme"; "dispo", "disponible"). "demain" and "demande", "carte" and
    "carton" are not; numbers never."""
    if a == b or not a[:4].isalpha() or not b[:4].isalpha():
        return False
    if len(a) >= 5 and len(b) >= 5 and a[:5] == b[:5]:
        return True
    if a[:4] == b[:4] and (_VERB_ENDING.search(a) or _VERB_ENDING.search(b)):
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 4 and long.startswith(short)


def split_chunk(text: str, *, sentences: bool = True) -> tuple[str, list[str]]:
    """(heading, lines) of a chunk, each line cut into its sentences unless ``sentences`` is false.
    Chunks start with their context (heading path) on a line of its own (see ingest.chunking); it gives
    context to the lines below it and is not itself an answer."""
    raw = [line.strip() for line in text.splitlines() if line.strip()]
    heading = ""
    if len(raw) > 1 and len(raw[0]) <= _MAX_HEADING and not raw[0].endswith(_SENTENCE_ENDS):
        heading, raw = raw[0], raw[1:]
    lines: list[str] = []
    for line in raw:
        line = line.lstrip("-*• ").strip()
        if sentences:
            lines.extend(s.strip() for s in _SENTENCE.split(line) if s.strip())
        elif line:
            lines.append(line)
    return heading, lines


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


_ENGLISH_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "is",
        "are",
        "do",
        "does",
        "can",
        "could",
        "you",
        "your",
        "we",
        "our",
        "what",
        "how",
        "much",
        "when",
        "where",
        "which",
        "have",
        "has",
        "for",
        "to",
        "of",
        "and",
        "or",
        "with",
        "hi",
        "hello",
        "thanks",
        "thank",
        "please",
        "open",
        "deliver",
        "delivery",
        "price",
    ]
)
_FRENCH_WORDS = frozenset(
    [
        "le",
        "la",
        "les",
        "un",
        "une",
        "des",
        "est",
        "sont",
        "vous",
        "nous",
        "votre",
        "vos",
        "quel",
        "quelle",
        "combien",
        "comment",
        "quand",
        "ou",
        "pour",
        "avec",
        "et",
        "de",
        "du",
        "bonjour",
        "merci",
        "svp",
        "stp",
        "ouvert",
        "livrez",
        "livraison",
        "prix",
        "c",
        "cest",
    ]
)


def language_of_text(text: str, default: str) -> str:
    """The language a customer writes in, when its common words say it ("How much is the large one?"
    is English to a French shop); else ``default``, the company's."""
    found = [w for w in _WORD.findall(fold(text).replace("'", " "))]
    english = sum(w in _ENGLISH_WORDS for w in found)
    french = sum(w in _FRENCH_WORDS for w in found)
    if english > french:
        return "en"
    if french > english:
        return "fr"
    return default
