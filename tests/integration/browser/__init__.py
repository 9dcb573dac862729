"""Browser tests: Debian's Chromium driven by Playwright against the app on a real HTTP server.

The fixtures are in this folder's ``conftest.py`` (``live_server``, ``browser``, ``viewport``, ``page``);
what a test or a script imports is here: the two viewports and ``save_screenshot``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page


@dataclass(frozen=True)
class Viewport:
    name: str  # the test's id when parametrized: test_x[phone]
    width: int
    height: int
    #: a touch screen that honours ``<meta name="viewport">``, as a phone's browser does
    phone: bool = False


DESKTOP = Viewport("desktop", 1280, 800)
PHONE = Viewport("phone", 390, 844, phone=True)  # the CSS size of the common 6.1" phones


def save_screenshot(page: Page, path: Path | str, *, full_page: bool = False) -> Path:
    """Writes a PNG of ``page`` to ``path`` (its folders made), the same from one run to the next:
    animations stopped and no blinking caret, so that a screenshot under docs/ only changes with the page."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=target, full_page=full_page, animations="disabled", caret="hide")
    return target
