"""The office's scheduler pages in Chromium: the rules form (a refused edit, then a saved one)
and the job runs with a failure marked. Screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import factories as f
from tests.browser import expect, shot
from tracker import clock, jobs
from tracker.models import JobRun, Role
from tracker.services.chasing import rules as reminder_rules

pytestmark = pytest.mark.browser


def test_office_edits_rules_and_reads_job_runs(live_server, browser_context, session, db):
    f.user(session, Role.SUPERVISOR, username="office", password="office-pass-1")
    session.commit()
    jobs.run_job(db, "reminders", clock.today())
    session.add(
        JobRun(
            job="daily",
            for_day=clock.today(),
            status="failed",
            started_at=clock.now() + timedelta(hours=1),
            error="OperationalError: could not connect to server",
        )
    )
    session.commit()
    page = browser_context.new_page()
    page.goto(live_server.url + "/login")
    page.fill("#username", "office")
    page.fill("#password", "office-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/")

    page.goto(live_server.url + "/office/reminder-rules")
    assert page.locator("#ladder").input_value() == "1,3,5"
    page.fill("#ladder", "5,3,1")
    page.click("form.card button[type=submit]")
    expect(page.locator(".invalid-feedback").first).to_contain_text("督办层级应为三个递增的工作日数")
    shot(page, "reminder-rules-refused")
    page.fill("#ladder", "2,4,6")
    page.select_option("#report_weekday", "4")
    page.click("form.card button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("催办规则已保存")  # the URL does not change
    assert page.locator("#ladder").input_value() == "2,4,6"
    shot(page, "reminder-rules-saved")
    session.expire_all()
    rules = reminder_rules.load_rules(session)
    assert rules["ladder"] == [2, 4, 6] and rules["report_weekday"] == 4

    page.click("text=定时任务运行记录")
    page.wait_for_url(live_server.url + "/office/jobs")  # count() does not wait for the new page
    rows = page.locator("#job-runs tbody tr")
    expect(rows).to_have_count(2)
    assert rows.first.get_attribute("data-status") == "failed" and "table-danger" in rows.first.get_attribute("class")
    assert "OperationalError" in rows.first.inner_text()
    assert "完成" in rows.nth(1).inner_text()
    shot(page, "job-runs")
