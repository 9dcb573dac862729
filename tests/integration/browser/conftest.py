"""Fixtures for browser tests: a real server, one Chromium for the session, a fresh page per test.

``page`` is opened on ``live_server`` (relative URLs work: ``page.goto("/console")``) at the test's
``viewport`` (desktop unless a test says ``@pytest.mark.parametrize("viewport", [PHONE])``). When a test
fails, the page is saved as ``failure.png`` in the test's tmp_path and the failure report says where,
with the page's JavaScript errors and console errors.

Chromium is Debian's package (``make test`` installs it): Playwright's own browser downloads come from a
CDN that CI cannot reach. Without it the browser tests fail, never skip: a skip would hide a console that
nobody tested.
"""

from __future__ import annotations

import shutil
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from comptoir.app import Comptoir
from comptoir.testing.server import serve_in_thread
from tests.integration.browser import DESKTOP, Viewport


@dataclass
class _OpenPage:
    page: Page
    failure_png: Path
    errors: list[str] = field(default_factory=list)


_OPEN_PAGE = pytest.StashKey[_OpenPage]()


@pytest.fixture
def live_server(comptoir: Comptoir) -> Iterator[str]:
    """The app on uvicorn in a thread of this process, on the test's own database: its base URL."""
    with serve_in_thread(comptoir) as base_url:
        yield base_url


# package scope: Playwright's synchronous API runs an event loop in this thread until it stops, and the
# tests after this folder's call asyncio.run()
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "chromium is not on PATH: the browser tests need Debian's package "
            "(`apt-get install chromium`, which `make test` runs)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        # Playwright passes --no-sandbox unless asked for the sandbox: Chromium's sandbox refuses root,
        # and containers rarely allow the user namespaces it needs otherwise
        launched = playwright.chromium.launch(executable_path=executable)
        yield launched
        launched.close()


@pytest.fixture
def viewport() -> Viewport:
    return DESKTOP


def pytest_make_parametrize_id(val: object) -> str | None:
    return val.name if isinstance(val, Viewport) else None


@pytest.fixture
def page(
    browser: Browser, live_server: str, viewport: Viewport, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server,
        viewport={"width": viewport.width, "height": viewport.height},
        is_mobile=viewport.phone,
        has_touch=viewport.phone,
    )
    opened = _OpenPage(context.new_page(), tmp_path / "failure.png")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            opened.errors.append(f"console: {message.text}")

    opened.page.on("pageerror", lambda error: opened.errors.append(f"uncaught: {error}"))
    opened.page.on("console", on_console)
    request.node.stash[_OPEN_PAGE] = opened
    yield opened.page
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failed test, saves its page while it is still open, and says where."""
    report = yield
    opened = item.stash.get(_OPEN_PAGE, None)
    if report.when == "call" and report.failed and opened is not None:
        try:
            opened.page.screenshot(path=opened.failure_png, full_page=True)
            lines = [f"screenshot: {opened.failure_png}", f"url: {opened.page.url}"]
        except PlaywrightError as exc:
            lines = [f"no screenshot: {exc.message}"]
        report.sections.append(("browser", "\n".join([*lines, *opened.errors])))
    return report
