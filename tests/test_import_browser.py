"""The web importer in Chromium: the office uploads a ledger whose deadline and
progress columns were not recognised, names them, watches the dry run's progress
bar fill and finish, confirms, and opens the created tasks. Screenshots of every step.

The dry run is held at 1 of 2 rows (a gate in the background thread) until the
test has seen the bar at 50 %: watching the bar is then certain, not a race.
"""

from __future__ import annotations

import threading
from datetime import date

import openpyxl
import pytest
from sqlmodel import select

from tests.browser import shot
from tests.fixtures.helpers import load_district
from tracker.models import AuditEvent, ImportJob, LedgerMapping, Task
from tracker.services.ledger import jobs as import_svc

pytestmark = pytest.mark.browser


def _ledger(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["区政府第41次常务会议议定事项督办台账（截至2026年11月20日）"])
    ws.append(["序号", "任务来源", "会议日期", "督办事项", "牵头单位", "要求完成日期", "目前情况"])
    ws.append(["一、项目建设"])
    ws.append(
        [
            1,
            "区政府第41次常务会议",
            date(2026, 11, 18),
            "推进城东大道建设",
            "区交通运输局",
            "2026年12月31日",
            "已完成路基",
        ]
    )
    ws.append(
        [2, "区政府第41次常务会议", date(2026, 11, 18), "完成老旧小区改造", "区住房和城乡建设局", "15个工作日内", None]
    )
    path = tmp_path / "常务会议台账.xlsx"
    wb.save(path)
    return path


def test_office_imports_a_ledger_in_the_browser(live_server, browser_context, session, tmp_path, monkeypatch, request):
    load_district(session)  # the office user duchashi and the district's departments
    path = _ledger(tmp_path)
    gate = threading.Event()
    request.addfinalizer(gate.set)  # a failing test must not leave the job's thread waiting
    original = import_svc._read_and_plan

    def held(s, actor, kind, file, filename, options, progress):
        progress(1, 2)
        assert gate.wait(30), "the test never released the dry run"
        return original(s, actor, kind, file, filename, options, progress)

    monkeypatch.setattr(import_svc, "_read_and_plan", held)
    url = live_server.url
    page = browser_context.new_page()
    page.goto(url + "/login")
    page.fill("#username", "duchashi")
    page.fill("#password", "Factory-pass-7")
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")

    # The navigation and the task list both lead to the importer.
    page.goto(url + "/office/tasks")
    page.click("#import-link")
    page.wait_for_url(url + "/imports/")
    assert page.locator("nav a.nav-link", has_text="导入").count() == 1
    page.set_input_files("#file", str(path))
    shot(page, "import-01-upload")
    page.click("#upload-form button[type=submit]")
    page.wait_for_url("**/imports/*")
    job_id = int(page.url.rsplit("/", 1)[1])

    # Step 1: F and G were not recognised; name them.
    assert page.locator('select[name="map-0-5"]').input_value() == ""
    assert page.locator('select[name="map-0-3"]').input_value() == "title"
    page.select_option('select[name="map-0-5"]', "deadline")
    page.select_option('select[name="map-0-6"]', "progress")
    assert "border-warning" in page.locator('select[name="map-0-5"]').get_attribute("class")  # marked as changed
    shot(page, "import-02-mapping-corrected")
    page.click("#plan-button")

    # Step 2: the bar stands at 50 % while the dry run is held, then finishes.
    page.wait_for_selector('#progress-bar[aria-valuenow="50"]')
    assert "1 / 2 行" in page.locator("#progress-count").inner_text()
    shot(page, "import-03-dry-run-progress")
    gate.set()
    page.wait_for_selector("#confirm-button:not([disabled])", timeout=30_000)
    assert page.locator("#progress-card").count() == 0
    row = page.locator('tr[data-row="台账!4"]')
    assert row.locator('[data-cell="lead"]').inner_text() == "区交通运输局"
    assert row.locator('[data-cell="due"]').inner_text() == "2026-12-31"
    row = page.locator('tr[data-row="台账!5"]')
    assert row.locator('[data-cell="due"]').inner_text() == "2026-12-09"
    assert "项目建设" in page.locator('tr[data-row="台账!4"] [data-cell="title"]').inner_text()
    assert session.exec(select(Task)).first() is None  # a dry run writes nothing
    shot(page, "import-04-dry-run-report")

    # Step 3: confirm; the result links to the new tasks.
    page.click("#confirm-button")
    page.wait_for_selector("#result-summary", timeout=30_000)
    assert "新建 2 项" in page.locator("#result-summary").inner_text()
    shot(page, "import-05-result")
    session.expire_all()
    tasks = {t.title: t for t in session.exec(select(Task))}
    assert set(tasks) == {"推进城东大道建设", "完成老旧小区改造"}
    assert tasks["推进城东大道建设"].category == "一、项目建设"
    assert session.get(ImportJob, job_id).status == "done"
    assert session.exec(select(LedgerMapping)).one().fields["5"] == "deadline"
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "create")).all()) == 2
    page.click(f'a[data-task-link]:has-text("{tasks["推进城东大道建设"].code}")')
    page.wait_for_url(f"**/tasks/{tasks['推进城东大道建设'].id}")
    assert page.locator("#task-category").inner_text() == "一、项目建设"
    shot(page, "import-06-task")
    page.go_back()
    page.click("#result-links a >> nth=1")  # the office list filtered to the meeting's tasks
    page.wait_for_url("**/office/tasks?source_id=*")
    assert page.locator("body").inner_text().count("区政府第41次常务会议") >= 1
    for title in tasks:
        assert page.locator(f"text={title}").count() >= 1
    shot(page, "import-07-task-list")
