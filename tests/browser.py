"""Browser-test plumbing: a live threaded server and Playwright on Debian's Chromium.

No browser is ever downloaded: Playwright drives /usr/bin/chromium. Screenshots
go to test-artifacts/screenshots/ for people to look at after a CI run.

Playwright is imported when a browser test runs, never when a module is collected: the rest of the
suite runs where Playwright is not installed. Browser tests wait on conditions (``expect()``,
``wait_for_url``, ``wait_for_function``), never on the clock.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("TRACKER_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _missing(message: str) -> None:
    """In CI a missing browser is a failure; on a developer's machine a loud skip."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        _missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")


def require_playwright() -> None:
    if importlib.util.find_spec("playwright") is None:
        _missing("Playwright is not installed (pip install playwright; no browser download needed)")


def expect(actual, message: str | None = None):
    """Playwright's ``expect()``, imported on first use."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(actual, message)


class LiveServer:
    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def _browser():
    require_playwright()
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)  # expect() waits as long as the contexts' actions (default 5 s)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(_browser):
    context = _browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context
    context.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
