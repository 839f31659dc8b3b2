"""The audit viewer in Chromium, at a desktop's 1366 px and a phone's 390 px: the office opens
it from the menu, filters by action and by days, exports what it filtered, and finds the export
in the log. Screenshots in test-artifacts/screenshots/audit-*.png."""

from __future__ import annotations

from datetime import date

import openpyxl
import pytest
from sqlmodel import select

from tests import factories as f
from tests.browser import expect, shot
from tracker import clock
from tracker.models import AuditEvent, Role
from tracker.services import audit
from tracker.services.actors import SYSTEM

pytestmark = pytest.mark.browser


@pytest.fixture
def logged(session):
    d = f.district(session)
    f.user(session, Role.SUPERVISOR, username="office", password="office-pass-1")
    with clock.frozen(date(2026, 11, 16)):
        first = f.task_in(session, d, "in_progress", title="推进老旧小区改造")
    f.task_in(session, d, "assigned", title="校园安全专项检查")
    audit.record(session, SYSTEM, "remind", entity="task", entity_id=first.id, task_id=first.id, note="逾期自动催办")
    session.commit()
    return d


def _login(page, url):
    page.goto(url + "/login")
    page.fill("#username", "office")
    page.fill("#password", "office-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


def test_the_office_filters_and_exports_the_log(live_server, _browser, session, logged, tmp_path):
    context = _browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    _login(page, live_server.url)
    page.get_by_role("link", name="审计日志").first.click()
    page.wait_for_url(live_server.url + "/audit/")
    rows = page.locator("#audit-events tbody tr[data-event-id]")
    expect(rows.first).to_be_visible()
    expect(page.locator("#audit-events")).to_contain_text("登记立项")
    shot(page, "audit-1366")

    # by action: only 签收, each linked to its task
    page.select_option("#action", "acknowledge")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_url("**/audit/?*action=acknowledge*")
    expect(rows).to_have_count(1)  # the assigned task is not acknowledged yet
    expect(rows.first).to_have_attribute("data-action", "acknowledge")
    expect(rows.first.locator("a")).to_contain_text("DB-")

    # by days: the 16th only (the first task's whole story up to its report)
    page.select_option("#action", "")
    page.fill("#date_from", "2026-11-16")
    page.fill("#date_to", "2026-11-16")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_url("**date_from=2026-11-16*")
    expect(rows).to_have_count(4)  # 登记立项, 交办, 签收, 报送进展
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.action)")) == {
        "create",
        "assign",
        "acknowledge",
        "report",
    }
    shot(page, "audit-1366-filtered")

    # the export takes the same filters
    with page.expect_download() as download:
        page.click("#audit-export")
    path = tmp_path / "audit.xlsx"
    download.value.save_as(path)
    ws = openpyxl.load_workbook(path).active
    assert "时间：2026-11-16 至 2026-11-16" in ws["A1"].value
    assert sorted(r[3] for r in ws.iter_rows(min_row=3, values_only=True)) == sorted(
        ["登记立项", "交办", "签收", "报送进展"]
    )

    # and is itself in the log
    page.goto(live_server.url + "/audit/?action=audit_export")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("导出审计日志")
    session.expire_all()
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "audit_export")).one().after["rows"] == 4
    context.close()


def test_the_log_reads_on_a_phone(live_server, _browser, session, logged):
    context = _browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    _login(page, live_server.url)
    page.goto(live_server.url + "/audit/?q=自动催办")
    rows = page.locator("#audit-events tbody tr[data-event-id]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("催办")
    expect(page.locator("#audit-export")).to_be_visible()
    # the page itself does not scroll sideways: the table scrolls inside its own box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "audit-390")
    context.close()
