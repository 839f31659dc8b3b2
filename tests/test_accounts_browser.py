"""The sessions page in Chromium, on a desktop (1366 px) and a phone (390 px): reached from the
user menu, lists both logins, and "下线" ends the other browser's session at once."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.browser import expect, shot
from tracker.models import Role

pytestmark = pytest.mark.browser

PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 MicroMessenger/8.0.50"


def _log_in(page, url: str) -> None:
    page.goto(url + "/login")
    page.fill("#username", "fgw")
    page.fill("#password", f.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/dept/")


def test_sessions_page_on_desktop_and_phone(live_server, _browser, session):
    dep = f.department(session, "区发展和改革委员会")
    f.user(session, Role.CLERK, username="fgw", department_id=dep.id)
    session.commit()
    desktop = _browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    phone = _browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, user_agent=PHONE_UA, is_mobile=True, has_touch=True
    )
    try:
        on_desk, on_phone = desktop.new_page(), phone.new_page()
        _log_in(on_desk, live_server.url)
        _log_in(on_phone, live_server.url)

        on_desk.click("#nav-sessions")  # the user menu
        on_desk.wait_for_url(live_server.url + "/account/sessions")
        rows = on_desk.locator("#sessions [data-session]")
        expect(rows).to_have_count(2)
        expect(rows.filter(has_text="当前设备")).to_contain_text("Chrome")
        expect(rows.filter(has_text="微信 · iPhone")).to_have_count(1)
        shot(on_desk, "account-sessions-1366")

        on_phone.click(".navbar-toggler")  # the menu is folded on a phone
        on_phone.click("#nav-sessions")
        on_phone.wait_for_url(live_server.url + "/account/sessions")
        expect(on_phone.locator("#sessions [data-session]")).to_have_count(2)
        width = on_phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width  # nothing runs off the side of a phone
        shot(on_phone, "account-sessions-390")

        rows.filter(has_text="微信 · iPhone").get_by_role("button", name="下线").click()
        on_desk.wait_for_url(live_server.url + "/account/sessions")
        expect(on_desk.locator(".alert-success")).to_have_text("已让该设备退出登录")
        expect(on_desk.locator("#sessions [data-session]")).to_have_count(1)
        on_phone.goto(live_server.url + "/dept/")
        expect(on_phone.locator("h1")).to_have_text("登录")  # the phone's cookie is dead
    finally:
        desktop.close()
        phone.close()
