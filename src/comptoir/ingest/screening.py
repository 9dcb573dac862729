"""What of a document may reach a customer: hidden instructions and internal sections are set apart.

Sentences that address the assistant instead of the customer (see ``comptoir.ingest.instructions``) are
removed from every record value and passage before anything is chunked, embedded or indexed, so they
are never quoted and never sent to an LLM; sections for the staff ("INTERNE", "staff only") are
withheld by the structure reader. Both are kept on the document as ``flagged``, for its owner to see.
"""

from __future__ import annotations

from dataclasses import dataclass

from comptoir.ingest.instructions import split_instructions
from comptoir.ingest.records import Block, Passage, Record

MAX_FLAGGED_CHARS = 500


@dataclass(frozen=True)
class FlaggedText:
    text: str
    reason: str  # "internal", or the kind of hidden instruction

    def as_json(self) -> dict[str, str]:
        return {"text": self.text[:MAX_FLAGGED_CHARS], "reason": self.reason}


def screen(blocks: list[Block]) -> tuple[list[Block], list[FlaggedText]]:
    """The blocks without hidden instructions, and what was removed."""
    flagged: list[FlaggedText] = []
    out: list[Block] = []

    def clean(text: str) -> str:
        kept, found = split_instructions(text)
        flagged.extend(FlaggedText(f.text, f.reason) for f in found)
        return kept

    for block in blocks:
        if isinstance(block, Record):
            fields = tuple((label, clean(value)) for label, value in block.fields)
            kept = tuple((label, value) for label, value in fields if value.strip())
            if kept:
                out.append(Record(kept, block.context))
        else:
            text = clean(block.text)
            if text.strip():
                out.append(Passage(text, block.context))
    return out, flagged


def withheld(blocks: list[Block]) -> list[FlaggedText]:
    """Internal sections, as flagged text."""
    return [
        FlaggedText(block.render() if isinstance(block, Record) else block.text, "internal")
        for block in blocks
    ]
