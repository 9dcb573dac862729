"""Questions that ask the same thing, grouped: by the same words first, then by meaning, with the
semantic cache's own rule for "the same question" (similar enough, and the same numbers and polarity:
``comptoir.chat.guards``), so that "livraison à 5 km" and "livraison à 50 km" stay apart."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from comptoir.chat.guards import guard_of
from comptoir.embedding.base import Vectors, calibrate
from comptoir.text import fold

_NOT_WORD = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class AskedTurn:
    turn_id: int
    question: str
    created_at: datetime
    #: why it is listed: "unknown" (answered "I don't know"), "handoff", "down" (rated 👎)
    reasons: tuple[str, ...]


@dataclass
class QuestionGroup:
    #: the latest wording
    question: str
    last_at: datetime
    turn_ids: list[int] = field(default_factory=list)
    #: the distinct wordings, latest first
    wordings: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.turn_ids)

    def add(self, turn: AskedTurn) -> None:
        self.turn_ids.append(turn.turn_id)
        if turn.question not in self.wordings:
            self.wordings.append(turn.question)
        for reason in turn.reasons:
            self.reasons[reason] = self.reasons.get(reason, 0) + 1


def wording_key(question: str) -> str:
    """The words of a question, without case, accents or punctuation."""
    return " ".join(_NOT_WORD.sub(" ", fold(question)).split())


def group_questions(
    turns: Sequence[AskedTurn],
    embed: Callable[[str], Vectors],
    *,
    threshold: float,
    similarity_map: tuple[float, float] = (1.0, 0.0),
) -> list[QuestionGroup]:
    """``turns`` (newest first) in groups, the most asked first (then the latest)."""
    by_words: dict[str, QuestionGroup] = {}
    for turn in turns:
        key = wording_key(turn.question)
        group = by_words.get(key)
        if group is None:
            group = by_words[key] = QuestionGroup(turn.question, turn.created_at)
        group.add(turn)
    merged: list[tuple[QuestionGroup, np.ndarray, object]] = []
    for group in by_words.values():  # newest first: a group's first wording is its latest
        vector = np.asarray(embed(group.question), dtype=np.float32).reshape(-1)
        vector = vector / (np.linalg.norm(vector) or 1.0)
        guard = guard_of(group.question)
        for target, target_vector, target_guard in merged:
            cosine = float(np.dot(vector, target_vector))
            if target_guard == guard and calibrate(cosine, similarity_map) >= threshold:
                target.turn_ids.extend(group.turn_ids)
                target.wordings.extend(w for w in group.wordings if w not in target.wordings)
                for reason, n in group.reasons.items():
                    target.reasons[reason] = target.reasons.get(reason, 0) + n
                break
        else:
            merged.append((group, vector, guard))
    groups = [group for group, _, _ in merged]
    groups.sort(key=lambda g: (g.count, g.last_at), reverse=True)
    return groups
