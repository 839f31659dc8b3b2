"""The web importer through the Flask test client: upload, recognise and correct the
columns (remembered for the next file), dry run in the background, confirm, result.

The background thread uses its own sessions from the app's engine; the tests wait
for the job row itself (``wait_for``: poll with a timeout), never for a fixed time.
"""

from __future__ import annotations

import io
import re
import time
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import Session, select

from importers import Limits
from tests.fixtures.helpers import FIXTURES, SAMPLES, counts, load_district, office_actor
from tests.webutil import csrf_from, login
from tracker import clock
from tracker.models import (
    AuditEvent,
    Department,
    ImportJob,
    Leader,
    LedgerMapping,
    Role,
    Source,
    Task,
    User,
)
from tracker.services.actors import SYSTEM
from tracker.services.ledger import jobs as import_svc
from tracker.services.organisation import directory as organisation

TIMEOUT = 60  # seconds: generous for a loaded CI machine; the loop ends as soon as the job does


def wait_for(engine, job_id: int, statuses=("planned", "done", "failed"), timeout: float = TIMEOUT) -> ImportJob:
    """Poll the job row until its status is one of ``statuses`` (its thread has finished)."""
    deadline = time.monotonic() + timeout
    while True:
        with Session(engine) as s:
            job = s.get(ImportJob, job_id)
            if job is not None and job.status in statuses:
                s.expunge(job)
                return job
        if time.monotonic() > deadline:
            pytest.fail(f"import job {job_id} still {job.status if job else 'missing'} after {timeout} s")
        time.sleep(0.05)


@pytest.fixture
def org(session):
    return load_district(session)


@pytest.fixture
def office(client, org):
    resp = login(client, "duchashi")
    assert resp.status_code == 302
    return client


def upload(
    client, path: Path | None = None, *, kind: str = "ledger", data: bytes | None = None, name: str | None = None
):
    page = client.get("/imports/")
    token = csrf_from(page.get_data(as_text=True))
    body = data if data is not None else path.read_bytes()
    return client.post(
        "/imports/",
        data={"csrf_token": token, "kind": kind, "file": (io.BytesIO(body), name or path.name)},
        content_type="multipart/form-data",
    )


def job_id_of(resp) -> int:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    match = re.search(r"/imports/(\d+)$", resp.headers["Location"])
    assert match, resp.headers["Location"]
    return int(match.group(1))


def form_of(html: str, form_id: str) -> dict[str, str]:
    """The posted values of a form on the page: hidden inputs, selected options, checked boxes."""
    start = html.index(f'id="{form_id}"')
    end = html.index("</form>", start)
    part = html[start:end]
    values: dict[str, str] = {}
    for m in re.finditer(r'<input[^>]*name="([^"]+)"[^>]*>', part):
        tag = m.group(0)
        if 'type="checkbox"' in tag and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        values[m.group(1)] = value.group(1) if value else "on"
    for m in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', part, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', m.group(2))
        values[m.group(1)] = chosen.group(1) if chosen else ""
    return values


def plan(client, engine, job_id: int, **changes) -> tuple[ImportJob, str]:
    """Submit step 1 as shown, with ``changes``; wait for the dry run; the report page."""
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    values = form_of(page, "mapping-form")
    values.update(changes)
    values = {k: v for k, v in values.items() if v is not None}
    resp = client.post(f"/imports/{job_id}/plan", data=values)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/imports/{job_id}")
    job = wait_for(engine, job_id)
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "built-in method" not in page and "Undefined" not in page
    return job, page


def confirm(client, engine, job_id: int) -> tuple[ImportJob, str]:
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    resp = client.post(f"/imports/{job_id}/confirm", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    job = wait_for(engine, job_id, ("done", "failed", "planned"))
    page = client.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "built-in method" not in page
    return job, page


def report_row(html: str, where: str) -> str:
    m = re.search(rf'<tr data-row="{re.escape(where)}".*?</tr>', html, re.S)
    assert m, f"no row {where} in the report"
    return m.group(0)


def cell(row_html: str, name: str) -> str:
    m = re.search(rf'data-cell="{name}"[^>]*>(.*?)</td>', row_html, re.S)
    assert m, name
    return re.sub(r"<[^>]+>", " ", m.group(1)).split()[0] if m.group(1).strip() else ""


# --- the shared samples end to end ---------------------------------------------------------------


@pytest.fixture
def county(client, session):
    """The county of /work/shared/samples: its office logged in, its department list imported
    through the importer's department-list path."""
    office_actor(session)
    session.commit()
    assert login(client, "duchashi").status_code == 302
    job_id_of(upload(client, SAMPLES / "departments.xlsx", kind="departments"))
    return client


def test_sample_department_list_through_the_web(county, session, db):
    """(The county fixture uploaded samples/departments.xlsx as a department list.)"""
    job_id = session.exec(select(ImportJob.id).where(ImportJob.kind == "departments")).one()
    job, page = plan(county, db, job_id)
    assert job.status == "planned" and job.report["ok"] and job.report["counts"]["create"] == 10
    assert "县发展和改革委员会" in page and "县发改委" in page
    assert cell(report_row(page, job.report["rows"][0]["sheet"] + "!" + str(job.report["rows"][0]["row"])), "kind") in (
        "组成部门",
        "街道",
        "乡镇",
        "事业单位",
        "其他",
    )
    assert session.exec(select(Department.id)).first() is None  # dry run: nothing yet
    job, page = confirm(county, db, job_id)
    assert job.status == "done", job.error
    names = set(session.exec(select(Department.name)))
    assert len(names) == 10 and "县交通运输局" in names and "柳河乡人民政府" in names
    assert set(session.exec(select(Leader.name))) == {"高志远", "林晓东", "马丽", "何军"}
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "departments_import")).one()
    assert event.after["create"] == 10


def test_sample_meeting_ledger_dry_run_then_confirm(county, session, db, app):
    """samples/meeting_ledger.xlsx has no meeting dates: the dry run refuses the relative
    deadline until 基准日期 is given; then the four tasks are imported as drafts."""
    office = county
    dep_job = session.exec(select(ImportJob.id).where(ImportJob.kind == "departments")).one()
    plan(office, db, dep_job)
    assert confirm(office, db, dep_job)[0].status == "done"
    office_user = session.exec(select(User).where(User.username == "duchashi")).one()
    before = counts(session)

    job_id = job_id_of(upload(office, SAMPLES / "meeting_ledger.xlsx"))
    stored = session.get(ImportJob, job_id)
    assert stored.user_id == office_user.id and stored.status == "uploaded"
    assert stored.stored_name.endswith(".upload") and "meeting" not in stored.stored_name
    assert (Path(app.instance_path) / "imports" / stored.stored_name).exists()
    page = office.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "识别结果" in page and 'name="map-0-' in page

    job, page = plan(office, db, job_id)
    assert job.status == "planned" and job.report["counts"]["errors"] > 0
    assert 'id="confirm-button" disabled' in page and "不能导入" in page
    row = report_row(page, "台账!5")
    assert "需要起算日期" in row and "（G列）" in row
    assert counts(session) == before  # a dry run writes nothing

    job, page = plan(office, db, job_id, base_date="2026-11-16")
    assert job.status == "planned" and job.report["ok"] and job.report["counts"]["create"] == 4
    assert job.done == job.total == 4
    row = report_row(page, "台账!3")
    assert cell(row, "lead") == "县交通运输局" and cell(row, "due") == "2026-12-20"
    assert "县财政局、城关镇人民政府" in row and "2026年12月20日前" in row and "林晓东" in row
    row = report_row(page, "台账!5")
    assert cell(row, "lead") == "县教育体育局" and cell(row, "due") == "2026-12-07" and "15个工作日内" in row
    row = report_row(page, "台账!4")
    assert cell(row, "due") == "" and cell(row, "kind") == "长期" and "长期坚持" in row
    assert 'id="confirm-button" disabled' not in page and "确认导入（4 项新建）" in page
    assert '<td data-count="create">4</td>' in page and '<td data-count="update">0</td>' in page
    assert counts(session) == before

    job, page = confirm(office, db, job_id)
    assert job.status == "done", job.error
    assert not (Path(app.instance_path) / "imports" / job.stored_name).exists()  # removed when done
    tasks = {t.title: t for t in session.exec(select(Task))}
    assert set(tasks) == {
        "完成县城主干道改造设计方案。",
        "做好冬春季水利设施维护。",
        "制定学校食堂食品安全专项整治方案。",
        "研究养老服务中心运营模式。",
    }
    t = tasks["制定学校食堂食品安全专项整治方案。"]
    assert t.status == "draft" and t.due_date == date(2026, 12, 7) and t.deadline_text == "15个工作日内"
    assert t.created_by_id == office_user.id
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "create")).all()
    assert sorted(e.task_id for e in events) == sorted(x.id for x in tasks.values())
    assert all(e.actor_id == office_user.id for e in events)
    summary = session.exec(select(AuditEvent).where(AuditEvent.action == "ledger_import")).one()
    assert summary.after["created"] == 4 and summary.actor_id == office_user.id
    for x in tasks.values():
        assert f'href="/tasks/{x.id}"' in page and x.code in page
    assert "已导入：新建 4 项" in page
    src = session.exec(select(Source).where(Source.title == "县政府第8次常务会议")).one()
    assert f"source_id={src.id}" in page

    # A second confirm (another click, another tab) imports nothing.
    resp = office.post(f"/imports/{job_id}/confirm", data={"csrf_token": csrf_from(page)})
    assert resp.status_code == 302
    assert "不会重复导入" in office.get(f"/imports/{job_id}").get_data(as_text=True)
    assert len(session.exec(select(Task.id)).all()) == 4


@pytest.mark.parametrize(
    "fixture, where, lead, due, text",
    [
        ("suggestions_gbk.csv", "suggestions_gbk!2", "区教育局", "2026-12-31", "2026年12月31日前"),
        ("legacy.xls", "Sheet1!3", "城关街道办事处", "2026-12-31", "2026年12月底前"),
        ("meetings_multi_sheet.xlsx", "领导批示!3", "河口镇人民政府", "2026-11-24", "立即办理"),
    ],
)
def test_csv_xls_and_multi_sheet_fixtures_through_the_web(office, org, session, db, fixture, where, lead, due, text):
    job_id = job_id_of(upload(office, FIXTURES / fixture))
    job, page = plan(office, db, job_id)
    assert job.report["ok"], job.report["counts"]
    row = report_row(page, where)
    assert cell(row, "lead") == lead and cell(row, "due") == due and text in row
    job, _page = confirm(office, db, job_id)
    assert job.status == "done" and len(session.exec(select(Task.id)).all()) == job.report["counts"]["create"] > 0


def test_one_sheet_of_several_can_be_chosen(office, org, session, db):
    job_id = job_id_of(upload(office, FIXTURES / "meetings_multi_sheet.xlsx"))
    page = office.get(f"/imports/{job_id}").get_data(as_text=True)
    assert '<option value="常务会议">' in page and '<option value="领导批示">' in page
    job, page = plan(office, db, job_id, sheet="领导批示")
    assert job.options["sheet"] == "领导批示" and {r["sheet"] for r in job.report["rows"]} == {"领导批示"}
    assert _select(page, "sheet") == "领导批示"


# --- recognising and correcting columns ------------------------------------------------------------


def _odd_ledger(tmp_path: Path, name: str = "odd.xlsx") -> Path:
    """Two columns the synonyms do not know: 要求完成日期 (F) and 目前情况 (G)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["序号", "任务来源", "会议日期", "督办事项", "牵头单位", "要求完成日期", "目前情况"])
    ws.append([1, "区政府第41次常务会议", date(2026, 11, 18), "事项甲", "区财政局", "2026年12月31日", "已启动"])
    ws.append([2, "区政府第41次常务会议", date(2026, 11, 18), "事项乙", "区教育局", "15个工作日内", None])
    wb.save(tmp_path / name)
    return tmp_path / name


def _select(page: str, name: str) -> str:
    m = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert m, name
    chosen = re.search(r'<option value="([^"]*)" selected>', m.group(1))
    return chosen.group(1) if chosen else ""


def test_a_corrected_mapping_is_used_and_remembered_for_the_next_file(office, org, session, db, tmp_path):
    path = _odd_ledger(tmp_path)
    job_id = job_id_of(upload(office, path))
    page = office.get(f"/imports/{job_id}").get_data(as_text=True)
    assert _select(page, "map-0-3") == "title" and _select(page, "map-0-4") == "lead"
    assert _select(page, "map-0-5") == "" and _select(page, "map-0-6") == ""  # not recognised
    assert "2026年12月31日" in page  # sample values help to name the column

    job, page = plan(office, db, job_id)  # as guessed: no deadline read
    assert job.report["rows"][0]["due_date"] is None
    assert session.exec(select(LedgerMapping)).first() is None  # nothing corrected, nothing remembered

    job, page = plan(office, db, job_id, **{"map-0-5": "deadline", "map-0-6": "progress"})
    rows = {r["row"]: r for r in job.report["rows"]}
    assert rows[2]["due_date"] == "2026-12-31" and rows[2]["progress"] == "已启动" and rows[2]["lead"] == "区财政局"
    assert rows[3]["due_date"] == "2026-12-09" and rows[3]["deadline_text"] == "15个工作日内"  # from the meeting date
    assert cell(report_row(page, "台账!2"), "due") == "2026-12-31"
    session.expire_all()
    remembered = session.exec(select(LedgerMapping)).one()
    assert remembered.kind == "ledger" and remembered.fields["5"] == "deadline" and remembered.fields["6"] == "progress"
    assert remembered.headers[5] == "要求完成日期"
    assert remembered.updated_by_id == session.exec(select(User.id).where(User.username == "duchashi")).one()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "remember_mapping")).one()
    assert event.after["fields"]["5"] == "deadline"

    # Another file with the same headers: read the remembered way at once.
    again = job_id_of(upload(office, _odd_ledger(tmp_path, "odd-december.xlsx")))
    page = office.get(f"/imports/{again}").get_data(as_text=True)
    assert "已按上次记住的对应关系识别" in page
    assert _select(page, "map-0-5") == "deadline" and _select(page, "map-0-6") == "progress"
    job, _page = plan(office, db, again)
    assert job.report["rows"][0]["due_date"] == "2026-12-31"


def test_two_columns_for_one_field_are_refused_with_the_reason(office, org, session, db, tmp_path):
    job_id = job_id_of(upload(office, _odd_ledger(tmp_path)))
    page = office.get(f"/imports/{job_id}").get_data(as_text=True)
    values = form_of(page, "mapping-form")
    values["map-0-5"] = "lead"  # E is 牵头单位 already
    resp = office.post(f"/imports/{job_id}/plan", data=values, follow_redirects=True)
    assert "列E和列F都选择了“牵头单位”" in resp.get_data(as_text=True)
    assert session.get(ImportJob, job_id).status == "uploaded"


# --- refusing what must not be imported --------------------------------------------------------------


def test_a_ledger_with_errors_cannot_be_confirmed_and_writes_nothing(office, org, session, db):
    before = counts(session)
    job_id = job_id_of(upload(office, FIXTURES / "errors.xlsx"))
    job, page = plan(office, db, job_id)
    assert job.status == "planned" and job.report["counts"]["errors"] >= 5
    assert 'id="confirm-button" disabled' in page
    assert "不能导入" in page and "请按提示修改文件后重新上传" in page
    row = report_row(page, "台账!2")
    assert "未找到单位“区不存在局”" in row and "（E列）" in row
    assert "无法识别的完成时限：“尽快”" in report_row(page, "台账!4")
    assert "未填写督办事项" in report_row(page, "台账!6")
    # Pressing it anyway (a forged request): refused, the job stays where it was, nothing written.
    resp = office.post(f"/imports/{job_id}/confirm", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "处错误，不能导入" in resp.get_data(as_text=True)
    session.expire_all()
    assert session.get(ImportJob, job_id).status == "planned"
    assert counts(session) == before


def test_a_failure_while_writing_leaves_nothing(office, org, session, db, monkeypatch):
    from tracker.services.ledger import commit as ledger_commit

    before = counts(session)
    job_id = job_id_of(upload(office, FIXTURES / "key_work_two_row.xlsx"))
    job, _page = plan(office, db, job_id)
    assert job.report["ok"] and job.report["counts"]["create"] == 5

    def broken(*args, **kwargs):  # after the sources and the five tasks were inserted
        raise RuntimeError("disk full")

    monkeypatch.setattr(ledger_commit, "_record_progress_bulk", broken)
    job, page = confirm(office, db, job_id)
    assert job.status == "failed" and "未导入任何内容" in job.error
    assert "未导入任何内容" in page
    session.expire_all()
    assert counts(session) == before  # no task, source, link or audit row survived


def test_another_users_job_and_a_forged_id_are_404(office, org, session, db, client, app):
    job_id = job_id_of(upload(office, FIXTURES / "key_work_two_row.xlsx"))
    organisation.create_user(session, SYSTEM, "duchashi2", "督查室李科长", "Factory-pass-7", Role.SUPERVISOR)
    session.commit()
    other = app.test_client()
    assert login(other, "duchashi2").status_code == 302
    page = other.get("/imports/").get_data(as_text=True)
    for url in (f"/imports/{job_id}", f"/imports/{job_id}/progress"):
        assert other.get(url).status_code == 404
    for url in (f"/imports/{job_id}/plan", f"/imports/{job_id}/confirm"):
        assert other.post(url, data={"csrf_token": csrf_from(page)}).status_code == 404
    assert office.get("/imports/999999").status_code == 404
    assert office.get("/imports/999999/progress", headers={"Accept": "application/json"}).status_code == 404
    session.expire_all()
    assert session.get(ImportJob, job_id).status == "uploaded"


def test_csrf_is_enforced(office, org, session, db):
    resp = office.post(
        "/imports/", data={"kind": "ledger", "file": (io.BytesIO(b"x"), "a.xlsx")}, content_type="multipart/form-data"
    )
    assert resp.status_code == 400
    assert session.exec(select(ImportJob)).first() is None
    job_id = job_id_of(upload(office, FIXTURES / "key_work_two_row.xlsx"))
    for url in (f"/imports/{job_id}/plan", f"/imports/{job_id}/confirm"):
        assert office.post(url, data={"csrf_token": "forged"}).status_code == 400
    session.expire_all()
    assert session.get(ImportJob, job_id).status == "uploaded"


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("报告.pdf", b"%PDF-1.4 not a ledger", "“报告.pdf”不是 Excel 或 CSV 文件"),
        ("台账.xlsx", b"PK\x03\x04 broken zip", "文件已损坏"),
        ("台账.xlsx", b"", "文件为空"),
        ("台账.xlsx", None, "文件过大（超过 2 KB）"),
    ],
)
def test_bad_uploads_get_a_clear_chinese_error_and_leave_nothing(
    office, org, session, app, monkeypatch, name, data, message
):
    monkeypatch.setattr(import_svc, "LIMITS", Limits(max_file_bytes=2048))
    body = data if data is not None else (FIXTURES / "key_work_two_row.xlsx").read_bytes()
    assert len(body) > 2048 or data is not None
    resp = upload(office, data=body, name=name)
    assert resp.status_code == 422
    text = resp.get_data(as_text=True)
    assert message in text and 'id="upload-error"' in text
    assert session.exec(select(ImportJob)).first() is None
    folder = Path(app.instance_path) / "imports"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_word_document_renamed_xlsx_is_refused(office, org, session, tmp_path):
    import zipfile

    path = tmp_path / "伪装.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    resp = upload(office, path)
    assert resp.status_code == 422 and "文件不是 Excel 工作簿" in resp.get_data(as_text=True)


def test_a_file_without_a_ledger_table_is_refused_at_upload(office, org, session, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["本表仅供参考"])
    wb.save(tmp_path / "空表.xlsx")
    resp = upload(office, tmp_path / "空表.xlsx")
    assert resp.status_code == 422 and "未在文件中找到督办台账表格" in resp.get_data(as_text=True)
    assert session.exec(select(ImportJob)).first() is None


def test_only_the_office_imports_ledgers_and_the_admin_department_lists(client, org, session, db):
    organisation.create_user(session, SYSTEM, "admin", "管理员", "Factory-pass-7", Role.ADMIN)
    session.commit()
    assert login(client, "admin").status_code == 302
    page = client.get("/imports/").get_data(as_text=True)
    assert '<option value="departments"' in page and '<option value="ledger"' not in page
    assert upload(client, FIXTURES / "key_work_two_row.xlsx", kind="ledger").status_code == 403
    job_id = job_id_of(upload(client, FIXTURES / "departments_district.xlsx", kind="departments"))
    job, _page = plan(client, db, job_id)
    assert job.status == "planned" and job.report["counts"]["unchanged"] == job.report["counts"]["rows"]


# --- progress, dead threads, double clicks, old files ----------------------------------------------


def test_progress_json_and_the_bar(office, org, session, db):
    job_id = job_id_of(upload(office, FIXTURES / "key_work_two_row.xlsx"))
    body = office.get(f"/imports/{job_id}/progress").get_json()
    assert body == {
        "id": job_id,
        "status": "uploaded",
        "label": "待确认列",
        "done": 0,
        "total": 0,
        "percent": 0,
        "running": False,
        "error": None,
        "url": f"/imports/{job_id}",
    }
    job = session.get(ImportJob, job_id)
    job.status, job.done, job.total, job.updated_at = "planning", 3, 12, clock.now()
    session.add(job)
    session.commit()
    body = office.get(f"/imports/{job_id}/progress").get_json()
    assert (body["status"], body["percent"], body["running"]) == ("planning", 25, True)
    page = office.get(f"/imports/{job_id}").get_data(as_text=True)
    assert 'data-progress-url="/imports/%d/progress"' % job_id in page and 'aria-valuenow="25"' in page
    assert "js/imports.js" in page and "<script>" not in page  # CSP: no inline script


def test_a_job_whose_thread_died_is_failed_after_the_timeout_and_can_start_again(office, org, session, db):
    job_id = job_id_of(upload(office, FIXTURES / "key_work_two_row.xlsx"))
    job = session.get(ImportJob, job_id)
    job.status, job.options = "committing", {**job.options, "run": "lost-thread"}
    job.updated_at = clock.now() - import_svc.STALE_AFTER + timedelta(seconds=30)
    session.add(job)
    session.commit()
    assert office.get(f"/imports/{job_id}/progress").get_json()["status"] == "committing"  # not yet
    job.updated_at = clock.now() - import_svc.STALE_AFTER - timedelta(seconds=1)
    session.add(job)
    session.commit()
    body = office.get(f"/imports/{job_id}/progress").get_json()
    assert body["status"] == "failed" and "中断" in body["error"] and "未导入任何内容" in body["error"]
    assert session.exec(select(Task)).first() is None
    job, page = plan(office, db, job_id)  # started again from the same upload
    assert job.status == "planned" and job.report["counts"]["create"] == 5
    job, page = confirm(office, db, job_id)
    assert job.status == "done" and len(session.exec(select(Task.id)).all()) == 5


def test_a_second_confirm_never_imports_twice(office, org, session, db, app):
    job_id = job_id_of(upload(office, FIXTURES / "key_work_two_row.xlsx"))
    plan(office, db, job_id)
    from tracker.services.actors import Actor

    actor = Actor.of(session.exec(select(User).where(User.username == "duchashi")).one())
    with Session(db, expire_on_commit=False) as one, Session(db, expire_on_commit=False) as two:
        first = import_svc.start_commit(one, actor, import_svc.get_job(one, actor, job_id))
        job_two = import_svc.get_job(two, actor, job_id)  # read while still "planned" (another tab)
        one.commit()
        with pytest.raises(Exception) as refused:
            import_svc.start_commit(two, actor, job_two)
        two.rollback()
    assert "不会重复导入" in str(refused.value) or "正在导入" in str(refused.value)
    folder = import_svc.folder_of(app.instance_path)
    import_svc.run_job(db, job_id, first, folder)  # the one started run, in this thread
    session.expire_all()
    assert session.get(ImportJob, job_id).status == "done"
    assert len(session.exec(select(Task.id)).all()) == 5
    page = office.get(f"/imports/{job_id}").get_data(as_text=True)
    office.post(f"/imports/{job_id}/confirm", data={"csrf_token": csrf_from(page)})
    assert len(session.exec(select(Task.id)).all()) == 5
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "ledger_import")).all()) == 1


def test_files_are_removed_when_failed_or_a_day_old(office, org, session, db, app):
    folder = import_svc.folder_of(app.instance_path)
    old = job_id_of(upload(office, FIXTURES / "key_work_two_row.xlsx"))
    fresh = job_id_of(upload(office, FIXTURES / "meetings_multi_sheet.xlsx"))
    job = session.get(ImportJob, old)
    job.created_at = clock.now() - timedelta(days=1, minutes=1)
    session.add(job)
    session.commit()
    names = {j: session.get(ImportJob, j).stored_name for j in (old, fresh)}
    assert (folder / names[old]).exists() and (folder / names[fresh]).exists()
    assert office.get("/imports/").status_code == 200  # the list page tidies up
    session.expire_all()
    assert not (folder / names[old]).exists() and (folder / names[fresh]).exists()
    job = session.get(ImportJob, old)
    assert job.status == "failed" and "超过一天" in job.error
    page = office.get(f"/imports/{old}").get_data(as_text=True)
    assert "超过一天" in page and 'id="mapping-form"' not in page and "重新上传" in page


def test_a_large_ledger_reports_progress_and_pages_its_report(office, org, session, db, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "台账"
    ws.append(["序号", "任务来源", "会议日期", "督办事项", "牵头单位", "完成时限"])
    for i in range(1200):
        ws.append([i + 1, "区政府第40次常务会议", date(2026, 11, 18), f"批量事项{i + 1}", "区财政局", "2026年12月31日"])
    ws.merge_cells("B2:B1201")
    ws.merge_cells("C2:C1201")
    wb.save(tmp_path / "big.xlsx")
    job_id = job_id_of(upload(office, tmp_path / "big.xlsx"))
    job, page = plan(office, db, job_id)
    assert (job.status, job.done, job.total) == ("planned", 1200, 1200) and job.report["counts"]["create"] == 1200
    assert (
        f'href="/imports/{job_id}?page=12"' in page
        and 'data-row="台账!101"' in page
        and 'data-row="台账!102"' not in page
    )
    last = office.get(f"/imports/{job_id}?page=12").get_data(as_text=True)
    assert 'data-row="台账!1201"' in last and 'data-row="台账!2"' not in last
    job, page = confirm(office, db, job_id)
    assert job.status == "done" and len(session.exec(select(Task.id)).all()) == 1200


def test_assign_after_import_sends_every_new_task_out(office, org, session, db):
    job_id = job_id_of(upload(office, FIXTURES / "key_work_two_row.xlsx"))
    job, page = plan(office, db, job_id, assign="1")
    assert job.options["assign"] is True and job.report["ok"], job.report["counts"]
    job, page = confirm(office, db, job_id)
    assert job.status == "done", job.error
    tasks = session.exec(select(Task)).all()
    assert len(tasks) == 5 and {t.status for t in tasks} == {"assigned"}
    assigned = session.exec(select(AuditEvent.task_id).where(AuditEvent.action == "assign")).all()
    assert sorted(assigned) == sorted(t.id for t in tasks)
    assert "新建事项已直接交办" in page and "status=assigned" in page


# --- the ledger's sections ---------------------------------------------------------------------------


def test_sections_become_task_categories_shown_on_the_task_page(office, org, session, db):
    job_id = job_id_of(upload(office, FIXTURES / "key_work_two_row.xlsx"))
    job, page = plan(office, db, job_id)
    assert "一、扎实推进项目建设" in report_row(page, "重点工作!6")
    job, page = confirm(office, db, job_id)
    assert job.status == "done"
    tasks = {t.title: t for t in session.exec(select(Task))}
    assert tasks["推进城东片区道路建设"].category == "一、扎实推进项目建设"
    assert tasks["办好民生实事"].category == "二、持续改善民生"
    shown = office.get(f"/tasks/{tasks['办好民生实事'].id}").get_data(as_text=True)
    assert "二、持续改善民生" in shown


# --- 建议提案交办清单 (issue 7) -----------------------------------------------------------------------


def _motion_upload(client, path: Path, **form):
    """The upload form on the 建议提案 page (/motions/)."""
    token = csrf_from(client.get("/motions/").get_data(as_text=True))
    return client.post(
        "/motions/import",
        data={"csrf_token": token, **form, "file": (io.BytesIO(path.read_bytes()), path.name)},
        content_type="multipart/form-data",
    )


def test_the_motions_page_upload_leads_to_a_preview_then_confirm(office, org, session, db):
    from tests.fixtures.make_motion_fixtures import SUGGESTIONS
    from tracker.models import Motion

    page = office.get("/motions/").get_data(as_text=True)
    assert 'id="motion-import"' in page and "上传并预检" in page
    before = counts(session)
    job_id = job_id_of(_motion_upload(office, SUGGESTIONS))
    job = session.get(ImportJob, job_id)
    assert job.kind == "motions" and job.status == "uploaded"
    page = office.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "导入建议提案交办清单" in page and "识别结果" in page and "已识别为建议提案交办清单" not in page
    assert '<option value="proposer" selected>领衔代表/提案人</option>' in page  # the motion list's own labels
    assert (
        'name="motion_kind"' in page
        and "按清单判断（建议）" in page
        and "留空则按清单标题：区十七届人大三次会议" in page
    )
    assert re.search(r'<input[^>]*id="assign"[^>]*checked', page)  # 导入后直接交办 by default
    assert 'name="base_date"' not in page

    job, page = plan(office, db, job_id)
    assert job.status == "planned" and job.report["ok"] and job.options["assign"] is True
    assert counts(session) == before and session.exec(select(Motion)).first() is None  # the preview writes nothing
    assert '<td data-count="create">32</td>' in page and '<td data-count="errors">0</td>' in page
    assert "确认导入（登记 32 件并交办）" in page
    row = report_row(page, "交办清单!4")
    assert cell(row, "number") == "建议第1号" and cell(row, "lead") == "区住房和城乡建设局"
    assert cell(row, "proposer") == "王建国" and cell(row, "key") == "重点" and "（默认）" in row
    assert "城关街道办事处、区财政局" in row and "区十七届人大三次会议" in row

    job, page = confirm(office, db, job_id)
    assert job.status == "done", job.error
    assert "已导入：登记 32 件建议提案" in page and "已全部交办" in page
    link = re.search(r'href="(/motions/\?[^"]+)"[^>]*data-motions-link', page)
    assert link, "no link to the 建议提案 list"
    listed = office.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert listed.count("<tr data-motion=") == 32
    assert len(session.exec(select(Motion)).all()) == 32
    first = session.exec(select(Motion).where(Motion.number == 1)).one()
    assert f'href="/motions/{first.id}"' in page  # each row links to its motion


def test_a_motion_list_dropped_on_the_ledger_importer_is_recognised(office, org, session, db):
    from tests.fixtures.make_motion_fixtures import PROPOSALS
    from tracker.models import Motion

    job_id = job_id_of(upload(office, PROPOSALS, kind="ledger"))
    job = session.get(ImportJob, job_id)
    assert job.kind == "motions" and job.options["rerouted"] == "ledger"
    page = office.get(f"/imports/{job_id}").get_data(as_text=True)
    assert "已识别为建议提案交办清单" in page and "清单标题中没有届次，请填写" in page
    job, page = plan(office, db, job_id)
    assert not job.report["ok"] and "未能从清单标题识别届次" in page and 'id="confirm-button" disabled' in page
    job, page = plan(office, db, job_id, session_name="区政协十届三次会议", assign=None)
    assert job.report["ok"] and job.options["assign"] is False and "已识别为建议提案交办清单" in page
    assert "确认导入（登记 31 件，暂不交办）" in page
    job, page = confirm(office, db, job_id)
    assert job.status == "done" and "承办事项为草稿" in page
    assert len(session.exec(select(Motion)).all()) == 31
    assert {t.status for t in session.exec(select(Task))} == {"draft"}


def test_a_ledger_upload_stays_a_ledger(office, org, session, db):
    job_id = job_id_of(upload(office, FIXTURES / "suggestions_gbk.csv", kind="ledger"))
    job = session.get(ImportJob, job_id)
    assert job.kind == "ledger" and "rerouted" not in job.options
    assert "已识别为建议提案交办清单" not in office.get(f"/imports/{job_id}").get_data(as_text=True)


def test_the_motions_page_presets_kind_and_session_and_a_bad_row_blocks_the_confirm(office, org, session, db, tmp_path):
    from tests.fixtures.make_motion_fixtures import SUGGESTIONS
    from tracker.models import Motion

    wb = openpyxl.load_workbook(SUGGESTIONS)
    wb.active["K6"] = "尽快办理"
    path = tmp_path / "建议清单.xlsx"
    wb.save(path)
    job_id = job_id_of(_motion_upload(office, path, kind="proposal", session="区政协十届三次会议"))
    page = office.get(f"/imports/{job_id}").get_data(as_text=True)
    assert '<option value="proposal" selected>提案</option>' in page and 'value="区政协十届三次会议"' in page
    job, page = plan(office, db, job_id)
    assert job.report["kind"] == "proposal" and job.report["counts"]["errors"] == 1
    row = report_row(page, "交办清单!6")
    assert "错误（K列）：办理时限“尽快办理”不是日期" in row
    assert 'id="confirm-button" disabled' in page
    resp = office.post(f"/imports/{job_id}/confirm", data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "不能导入" in resp.get_data(as_text=True)
    assert session.exec(select(Motion)).first() is None and session.exec(select(Task)).first() is None


def test_the_motions_upload_refuses_what_it_cannot_read(office, org, session, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["序号", "督办事项", "牵头单位"])
    wb.save(tmp_path / "台账.xlsx")
    resp = _motion_upload(office, tmp_path / "台账.xlsx")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/motions/")
    page = office.get("/motions/").get_data(as_text=True)
    assert "未在文件中找到建议提案交办清单表格" in page and "建议编号" in page
    assert session.exec(select(ImportJob)).first() is None
    # CSRF: a forged post writes nothing
    resp = office.post(
        "/motions/import", data={"file": (io.BytesIO(b"x"), "a.xlsx")}, content_type="multipart/form-data"
    )
    assert resp.status_code == 400


def test_only_the_office_imports_motion_lists(client, org, session, db):
    from tests.fixtures.make_motion_fixtures import SUGGESTIONS

    organisation.create_user(session, SYSTEM, "admin", "管理员", "Factory-pass-7", Role.ADMIN)
    session.commit()
    assert login(client, "admin").status_code == 302
    assert '<option value="motions"' not in client.get("/imports/").get_data(as_text=True)
    assert upload(client, SUGGESTIONS, kind="motions").status_code == 403
    assert session.exec(select(ImportJob)).first() is None
