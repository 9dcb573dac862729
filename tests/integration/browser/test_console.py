"""The owner's console in headless Chromium against the real server: sign in, upload by drag and drop
and by the file picker, ask in *Try it* (streamed, with sources), find the unanswered question under
*To answer*, answer it, ask again and get the owner's answer; every page of one company's key shows
none of another company's data; the operator's view; a phone.

``COMPTOIR_SCREENSHOTS=docs`` also saves the README's screenshots there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.integration.browser import PHONE, save_screenshot
from tests.integration.conftest import admin

PRICES = b"""# Tarifs

Lot de 100 couches taille 3 : 9 000 FCFA.

Lot de 300 couches taille 4 : 24 000 FCFA.
"""
HOURS = b"""# Horaires

Ouvert du lundi au samedi, de 8 h a 19 h.
"""
SECRET = "Fournisseur-Mystere-42"


@pytest.fixture
def errors(page: Page) -> Iterator[list[str]]:
    """The page's uncaught script errors: a test ends with none."""
    found: list[str] = []
    page.on("pageerror", lambda error: found.append(str(error)))
    page.add_init_script("localStorage.setItem('comptoir.lang', 'fr')")  # French first
    yield found
    assert found == []


def _company(page: Page, company_id: str, name: str) -> str:
    response = page.request.post(
        "/v1/companies", headers=admin(), data={"id": company_id, "name": name, "language": "fr"}
    )
    assert response.status == 201, response.text()
    return str(response.json()["api_key"])


def _sign_in(page: Page, key: str) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/console"))
    page.fill("#key", key)
    page.click("#signin button[type=submit]")
    expect(page.locator("#nav")).to_be_visible()


def _ask(page: Page, company: str, question: str) -> str:
    page.goto(f"/console#/c/{company}/try")
    page.fill("#question", question)
    with page.expect_response("**/v1/chat") as answered:
        page.click("form button[type=submit]")
    assert answered.value.headers["content-type"].startswith("text/event-stream")  # streamed
    expect(page.locator("#chips")).to_be_visible()
    return page.inner_text("#answer")


def _shot(page: Page, name: str) -> None:
    folder = os.environ.get("COMPTOIR_SCREENSHOTS")
    if folder:
        save_screenshot(page, Path(folder) / name, full_page=True)


def test_owner_uploads_tries_and_answers_what_the_assistant_could_not(page: Page, errors: list[str]) -> None:
    key = _company(page, "awa", "Chez Awa")
    _sign_in(page, key)
    expect(page).to_have_url(re.compile(r"#/c/awa/documents"))

    # the file picker, then a drag and drop
    page.set_input_files(
        "#files", files=[{"name": "tarifs.md", "mimeType": "text/markdown", "buffer": PRICES}]
    )
    expect(page.locator("#documents tbody tr", has_text="tarifs.md")).to_be_visible()
    dropped = page.evaluate_handle(
        """(text) => { const data = new DataTransfer();
        data.items.add(new File([text], "horaires.md", {type: "text/markdown"})); return data; }""",
        HOURS.decode(),
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
    expect(page.locator("#documents tbody tr", has_text="horaires.md")).to_be_visible()
    expect(page.locator("#uploads .chip.ok")).to_have_count(2)
    _shot(page, "console-documents.png")
    page.click("#documents a:has-text('tarifs.md')")
    expect(page.locator("#chunks")).to_contain_text("24 000 FCFA")

    answer = _ask(page, "awa", "Prix du lot de 300 couches taille 4 ?")
    assert "24 000" in answer
    expect(page.locator("#sources")).to_contain_text("Tarifs")
    _shot(page, "console-try.png")

    unknown = _ask(page, "awa", "Vous livrez à Bouaké ?")
    assert "ne sais pas" in unknown.lower()
    expect(page.locator("#chips .chip.warn")).to_be_visible()

    page.click("#nav a[data-page=answer]")
    group = page.locator("#groups .group", has_text="Bouaké")
    expect(group).to_be_visible()
    expect(page.locator("#answer-count")).to_have_text("1")
    group.locator("button.answer-it").click()
    group.locator("textarea").fill("Oui, nous livrons à Bouaké en 48 heures pour 3 500 FCFA.")
    _shot(page, "console-to-answer.png")
    group.locator("button[type=submit]").click()
    expect(page.locator("#toast")).to_contain_text("FAQ")
    expect(page.locator("#groups .group")).to_have_count(0)

    again = _ask(page, "awa", "Vous livrez à Bouaké ?")
    assert "3 500" in again, again

    page.click("#nav a[data-page=conversations]")
    expect(page.locator("#conversations tbody tr")).to_have_count(1)  # the console's own customer
    page.click("#nav a[data-page=facts]")
    expect(page.locator("#facts")).to_contain_text("24 000")
    page.click("#nav a[data-page=settings]")
    expect(page.locator("#template")).not_to_be_empty()


def test_a_company_key_sees_only_its_company(page: Page, errors: list[str]) -> None:
    awa = _company(page, "awa", "Chez Awa")
    bolo_key = _company(page, "bolo", "Boulangerie")
    headers = {"Authorization": f"Bearer {awa}"}
    page.request.post(
        "/v1/companies/awa/documents",
        headers=headers,
        data={"documents": [{"title": SECRET, "text": f"Notre fournisseur est {SECRET}."}]},
    ).ok or pytest.fail("upload failed")
    for message in (f"Qui est {SECRET} ?", f"Je veux parler à {SECRET}"):
        page.request.post(
            "/v1/chat", headers=headers, data={"company_id": "awa", "user_id": SECRET, "message": message}
        ).ok or pytest.fail("chat failed")

    _sign_in(page, bolo_key)
    for name in ("documents", "try", "facts", "conversations", "answer", "settings"):
        page.goto(f"/console#/c/bolo/{name}")
        expect(page.locator(f"#nav a[data-page={name}]")).to_have_class("on")
        page.wait_for_load_state("networkidle")
        assert SECRET not in page.content(), name
    # another company's pages, asked for by address: the API refuses, nothing shows
    for name in ("documents", "conversations", "answer", "facts"):
        page.goto(f"/console#/c/awa/{name}")
        expect(page.locator("#toast")).to_contain_text("not found")
        assert SECRET not in page.content(), name
    assert page.locator("#nav a[href='#/companies']").count() == 0


def test_the_operator_sees_every_company_and_creates_one(page: Page, errors: list[str]) -> None:
    _company(page, "awa", "Chez Awa")
    overviews: list[str] = []
    page.on("request", lambda r: overviews.append(r.url) if "/v1/overview" in r.url else None)
    _sign_in(page, admin()["Authorization"].removeprefix("Bearer "))
    expect(page).to_have_url(re.compile(r"#/companies"))
    expect(page.locator("#companies tbody tr")).to_have_count(1)
    # the page is drawn once: a second drawing emptied the form below while it was being filled
    page.wait_for_timeout(500)
    assert len(overviews) == 1, overviews
    page.fill("#new-company input[name=id]", "mile-end")
    page.fill("#new-company input[name=name]", "Atelier Mile End")
    page.select_option("#new-company select", "en")
    page.click("#new-company button[type=submit]")
    expect(page.locator("#company-key")).to_contain_text("mile-end", timeout=20_000)  # a loaded machine
    expect(page.locator("#companies tbody tr")).to_have_count(2)
    _shot(page, "console-companies.png")
    page.click("#companies a:has-text('Chez Awa')")
    expect(page).to_have_url(re.compile(r"#/c/awa/documents"))


def test_a_chat_key_cannot_sign_in_and_a_wrong_key_is_refused(page: Page, errors: list[str]) -> None:
    key = _company(page, "awa", "Chez Awa")
    chat_key = page.request.post(
        "/v1/companies/awa/keys", headers={"Authorization": f"Bearer {key}"}, data={"scope": "chat"}
    ).json()["api_key"]
    page.goto("/console")
    page.fill("#key", chat_key)
    page.click("#signin button[type=submit]")
    expect(page.locator("#signin .error")).to_contain_text("chat")
    page.fill("#key", "awa_not-a-real-key")
    page.click("#signin button[type=submit]")
    expect(page.locator("#signin .error")).to_contain_text("refusée")


@pytest.mark.parametrize("viewport", [PHONE])
def test_the_console_fits_a_phone(page: Page, errors: list[str]) -> None:
    key = _company(page, "awa", "Chez Awa")
    _sign_in(page, key)
    answer = _ask(page, "awa", "Bonjour")
    assert answer
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE.width, width  # nothing overflows sideways
