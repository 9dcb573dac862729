"""Chunking that respects headings and paragraphs: ~250 tokens a chunk, a small overlap inside a section.

Each chunk starts with its heading path ("Livraison > Abidjan"), so a paragraph read alone still says
what it is about. Token counts are estimated from words (1.4 word pieces per word for French and English
with the default model's tokenizer), which is enough to keep chunks under its 256-token window.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from comptoir.ingest.records import Block, Record

_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
TOKENS_PER_WORD = 1.4


def estimate_tokens(text: str) -> int:
    return int(len(text.split()) * TOKENS_PER_WORD + 0.5)


@dataclass(frozen=True)
class Chunker:
    max_tokens: int = 250
    overlap_tokens: int = 30

    def split(self, text: str) -> list[str]:
        chunks: list[str] = []
        for path, paragraphs in _sections(text):
            prefix = " > ".join(path)
            for body in self._pack(paragraphs, budget=self.max_tokens - estimate_tokens(prefix)):
                chunks.append(f"{prefix}\n{body}" if prefix else body)
        return chunks

    def chunk_blocks(self, blocks: Sequence[Block]) -> list[str]:
        """One chunk per record, its context on the line above; each passage packed under its context."""
        chunks: list[str] = []
        for block in blocks:
            if isinstance(block, Record):
                if block.render():
                    chunks.append(block.chunk_text())
            else:
                chunks.extend(self.split_section(block.context, block.text))
        return chunks

    def split_section(self, path: Sequence[str], text: str) -> list[str]:
        """Chunks of one section's prose (paragraphs apart by blank lines) under its heading path."""
        prefix = " > ".join(path)
        paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
        return [
            f"{prefix}\n{body}" if prefix else body
            for body in self._pack(paragraphs, budget=self.max_tokens - estimate_tokens(prefix))
        ]

    def _pack(self, paragraphs: list[str], *, budget: int) -> list[str]:
        budget = max(budget, 32)
        pieces: list[str] = []
        for paragraph in paragraphs:
            pieces.extend(_fit(paragraph, budget))
        out: list[str] = []
        current: list[str] = []
        size = 0
        for piece in pieces:
            cost = estimate_tokens(piece)
            if current and size + cost > budget:
                out.append("\n\n".join(current))
                current = self._overlap(current[-1], budget - cost)
                size = sum(estimate_tokens(p) for p in current)
            current.append(piece)
            size += cost
        if current:
            out.append("\n\n".join(current))
        return out

    def _overlap(self, previous: str, room: int) -> list[str]:
        """The last sentences of the previous chunk, up to the overlap budget and the room left."""
        allowance = min(self.overlap_tokens, room)
        if allowance <= 0:
            return []
        tail: list[str] = []
        for sentence in reversed(_SENTENCE_END.split(previous)):
            if estimate_tokens(" ".join([sentence, *tail])) > allowance:
                break
            tail.insert(0, sentence)
        return [" ".join(tail)] if tail else []


def _sections(text: str) -> list[tuple[list[str], list[str]]]:
    """Split markdown-ish text into (heading path, paragraphs) sections."""
    sections: list[tuple[list[str], list[str]]] = []
    path: list[tuple[int, str]] = []
    paragraphs: list[str] = []
    lines: list[str] = []

    def end_paragraph() -> None:
        if lines:
            paragraphs.append("\n".join(lines).strip())
            lines.clear()

    def end_section() -> None:
        end_paragraph()
        if paragraphs:
            sections.append(([title for _, title in path], [p for p in paragraphs if p]))
            paragraphs.clear()

    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        heading = _HEADING.match(raw)
        if heading:
            end_section()
            level = len(heading.group(1))
            path = [(lvl, title) for lvl, title in path if lvl < level] + [(level, heading.group(2))]
        elif raw.strip():
            lines.append(raw.rstrip())
        else:
            end_paragraph()
    end_section()
    return sections


def _fit(paragraph: str, budget: int) -> list[str]:
    """A paragraph over budget is split at sentence ends, then at words."""
    if estimate_tokens(paragraph) <= budget:
        return [paragraph]
    out: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        candidate = f"{current} {sentence}".strip()
        if estimate_tokens(candidate) <= budget:
            current = candidate
            continue
        if current:
            out.append(current)
        if estimate_tokens(sentence) <= budget:
            current = sentence
        else:
            words = sentence.split()
            step = max(int(budget / TOKENS_PER_WORD), 1)
            out.extend(" ".join(words[i : i + step]) for i in range(0, len(words) - step, step))
            current = " ".join(words[(len(words) - 1) // step * step :])
    if current:
        out.append(current)
    return out
