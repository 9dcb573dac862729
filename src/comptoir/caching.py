"""One small in-process cache utility: a bounded, thread-safe LRU with hit and miss counters and
optional per-entry expiry. The query-embedding cache, the prompt-template cache and the L1 answer cache
are instances of it; keys carry whatever versions make an entry valid, so nothing is ever invalidated
by message: a new version is a new key, and stale entries age out of the LRU.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class CacheStats:
    name: str
    size: int
    capacity: int
    hits: int
    misses: int

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class LRUCache(Generic[K, V]):
    def __init__(self, name: str, capacity: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.name = name
        self.capacity = capacity
        self._clock = clock
        self._entries: OrderedDict[K, tuple[V, float | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and (entry[1] is None or entry[1] > self._clock()):
                self._entries.move_to_end(key)
                self._hits += 1
                return entry[0]
            if entry is not None:
                del self._entries[key]  # expired
            self._misses += 1
            return None

    def put(self, key: K, value: V, *, ttl_s: float | None = None) -> None:
        expires = None if ttl_s is None else self._clock() + ttl_s
        with self._lock:
            self._entries[key] = (value, expires)
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self.name, len(self._entries), self.capacity, self._hits, self._misses)
