"""What reading one request's documents may cost, and the checks that need no parsing.

Every limit names the setting that raises it, so a refused caller (or their administrator) knows what to
change. ``json_depth`` measures the nesting of JSON text without building it: Python's own parser
recurses, and a body of ten thousand ``[`` costs a ``RecursionError`` before any limit could be checked.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from comptoir.errors import InvalidInput, PayloadTooLarge

if TYPE_CHECKING:  # the parsing processes import this module, and need no settings
    from comptoir.config import Settings


@dataclass(frozen=True)
class InputLimits:
    """Limits on what one document, and one request of documents, may make us hold."""

    max_json_depth: int = 64
    max_items_per_document: int = 20_000
    max_fields_per_record: int = 500
    max_field_chars: int = 100_000
    max_chunks_per_document: int = 5_000
    max_chunks_per_request: int = 20_000
    max_metadata_depth: int = 8
    max_metadata_bytes: int = 16_384
    max_documents_per_request: int = 500
    max_document_chars: int = 2_000_000

    @classmethod
    def from_settings(cls, settings: Settings) -> InputLimits:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


# ------------------------------------------------------------------------------------------ JSON depth

#: escapes that hide a quote or a backslash, removed first so an escaped quote never ends a string
_ESCAPED_BACKSLASH = b"\\\\"
_ESCAPED_QUOTE = b'\\"'
_QUOTE = ord('"')
_STEP = np.zeros(256, dtype=np.int64)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1
_BLOCK = 1 << 20


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text (of valid JSON: for invalid text, a number
    the parser refuses anyway). Linear and vectorised: about 0.1 s for 10 MB, whatever the text."""
    if b"[" not in raw and b"{" not in raw:
        return 0
    bare = raw.replace(_ESCAPED_BACKSLASH, b"").replace(_ESCAPED_QUOTE, b"")
    deepest = depth = quotes = 0
    for start in range(0, len(bare), _BLOCK):
        chars = np.frombuffer(bare[start : start + _BLOCK], dtype=np.uint8)
        seen = np.cumsum(chars == _QUOTE, dtype=np.int64) + quotes
        outside = (seen & 1) == 0  # an odd count of quotes so far: inside a string
        running = np.cumsum(np.where(outside, _STEP[chars], 0)) + depth
        deepest = max(deepest, int(running.max()))
        depth, quotes = int(running[-1]), int(seen[-1])
    return deepest


def check_json_depth(raw: bytes, *, limit: int, name: str) -> None:
    depth = json_depth(raw)
    if depth > limit:
        raise InvalidInput(
            f"{name}: JSON nested {depth} levels deep, more than the {limit} allowed "
            "(COMPTOIR_MAX_JSON_DEPTH)"
        )


# ------------------------------------------------------------------------------------------- metadata


def check_metadata(metadata: dict[str, Any], limits: InputLimits, *, title: str) -> None:
    """Metadata is stored as ``jsonb`` and returned in every listing: bounded in depth and size, finite
    numbers only, and no character PostgreSQL refuses in a key or a string."""
    _check_value(metadata, limits, title=title, path="metadata", depth=1)
    size = len(json.dumps(metadata, ensure_ascii=False).encode())
    if size > limits.max_metadata_bytes:
        raise PayloadTooLarge(
            f"document {title!r}: metadata is {size} bytes as JSON, more than the "
            f"{limits.max_metadata_bytes} allowed (COMPTOIR_MAX_METADATA_BYTES)"
        )


def _check_value(value: Any, limits: InputLimits, *, title: str, path: str, depth: int) -> None:
    if depth > limits.max_metadata_depth:
        raise InvalidInput(
            f"document {title!r}: {path} is nested deeper than {limits.max_metadata_depth} levels "
            "(COMPTOIR_MAX_METADATA_DEPTH)"
        )
    if isinstance(value, dict):
        for key, item in value.items():
            _check_value(item, limits, title=title, path=f"{path}.{key}", depth=depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, limits, title=title, path=f"{path}[{index}]", depth=depth + 1)
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"document {title!r}: {path} is not a finite number")
