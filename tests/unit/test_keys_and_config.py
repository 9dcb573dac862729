from __future__ import annotations

import pytest
from pydantic import ValidationError

from comptoir.companies import company_of_key, new_key, validate_company_id
from comptoir.config import Settings
from comptoir.db.migrate import load_migrations
from comptoir.errors import InvalidInput


def test_company_keys_name_their_company() -> None:
    key = new_key("chez-awa")
    assert company_of_key(key) == "chez-awa"
    assert new_key("chez-awa") != key
    for bad in ("", "cpt_", "cpt_awa", "cpt_awa.", "adm_x", "cpt_A.b", "cpt_../x.y"):
        assert company_of_key(bad) is None


@pytest.mark.parametrize("company_id", ["a", "A1", "-ab", "a b", "é-shop", "a" * 64, "x/y"])
def test_invalid_company_ids(company_id: str) -> None:
    with pytest.raises(InvalidInput):
        validate_company_id(company_id)


def test_short_admin_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="at least 24"):
        Settings(admin_key="short")


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPTOIR_PORT", "9001")
    monkeypatch.setenv("COMPTOIR_MAX_K", "7")
    settings = Settings()
    assert (settings.port, settings.max_k, settings.embedded) == (9001, 7, True)


def test_migrations_are_ordered_and_numbered() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
