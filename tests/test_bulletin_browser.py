"""The bulletin page in Chromium: readable on screen, printable on A4 without navigation,
and the 打印 button works under the CSP (its script is a static file)."""

from __future__ import annotations

from datetime import date

import pytest

from tests import scoring_district
from tests.browser import shot
from tracker import clock
from tracker.models import User
from tracker.services.figures import bulletins

pytestmark = pytest.mark.browser


def test_bulletin_page_prints_without_navigation(live_server, browser_context, session):
    sc = scoring_district.build(session)
    with clock.frozen(date(2026, 11, 2)):
        b = bulletins.generate_bulletin(session, "month", "2026-10")
    session.commit()
    username = session.get(User, sc.d.other_clerk.user_id).username  # a department reads the published notice
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", "Factory-pass-7")
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)  # wait_for_load_state() may see the login page
    page.goto(f"{live_server.url}/bulletins/{b.id}")
    assert page.locator("h1").inner_text() == "督查督办工作月通报（2026年10月）"
    assert page.locator("tr[data-rank='1'] td").nth(1).inner_text() == "区发展和改革委员会"
    shot(page, "bulletin-month")
    # (the trailing 0: an expression whose value is a function would be called by evaluate)
    page.evaluate("window.__printed = 0; window.print = function () { window.__printed += 1; }; 0")
    page.click("button[data-print]")
    assert page.evaluate("window.__printed") == 1
    page.emulate_media(media="print")
    assert not page.locator("nav.navbar").is_visible()
    assert not page.locator("button[data-print]").is_visible()
    assert page.locator("h1").is_visible()
    shot(page, "bulletin-month-print")
    assert not [e for e in errors if "Content Security Policy" in e]
