"""Messages that are not questions about the company's offer: greetings, thanks, and asking for a person.

A greeting or a thanks alone ("Bonjour !", "merci beaucoup 😊") gets a short polite reply, not "I don't
know". Asking to talk to someone ("je veux parler à quelqu'un", "can I speak to a human") hands the
customer over: the answer gives the company's contact facts (phone, WhatsApp, e-mail) and the turn is
marked as a handoff. These are words of the customer's language (French and English), never words of
one company; a message that asks anything else is a question, whatever greeting it opens with.
"""

from __future__ import annotations

import re
from typing import Literal

from comptoir.chat.prompts import language_of
from comptoir.text import fold

Kind = Literal["greeting", "thanks", "handoff"]

_GREETING = frozenset(
    [
        "bonjour",
        "bonsoir",
        "salut",
        "slt",
        "bjr",
        "bsr",
        "coucou",
        "hello",
        "hi",
        "hey",
        "allo",
        "allô",
        "yo",
        "cc",
        "re",
        "good",
        "morning",
        "evening",
        "afternoon",
        "day",
    ]
)
_THANKS = frozenset(
    ["merci", "mrc", "thanks", "thank", "thx", "ty", "cool", "super", "parfait", "top", "genial", "nickel"]
)
_FILLER = frozenset(
    [
        "a",
        "à",
        "tous",
        "tout",
        "monde",
        "gens",
        "toutes",
        "vous",
        "toi",
        "madame",
        "monsieur",
        "mme",
        "mr",
        "m",
        "le",
        "la",
        "les",
        "equipe",
        "team",
        "everyone",
        "all",
        "there",
        "beaucoup",
        "bcp",
        "infiniment",
        "bien",
        "much",
        "so",
        "very",
        "lot",
        "lots",
        "you",
        "ok",
        "okay",
        "daccord",
        "d",
        "accord",
        "et",
        "and",
        "de",
        "du",
        "pour",
        "votre",
        "for",
        "your",
        "aide",
        "help",
        "bonne",
        "journee",
        "soiree",
        "day",
        "have",
        "nice",
        "svp",
        "stp",
        "please",
        "encore",
    ]
)
_HANDOFF = re.compile(
    # "parler à / avec …", but not "parler de" nor "à propos"
    r"\b(?:parler|discuter|echanger|causer)\s+(?:a|au|aux|avec)\b(?!\s+propos)"
    # someone who is not the assistant: "un humain", "a real person", "un conseiller"
    r"|\b(?:un|une|a|an)\s+(?:humain|human|conseiller|conseillere|agent|operateur|operatrice)\b"
    r"|\b(?:real|vrai|vraie)\s+(?:personne|person|humain|human)\b"
    r"|\b(?:talk|speak)\s+(?:to|with)\b"
    r"|\b(?:joindre|appeler|contacter)\s+(?:quelqu'?un|une?\s+personne|le\s+responsable)\b",
)
_WORD = re.compile(r"[a-z']+|\d+")

REPLIES = {
    "fr": {
        "greeting": "Bonjour ! Je suis l'assistant de {company}. Posez-moi vos questions : produits, prix, "
        "livraison, horaires…",
        "thanks": "Avec plaisir ! N'hésitez pas si vous avez une autre question.",
        "handoff": "Bien sûr, vous pouvez joindre l'équipe de {company} directement :",
        "handoff_none": "Bien sûr : l'équipe de {company} vous répondra directement en boutique.",
    },
    "en": {
        "greeting": "Hello! I'm the assistant of {company}. Ask me about products, prices, delivery, hours…",
        "thanks": "You're welcome! Just ask if you have another question.",
        "handoff": "Of course, you can reach the {company} team directly:",
        "handoff_none": "Of course: the {company} team will answer you directly in the shop.",
    },
}


def kind_of(message: str) -> Kind | None:
    """What a message is when it is not a question about the offer; None for a question."""
    folded = fold(message).replace("’", "'")
    if _HANDOFF.search(folded):
        return "handoff"
    words = [w.strip("'") for w in _WORD.findall(folded)]
    words = [w for w in words if w]
    if not words or any(w.isdigit() for w in words):
        return None
    if all(w in _GREETING or w in _FILLER or w in _THANKS for w in words):
        if any(w in _THANKS for w in words):
            return "thanks"
        if any(w in _GREETING for w in words):
            return "greeting"
    return None


def reply(kind: Kind, *, company: str, language: str, contacts: list[str] | None = None) -> str:
    texts = REPLIES[language_of(language)]
    if kind != "handoff":
        return texts[kind].format(company=company)
    if not contacts:
        return texts["handoff_none"].format(company=company)
    return "\n".join([texts["handoff"].format(company=company), *(f"- {line}" for line in contacts)])
