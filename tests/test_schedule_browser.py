"""每周调度 in Chromium: the office generates the week, puts a blocked item on the agenda,
records the 调度推进会议 and prints the week; screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from tests import factories as f
from tests.browser import shot
from tracker import clock
from tracker.models import ScheduleItem, Source, SourceKind, Task, User
from tracker.services.tasks import lifecycle as task_svc

pytestmark = pytest.mark.browser


def test_office_runs_the_weekly_schedule_in_chromium(live_server, browser_context, session):
    with clock.frozen(date(2026, 11, 16)):
        d = f.district(session)
        late = f.task_in(session, d, "in_progress", title="推进产业园基础设施建设", due_date=date(2026, 11, 20))
        blocked = f.task_in(session, d, "in_progress", title="推进重点项目用地报批", due_date=date(2026, 12, 31))
        task_svc.report_progress(
            session,
            d.lead_clerk,
            blocked.id,
            {"text": "已完成组卷", "problems": "需争取市级用地指标", "next_steps": "提请分管副区长向市自然资源局汇报"},
        )
        session.commit()
    username = session.get(User, d.office.user_id).username

    page = browser_context.new_page()
    page.goto(live_server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", "Factory-pass-7")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    page.click("nav >> text=每周调度")
    page.wait_for_url("**/office/schedule/")
    assert "尚未生成调度清单" in page.inner_text("main")
    page.click("#generate")
    page.wait_for_selector("#counts")
    assert page.inner_text("#counts [data-section=overdue]") == "1"
    assert page.inner_text("#counts [data-section=blocked]") == "1"
    assert late.code in page.inner_text("table[data-section=overdue]")
    shot(page, "schedule-01-generated")

    item = session.exec(
        select(ScheduleItem).where(ScheduleItem.task_id == blocked.id, ScheduleItem.section == "blocked")
    ).one()
    row = page.locator(f"tr[data-item='{item.id}']").first
    assert row.locator("select[name$=category]").input_value() == "向上争取类"
    row.locator("input[name$=on_agenda]").check()
    row.locator("textarea[name$=proposal]").fill("由常务副区长带队向市自然资源局汇报")
    page.click("#save-agenda")
    page.wait_for_selector("#agenda-table")
    assert "由常务副区长带队向市自然资源局汇报" in page.inner_text("#agenda-table")
    shot(page, "schedule-02-agenda")

    agenda_row = page.locator(f"#agenda-table tr[data-item='{item.id}']")
    agenda_row.locator("select[name$=action]").select_option("new_task")
    agenda_row.locator("textarea[name$=decision]").fill("区自然资源局牵头，11月30日前完成用地指标申请")
    agenda_row.locator("input[name$=title]").fill("完成重点项目用地指标申请")
    agenda_row.locator("input[name$=due_date]").fill("2026-11-30")
    page.fill("#meeting_date", "2026-11-24")
    page.click("#record-meeting")
    page.wait_for_selector("#meeting")
    assert "本周调度会议已于 2026-11-24 召开" in page.inner_text("#meeting")
    shot(page, "schedule-03-meeting")
    src = session.exec(select(Source).where(Source.kind == SourceKind.SCHEDULING_MEETING)).one()
    new = session.exec(select(Task).where(Task.source_id == src.id)).one()
    assert (new.title, new.status) == ("完成重点项目用地指标申请", "assigned")

    page.click("#print-link")
    page.wait_for_selector(".sheet")
    assert "调度推进会议议程（1 项）" in page.inner_text(".sheet")
    shot(page, "schedule-04-print")


def test_office_splits_key_work_in_chromium(live_server, browser_context, session):
    with clock.frozen(date(2026, 11, 16)):
        d = f.district(session)
        src = f.source(
            session, kind=SourceKind.KEY_WORK, title="2026年政府工作报告重点工作", source_date=date(2026, 1, 20)
        )
        root = f.task_in(
            session, d, "in_progress", title="推进城市更新三年行动", source_id=src.id, due_date=date(2026, 12, 31)
        )
        session.commit()
    page = browser_context.new_page()
    page.goto(live_server.url + "/login")
    page.fill("#username", session.get(User, d.office.user_id).username)
    page.fill("#password", "Factory-pass-7")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")
    page.goto(f"{live_server.url}/tasks/{root.id}")
    assert "尚未分解到下一级" in page.inner_text("#cascade-section")
    page.click("#cascade-section >> text=分解下一级")
    page.wait_for_selector("#cascade-form")
    assert page.input_value("input[name=rows-0-title]") == "推进城市更新三年行动——第四季度工作要点"
    assert page.input_value("input[name=rows-0-due_date]") == "2026-12-31"
    shot(page, "schedule-05-cascade-form")
    page.click("#create-children")
    page.wait_for_selector("#children")
    kid = session.exec(select(Task).where(Task.parent_id == root.id)).one()
    assert kid.status == "assigned" and kid.due_date == date(2026, 12, 31)
    page.goto(f"{live_server.url}/tasks/{root.id}")
    assert "汇总进度 0.0%" in page.inner_text("#cascade-section") and kid.code in page.inner_text("#cascade-section")
    shot(page, "schedule-06-task-rollup")
