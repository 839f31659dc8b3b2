"""The inbox in a real browser: the badge shows the unread count, the digest's links open
the task, "全部标为已读" clears the badge; the office's delivery log shows a dead send."""

from datetime import date

import pytest
from sqlmodel import select

from tests import factories as f
from tests.browser import expect, shot
from tracker.config import Settings
from tracker.models import Delivery, Notification, NotificationChannel, User
from tracker.services.notify import digest
from tracker.services.notify import messages as notify

pytestmark = pytest.mark.browser


def _login(page, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", "Factory-pass-7")
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)  # wait_for_load_state() may see the login page


def test_inbox_badge_and_links_in_chromium(live_server, browser_context, session):
    d = f.district(session)
    with f.on(date(2026, 11, 2)):
        late = f.task_in(session, d, "in_progress", title="老旧小区改造", due_date=date(2026, 11, 18))
    session.commit()
    digest.build_digests(session, date(2026, 11, 23), settings=Settings(env="testing", base_url=live_server.url))
    session.commit()
    page = browser_context.new_page()
    _login(page, live_server.url, session.get(User, d.lead_clerk.user_id).username)
    assert page.locator("#nav-unread").inner_text() == "1"
    page.click("#nav-inbox")
    page.wait_for_url(live_server.url + "/notifications/")
    assert "督办每日提醒（2026年11月23日）" in page.locator("main").inner_text()
    shot(page, "notifications-inbox")
    page.click(f"a[href='{live_server.url}/tasks/{late.id}']")
    page.wait_for_url(f"{live_server.url}/tasks/{late.id}")
    assert "老旧小区改造" in page.locator("main").inner_text()
    page.goto(live_server.url + "/notifications/")
    page.click("text=全部标为已读")
    expect(page.locator("main")).to_contain_text("已将 1 条消息标为已读")  # the redirected page
    assert page.locator("#nav-unread").count() == 0


def test_office_sees_a_dead_delivery_in_chromium(live_server, browser_context, session):
    d = f.district(session)
    note = notify.notify_user(
        session, d.lead_clerk.user_id, "system", "测试消息", "正文", settings=Settings(env="testing")
    )
    ch = NotificationChannel(
        name="发改委企业微信群", flavour="wecom", url="http://127.0.0.1:9/hook", department_id=d.lead_id
    )
    session.add(ch)
    session.flush()
    session.add(
        Delivery(
            notification_id=note.id,
            channel="webhook",
            target=str(ch.id),
            status="dead",
            attempts=6,
            last_error="Webhook 返回 HTTP 503",
        )
    )
    session.commit()
    page = browser_context.new_page()
    _login(page, live_server.url, session.get(User, d.office.user_id).username)
    page.goto(live_server.url + "/notifications/deliveries")
    row = page.locator("tbody tr").first
    assert "已放弃" in row.inner_text() and "发改委企业微信群" in row.inner_text()
    shot(page, "notifications-deliveries")
    row.locator("text=重试").click()
    expect(page.locator("main")).to_contain_text("已重新排队")
    session.expire_all()
    assert session.exec(select(Delivery)).one().status == "pending"
    assert session.exec(select(Notification)).one().title == "测试消息"
