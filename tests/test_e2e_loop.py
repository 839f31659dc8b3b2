"""The whole supervision loop in Chromium, as the three people who live it.

The office registers a meeting, pastes its minutes, checks the proposed table
and assigns every item; the lead department's clerk acknowledges, reports with
a PDF, asks for an extension; the office grants it; the deadline passes and the
leader sees the task among the overdue ones; the clerk asks to close, the
office returns it, the clerk reports again and asks once more, the office
closes it, and it leaves the leader's overdue list. Every page is screenshotted.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from tests import factories as f
from tests.browser import shot
from tracker import clock
from tracker.models import Attachment, AuditEvent, CloseRequest, ExtensionRequest, ProgressReport, Role, Source, Task
from tracker.services.actors import SYSTEM
from tracker.services.organisation import directory as organisation

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

MINUTES = (
    "一、关于重点项目储备工作。由区发改委牵头，区财政局配合，于11月30日前完成项目储备库更新。吴海涛副区长负责统筹。\n"
    "二、关于年度预算执行。由区财政局牵头，12月底前报送预算执行情况。吴海涛副区长负责督促。\n"
    "三、关于专项债券申报。由区发改委牵头，区财政局配合，于12月20日前完成申报材料。吴海涛副区长负责协调。\n"
)
PASSWORD = "Factory-pass-7"


def _login(browser, server, username: str, landing: str, name: str):
    """A fresh browser context per person: nothing of the previous user's session leaks."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm prompts
    page.goto(server.url + "/login")
    shot(page, f"{name}-login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + landing)
    shot(page, f"{name}-landing")
    return context, page


def _flash(page) -> str:
    return page.locator(".alert-success").first.inner_text()


def test_the_whole_loop_in_chromium(live_server, browser_context, session, tmp_path):
    lead = f.department(session, "区发展和改革委员会", aliases=["区发改委"])
    f.department(session, "区财政局")
    f.department(session, "区教育局")
    boss = f.leader(session, "吴海涛", "副区长", department_ids=[lead.id])
    organisation.create_user(session, SYSTEM, "office", "督查室张科长", PASSWORD, Role.SUPERVISOR)
    organisation.create_user(session, SYSTEM, "fgw", "发改委联络员", PASSWORD, Role.CLERK, department_id=lead.id)
    organisation.create_user(session, SYSTEM, "wuht", "吴海涛", PASSWORD, Role.LEADER, leader_id=boss.id)
    session.commit()
    browser = browser_context.browser
    url = live_server.url
    contexts = []
    try:
        # --- the office: register the meeting, decompose, assign ----------------------
        ctx, office = _login(browser, live_server, "office", "/", "e2e-01-office")
        contexts.append(ctx)
        office.goto(url + "/office/sources?new=1")
        office.select_option("#kind", "executive_meeting")
        office.fill("#source_date", "2026-11-20")
        office.fill("#reference", "第15次")
        office.fill("#title", "区政府第15次常务会议")
        shot(office, "e2e-02-source-form")
        office.click("#source-form button[type=submit]")
        office.wait_for_url("**/office/sources/*")
        assert "已登记任务来源“区政府第15次常务会议”" in _flash(office)
        shot(office, "e2e-03-source")
        src = session.exec(select(Source).where(Source.title == "区政府第15次常务会议")).one()

        office.goto(f"{url}/office/sources/{src.id}/decompose")
        office.fill("#text", MINUTES)
        office.click("button[name=action][value=split]")
        office.wait_for_selector("#drafts")
        shot(office, "e2e-04-drafts")
        assert office.locator("h2", has_text="拟登记事项").inner_text() == "拟登记事项（3）"
        rows = office.locator("#drafts tbody tr")
        assert rows.count() == 3
        assert office.input_value("[name='rows-0-lead']") == "区发改委"
        assert office.input_value("[name='rows-1-lead']") == "区财政局"
        assert office.input_value("[name='rows-0-due_date']") == "2026-11-30"
        assert office.input_value("[name='rows-2-due_date']") == "2026-12-20"
        assert office.locator("#drafts .unresolved").count() == 0
        assert "已识别：区发改委" in rows.nth(0).inner_text() and "已识别：吴海涛" in rows.nth(0).inner_text()
        office.click("button[name=action][value=assign]")
        office.wait_for_url(f"{url}/office/sources/{src.id}")
        assert "已登记并交办 3 项督办事项" in _flash(office)
        shot(office, "e2e-05-assigned")
        session.expire_all()
        created = session.exec(select(Task).where(Task.source_id == src.id).order_by(Task.id)).all()
        assert [t.status for t in created] == ["assigned"] * 3
        task = created[0]
        assert (task.lead_department_id, task.due_date) == (lead.id, date(2026, 11, 30))
        assert task.title in office.locator("main").inner_text()

        # --- the lead clerk: inbox, acknowledge, report with a PDF, extension ------------
        ctx, clerk = _login(browser, live_server, "fgw", "/dept/", "e2e-06-clerk")
        contexts.append(ctx)
        row = clerk.locator(f"#acknowledge tr[data-task='{task.id}']")
        assert task.title in row.inner_text()
        row.locator("button", has_text="签收").click()
        clerk.wait_for_url(url + "/dept/")
        shot(clerk, "e2e-07-acknowledged")
        clerk.goto(f"{url}/tasks/{task.id}")
        pdf = tmp_path / "储备库更新情况.pdf"
        pdf.write_bytes(PDF)
        clerk.fill("#report-text", "已完成储备库初步梳理，共入库项目12个")
        clerk.fill("#report-percent", "40")
        clerk.locator("#report-files").set_input_files(str(pdf))
        shot(clerk, "e2e-08-report-form")
        clerk.click("#report button[type=submit]")
        clerk.wait_for_url(f"{url}/tasks/{task.id}")
        assert "进展已报送，附件 1 个" in _flash(clerk)
        assert "储备库更新情况.pdf" in clerk.locator("main").inner_text()
        clerk.locator("#extension summary").click()
        clerk.fill("#ext-date", "2026-12-10")
        clerk.fill("#request_extension-reason", "部分项目前期资料尚未齐全")
        clerk.locator("#extension button[type=submit]").click()
        clerk.wait_for_url(f"{url}/tasks/{task.id}")
        shot(clerk, "e2e-09-extension-requested")
        assert "延期申请审核中：拟延至 2026-12-10" in clerk.locator("#extension").text_content()

        # --- the office grants the extension in the review queue ----------------------
        office.goto(url + "/office/review")
        ext = session.exec(select(ExtensionRequest).where(ExtensionRequest.task_id == task.id)).one()
        card = office.locator(f"[data-review='extension-{ext.id}']")
        assert "延至 2026-12-10" in card.inner_text()
        shot(office, "e2e-10-review-extension")
        card.locator("button[value=approve]").click()
        office.wait_for_url(url + "/office/review")
        assert "已同意延期，完成时限已调整" in _flash(office)
        shot(office, "e2e-11-extension-approved")

        # --- time passes: the extended deadline is over; the leader sees it as overdue ----
        clock.set_today(date(2026, 12, 14))
        ctx, leader = _login(browser, live_server, "wuht", "/leader/", "e2e-12-leader")
        contexts.append(ctx)
        overdue = leader.locator("#overdue")
        assert "逾期事项（1）" in overdue.inner_text()
        assert task.title in overdue.locator(f"tr[data-task='{task.id}']").inner_text()
        shot(leader, "e2e-13-leader-overdue")

        # --- close, returned, again, closed ------------------------------------------
        # Three weeks later the morning's logins have long timed out (2 hours idle): log in again.
        clerk.goto(f"{url}/tasks/{task.id}")
        assert "/login?next=" in clerk.url
        ctx, clerk = _login(browser, live_server, "fgw", "/dept/", "e2e-13b-clerk-again")
        contexts.append(ctx)
        ctx, office = _login(browser, live_server, "office", "/", "e2e-13c-office-again")
        contexts.append(ctx)
        clerk.goto(f"{url}/tasks/{task.id}")
        clerk.fill("#request_close-summary", "储备库已更新完毕")
        clerk.locator("#close button[type=submit]").click()
        clerk.wait_for_url(f"{url}/tasks/{task.id}")
        shot(clerk, "e2e-14-close-requested")

        office.goto(url + "/office/review")
        card = office.locator(f"[data-review='close-{task.id}']")
        assert "储备库已更新完毕" in card.inner_text()
        card.locator("textarea[name=note]").fill("缺少入库项目清单，请补充")
        card.locator("button[value=reject]").click()
        office.wait_for_url(url + "/office/review")
        assert "已退回，事项回到办理中" in _flash(office)
        shot(office, "e2e-15-returned")

        clerk.goto(url + "/dept/")
        returned = clerk.locator(f"tr[data-task='{task.id}']")
        assert "退回意见：缺少入库项目清单，请补充" in returned.inner_text()
        shot(clerk, "e2e-16-inbox-returned")
        clerk.goto(f"{url}/tasks/{task.id}")
        clerk.fill("#report-text", "已补充入库项目清单")
        clerk.fill("#report-percent", "100")
        clerk.click("#report button[type=submit]")
        clerk.wait_for_url(f"{url}/tasks/{task.id}")
        clerk.fill("#request_close-summary", "储备库已更新完毕，项目清单已补充")
        clerk.locator("#close button[type=submit]").click()
        clerk.wait_for_url(f"{url}/tasks/{task.id}")
        shot(clerk, "e2e-17-close-again")

        leader.goto(url + "/leader/")
        assert task.title in leader.locator("#overdue").inner_text()  # still open: still overdue
        office.goto(url + "/office/review")
        card = office.locator(f"[data-review='close-{task.id}']")
        assert "项目清单已补充" in card.inner_text()
        card.locator("button[value=approve]").click()
        office.wait_for_url(url + "/office/review")
        assert "已审核办结" in _flash(office)
        assert "没有待审核的办结申请。" in office.locator("main").inner_text()
        shot(office, "e2e-18-closed")

        leader.goto(url + "/leader/")
        assert leader.locator(f"#overdue tr[data-task='{task.id}']").count() == 0
        assert "逾期事项（0）" in leader.locator("#overdue").inner_text()
        assert task.title in leader.locator("#other").inner_text()
        shot(leader, "e2e-19-leader-after")
        clerk.goto(f"{url}/tasks/{task.id}")
        shot(clerk, "e2e-20-task-closed")
    finally:
        for ctx in contexts:
            ctx.close()
        clock.set_today(date(2026, 11, 23))

    # --- the database ---------------------------------------------------------------------
    session.expire_all()
    task = session.get(Task, task.id)
    assert task.status == "closed"
    assert (task.original_due_date, task.due_date) == (date(2026, 11, 30), date(2026, 12, 10))
    assert session.get(ExtensionRequest, ext.id).status == "approved"
    closes = session.exec(select(CloseRequest).where(CloseRequest.task_id == task.id).order_by(CloseRequest.id)).all()
    assert [c.status for c in closes] == ["rejected", "approved"]
    reports = session.exec(
        select(ProgressReport).where(ProgressReport.task_id == task.id).order_by(ProgressReport.id)
    ).all()
    assert [(r.text, r.percent) for r in reports] == [
        ("已完成储备库初步梳理，共入库项目12个", 40),
        ("已补充入库项目清单", 100),
    ]
    [att] = session.exec(select(Attachment).where(Attachment.task_id == task.id)).all()
    assert (att.original_name, att.report_id) == ("储备库更新情况.pdf", reports[0].id)
    actions = [
        e.action for e in session.exec(select(AuditEvent).where(AuditEvent.task_id == task.id).order_by(AuditEvent.id))
    ]
    expected = [
        "create",
        "assign",
        "acknowledge",
        "report",
        "request_extension",
        "approve_extension",
        "request_close",
        "return",
        "report",
        "request_close",
        "approve_close",
    ]
    assert [a for a in actions if a != "attachment_upload"] == expected, actions
    assert "attachment_upload" in actions
    others = [t for t in session.exec(select(Task).where(Task.source_id == src.id)) if t.id != task.id]
    assert sorted(t.status for t in others) == ["assigned", "assigned"]
