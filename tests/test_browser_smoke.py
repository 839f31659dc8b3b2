"""The login page in a real browser: the first of the end-to-end tests."""

import pytest

from tests import factories as f
from tests.browser import shot
from tracker.models import Role

pytestmark = pytest.mark.browser


def test_login_in_chromium(live_server, browser_context, session):
    f.user(session, Role.SUPERVISOR, username="office", password="office-pass-1")
    session.commit()
    page = browser_context.new_page()
    page.goto(live_server.url + "/")
    assert "/login" in page.url
    shot(page, "login")
    page.fill("#username", "office")
    page.fill("#password", "wrong-pass")
    page.click("button[type=submit]")
    assert page.locator(".alert-danger").inner_text() == "用户名或密码错误"
    page.fill("#password", "office-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    assert page.locator("h1").inner_text() == "工作台"
    shot(page, "home-office")
