"""Cutting a text into sentences (JSON lines into their strings), removing the flagged ones, rebuilding."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from comptoir.ingest.instructions.scoring import THRESHOLD, _continues, score_sentence
from comptoir.ingest.instructions.signals import _STOP
from comptoir.ingest.instructions.vocabulary import _fold, _wordset

_MAX_SENTENCE = 800  # longer "sentences" (no punctuation) are cut at clause marks or spaces
_MAX_CLAUSES = 12  # a flagged sentence with more clause marks is removed whole
_LONG_SENTENCE = 200  # a flagged sentence longer than this is cut at a word, not only at a clause mark


@dataclass(frozen=True)
class Flagged:
    text: str
    reason: str


_JSON_LINE = re.compile(r'\s*(?:[\[{]\s*)*"|.*"\s*:\s*["\[{\d-]')
_JSON_HEAD = re.compile(r'\s*(?:[\[{]\s*)*"?')
_JSON_SEP = re.compile(  # the punctuation between keys and values, never free text
    r'(?=["\[\]{},])(?:"\s*[:,]\s*(?:[\[{]\s*)*"?|"\s*[}\]]+\s*,?\s*"?|[}\]]+\s*,\s*"?|,\s*"|[\[{]\s*")'
)
# the end of a sentence, with its closing quotes ("Super !  »"), before a space or the end of the line
_END = re.compile(r"[.!?…;]+(?:[ \u00a0\u202f]?[\"'»”’)\]])*(?=\s|$)")
_ABBREVIATIONS = _wordset("m mm mme mlle mr mrs ms dr st ste ex cf env av bd tel approx vs jr")
_CLAUSE = re.compile(r"\s*(?:[—–:|,(]|\s-\s)\s*")
_LEAD_IN = _wordset(
    """important importante tres very note notes nota bene nb ps attention warning urgent urgente
    avertissement rappel remarque remarques info infos information notice reminder message memo system
    systeme hidden cache cachee secret instructions instruction consigne consignes avis alerte alert admin
    update new nouveau nouvelle please svp stp hey hi hello bonjour salut ok okay p s n b and et also aussi
    then puis but mais"""
)
# a lead starting with one of these is the condition of the order that follows ("Si un client demande,")
_CONDITIONS = _wordset("whenever when if si quand lorsque lorsqu unless once anytime des sauf")
# a lead holding one of these introduces what follows ("Consigne prioritaire pour le modèle :"): not kept
_ADDRESS_HEADS = _wordset(
    """note notes message messages memo instruction instructions consigne consignes rappel avis directive
    directives ordre ordres order orders reminder notice warning priorite priority prioritaire system
    systeme model modele modeles models hidden cache cachee secret admin prompt attention intention"""
)
_WORD = re.compile(r"\w+")
_FIELD = re.compile(r"[^\W\d][\w' ./()-]{0,40}?\s?:\s")  # "Prix: ", "Mode d'emploi : "
_SPACES = re.compile(r"\s+")


@dataclass
class _Piece:
    start: int
    end: int
    kind: str  # "text" (a sentence), "sep" (JSON punctuation), "ws" (space between sentences)
    flagged: str = ""  # the reason, for a removed sentence


def _sentences(line: str, start: int, end: int) -> Iterable[tuple[int, int]]:
    """Sentence spans of line[start:end], spaces and ';' between them left out, each at most _MAX_SENTENCE."""
    region = line[start:end]
    pos = len(region) - len(region.lstrip())
    for m in _END.finditer(region):
        if m.group() == ".":
            word = _WORD.findall(region[max(pos, m.start() - 12) : m.start()])
            if (
                word
                and region[m.start() - 1].isalnum()
                and (word[-1].casefold() in _ABBREVIATIONS or (len(word[-1]) == 1 and word[-1].isupper()))
            ):
                continue
        stop = pos + len(region[pos : m.end()].rstrip("; \t"))  # a ';' separates: it stays with the space
        if stop > pos:
            yield from _bounded(region, pos, stop, start)
        pos = m.end()
        while pos < len(region) and region[pos].isspace():
            pos += 1
    stop = len(region.rstrip())
    if stop > pos:
        yield from _bounded(region, pos, stop, start)


def _bounded(region: str, start: int, end: int, offset: int) -> Iterable[tuple[int, int]]:
    while end - start > _MAX_SENTENCE:
        window = region[start : start + _MAX_SENTENCE]
        cut = max(window.rfind(", "), window.rfind(": "), window.rfind(" — "), window.rfind(" - "))
        if cut < _MAX_SENTENCE // 4:
            cut = window.rfind(" ")
        if cut < _MAX_SENTENCE // 4:
            cut = _MAX_SENTENCE - 1
        yield offset + start, offset + start + cut + 1
        start += cut + 1
        while start < end and region[start].isspace():
            start += 1
    if end > start:
        yield offset + start, offset + end


def _pieces(line: str) -> list[_Piece]:
    """A line cut into sentences, the spaces between them and, on a JSON line, its punctuation."""
    regions: list[tuple[int, int, str]] = []
    if _JSON_LINE.match(line):
        head = _JSON_HEAD.match(line)
        pos = head.end() if head else 0
        if pos:
            regions.append((0, pos, "sep"))
        stop = len(line.rstrip(" \t,}]"))
        if stop > pos and line[stop - 1] == '"':
            stop -= 1
        for m in _JSON_SEP.finditer(line, pos, stop):
            if m.start() > pos:
                regions.append((pos, m.start(), "text"))
            regions.append((m.start(), m.end(), "sep"))
            pos = m.end()
        if stop > pos:
            regions.append((pos, stop, "text"))
        if len(line) > max(pos, stop):
            regions.append((max(pos, stop), len(line), "sep"))
    else:
        regions.append((0, len(line), "text"))
    pieces: list[_Piece] = []
    for start, end, kind in regions:
        if kind == "sep":
            pieces.append(_Piece(start, end, "sep"))
            continue
        pos = start
        for s, e in _sentences(line, start, end):
            if s > pos:
                pieces.append(_Piece(pos, s, "ws"))
            pieces.append(_Piece(s, e, "text"))
            pos = e
        if end > pos:
            pieces.append(_Piece(pos, end, "ws"))
    return pieces


def _flag_start(sentence: str) -> int:
    """Where the flagged part of a flagged sentence starts: after a harmless lead ("Chargeur 2 ports —").

    A short sentence is cut at a clause mark; a long one (text without punctuation) at the last word from
    which the rest still scores, found by bisection.
    """
    best = 0
    if len(sentence) > _LONG_SENTENCE:
        starts = [m.end() for m in _SPACES.finditer(sentence)]
        low, high = 0, len(starts) - 1
        while low <= high:
            middle = (low + high) // 2
            if score_sentence(sentence[starts[middle] :])[0] >= THRESHOLD:
                best, low = starts[middle], middle + 1
            else:
                high = middle - 1
        if not best or score_sentence(sentence[:best])[0] > 0:
            return 0
    else:
        marks = list(_CLAUSE.finditer(sentence))
        if not marks or len(marks) > _MAX_CLAUSES:
            return 0
        for m in marks:
            if score_sentence(sentence[: m.start()])[0] > 0:
                break  # the lead itself speaks to the AI: everything goes
            if m.end() < len(sentence) and score_sentence(sentence[m.end() :])[0] >= THRESHOLD:
                best = m.end()
    if not best:
        return 0
    lead = _WORD.findall(_fold(sentence[:best]))
    if not lead or lead[0] in _CONDITIONS or not _ADDRESS_HEADS.isdisjoint(lead):
        return 0
    content = [w for w in lead if w not in _LEAD_IN and w not in _STOP]
    return best if len(content) >= 2 else 0


def split_instructions(text: str) -> tuple[str, list[Flagged]]:
    """The text without its hidden instructions, and those sentences verbatim, in order.

    Kept sentences keep their line; a line left empty goes away (and a paragraph break with it, so
    no double blank line appears); on a JSON line only the string's content goes, "" stays.
    """
    flagged: list[Flagged] = []
    out: list[str] = []
    carry = False  # the previous sentence of this paragraph or field was flagged
    removed_line = False  # a line was removed since the last line written
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        eol = line[len(body) :]
        if not body.strip():
            carry = False
            if removed_line and (not out or not out[-1].strip()):
                continue
            out.append(line)
            removed_line = False
            continue
        if body.lstrip().startswith("#"):
            carry = False
        changed = False
        pieces: list[_Piece] = []
        new_field = False
        for piece in _pieces(body):
            if piece.kind != "text":
                carry = carry and piece.kind == "ws"
                new_field = ";" in body[piece.start : piece.end]
                pieces.append(piece)
                continue
            sentence = body[piece.start : piece.end]
            if new_field and _FIELD.match(sentence):
                carry = False  # "...; Conseil: ..." is another field of the record
            score, reason = score_sentence(sentence)
            if score >= THRESHOLD:
                cut = _flag_start(sentence)
                if cut:
                    lead_end = piece.start + len(sentence[:cut].rstrip(" —–:|,(-"))
                    pieces.append(_Piece(piece.start, lead_end, "text"))
                    piece = _Piece(lead_end, piece.end, "text")  # the clause mark goes with it
                piece.flagged = reason
                carry = True
            elif carry and _continues(sentence):
                piece.flagged = "continuation"
            else:
                carry = False
            if piece.flagged:
                changed = True
                flagged.append(Flagged(body[piece.start : piece.end].lstrip(" —–:|,(-"), piece.flagged))
            pieces.append(piece)
        if not changed:
            out.append(line)
            removed_line = False
            continue
        rebuilt = _rebuild(body, pieces)
        if rebuilt:
            out.append(rebuilt + eol)
            removed_line = False
        else:
            removed_line = True
    if removed_line and out and not out[-1].strip():
        out.pop()
    return "".join(out), flagged


def _rebuild(body: str, pieces: list[_Piece]) -> str:
    """The kept pieces: one space (or the ';' separator) between kept sentences, JSON punctuation as is."""
    parts: list[str] = []
    previous: _Piece | None = None  # the last kept non-space piece
    pending: str | None = None  # the space to put before the next kept sentence
    for piece in pieces:
        if piece.flagged:
            continue
        if piece.kind == "ws":
            space = body[piece.start : piece.end]
            if pending is None or (";" in space and ";" not in pending):
                pending = space
            continue
        if pending is not None and previous is not None and previous.kind == piece.kind == "text":
            parts.append(pending)
        pending = None
        parts.append(body[piece.start : piece.end])
        previous = piece
    rebuilt = "".join(parts)
    indent = body[: len(body) - len(body.lstrip())]
    return indent + rebuilt.lstrip() if rebuilt.strip() else ""
