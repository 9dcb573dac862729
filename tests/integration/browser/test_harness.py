"""The browser harness against the real server: pages load, scripts call the API, phones are phones."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.conftest import ADMIN_KEY
from tests.integration.browser import PHONE, save_screenshot
from tests.integration.conftest import admin

LIST_COMPANIES = """async (key) => {
    const response = await fetch("/v1/companies", {headers: {Authorization: `Bearer ${key}`}});
    return {status: response.status, type: response.headers.get("content-type"), body: await response.json()};
}"""


def test_a_page_reads_the_server_and_its_scripts_call_the_api(page: Page) -> None:
    response = page.goto("/healthz")
    assert response is not None and response.status == 200
    assert json.loads(page.inner_text("body")) == {"status": "ok"}

    created = page.request.post("/v1/companies", headers=admin(), data={"id": "awa", "name": "Chez Awa"})
    assert created.status == 201, created.text()
    listed = page.evaluate(LIST_COMPANIES, ADMIN_KEY)
    assert (listed["status"], listed["type"]) == (200, "application/json")
    assert [company["id"] for company in listed["body"]["companies"]] == ["awa"]


@pytest.mark.parametrize("viewport", [PHONE])
def test_a_phone_gets_a_narrow_touch_screen(page: Page, tmp_path: Path) -> None:
    page.goto("/healthz")
    assert page.evaluate("[screen.width, navigator.maxTouchPoints > 0]") == [PHONE.width, True]

    shot = save_screenshot(page, tmp_path / "docs" / "phone.png")
    width, height = struct.unpack(">II", shot.read_bytes()[16:24])  # the PNG header's IHDR chunk
    assert (width, height) == (PHONE.width, PHONE.height)
