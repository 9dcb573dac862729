from __future__ import annotations

import pytest

from comptoir.caching import LRUCache
from comptoir.chat.guards import guard_of


def test_lru_evicts_the_least_recently_used_and_counts() -> None:
    cache: LRUCache[str, int] = LRUCache("t", 2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    stats = cache.stats()
    assert (stats.size, stats.hits, stats.misses) == (2, 3, 1)
    assert stats.hit_rate == pytest.approx(0.75)


def test_lru_entries_expire_and_compute_on_miss() -> None:
    now = [0.0]
    cache: LRUCache[str, str] = LRUCache("t", 10, clock=lambda: now[0])
    cache.put("k", "v", ttl_s=5)
    now[0] = 4.9
    assert cache.get("k") == "v"
    now[0] = 5.0
    assert cache.get("k") is None
    calls = []
    assert cache.get_or_compute("k", lambda: calls.append(1) or "w") == "w"
    assert cache.get_or_compute("k", lambda: calls.append(1) or "x") == "w"
    assert calls == [1]
    with pytest.raises(ValueError, match="capacity"):
        LRUCache("t", 0)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("Prix lot 300 couches taille 4 ?", "prix du lot de 300 couches en taille 4", True),
        ("Prix lot 300 couches taille 4 ?", "Prix lot 300 couches taille 5 ?", False),
        ("Prix lot 150 couches T4", "Prix lot 300 couches T4", False),
        ("Prix lot de 24 000 F ?", "prix 24000 F ?", True),
        ("Prix 3,20 € ?", "prix 3.20 € ?", True),
        ("livrez-vous à Abobo ?", "vous ne livrez pas à Abobo ?", False),
        ("Vous livrez à Abobo ?", "vous n'allez pas à Abobo ?", False),
        ("do you deliver on Sunday?", "you don't deliver on Sunday?", False),
        ("Vous acceptez Wave ?", "Est-ce que vous acceptez Wave ?", True),
        ("Lot de ３００ ?", "lot de 300 ?", True),
    ],
)
def test_guards_separate_numbers_and_polarity(first: str, second: str, same: bool) -> None:
    assert (guard_of(first) == guard_of(second)) is same
