"""Pure logic of keys and limits: origins, overrides, periods, token estimates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from comptoir.access.keys import company_of_key, normalize_origin
from comptoir.access.limits import (
    LIMIT_NAMES,
    Limits,
    _until_next_day,
    _until_next_month,
    estimate_tokens,
    validate_overrides,
)
from comptoir.config import Settings
from comptoir.errors import InvalidInput


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://Shop.Example", "https://shop.example"),
        ("https://shop.example/", "https://shop.example"),
        ("http://localhost:5173", "http://localhost:5173"),
        (" https://a.b.example:8443 ", "https://a.b.example:8443"),
    ],
)
def test_origins_are_normalised_as_browsers_send_them(given: str, expected: str) -> None:
    assert normalize_origin(given) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "shop.example",
        "ftp://shop.example",
        "https://shop.example/path",
        "https://",
        "https://u:p@shop.example",
        "https://shop.example?x=1",
        "https://shop.example:99999",
        "javascript:alert(1)",
    ],
)
def test_bad_origins_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_origin(bad)


def test_keys_name_their_company() -> None:
    assert company_of_key("cpt_chez-awa.secret") == "chez-awa"
    for bad in ("adm_x", "cpt_", "cpt_awa", "cpt_awa.", "cpt_AWA.x", "cpt_a.x"):
        assert company_of_key(bad) is None


def test_overrides_are_validated() -> None:
    assert validate_overrides(
        {"messages_per_day": 0, "chat_key_rate_per_minute": 5, "llm_tokens_per_month": None}
    ) == {
        "messages_per_day": 0,
        "chat_key_rate_per_minute": 5,
    }
    for bad in (
        {"nope": 1},
        {"chat_key_rate_per_minute": 0},
        {"messages_per_day": -1},
        {"messages_per_day": True},
        {"messages_per_day": 1.5},
        {"messages_per_day": 10**13},
    ):
        with pytest.raises(InvalidInput):
            validate_overrides(bad)


def test_limits_are_the_settings_with_overrides() -> None:
    defaults = Limits.defaults(Settings(messages_per_day=7))
    assert defaults.messages_per_day == 7 and defaults.chat_key_rate_per_minute == 60
    assert set(defaults.as_dict()) == set(LIMIT_NAMES)
    changed = defaults.overridden({"messages_per_day": 3, "unknown": 9, "company_rate_per_minute": None})
    assert (
        changed.messages_per_day == 3 and changed.company_rate_per_minute == defaults.company_rate_per_minute
    )


def test_quota_waits_run_to_the_next_utc_day_and_month() -> None:
    late = datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC)
    assert _until_next_day(late) == 30
    assert _until_next_month(late) == 30
    assert _until_next_month(datetime(2026, 2, 1, tzinfo=UTC)) == 28 * 86_400


def test_token_estimate_counts_characters_by_four() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd", "abcde") == 1 + 2
