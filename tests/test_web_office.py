"""The supervision office's pages, driven through the test client with login and CSRF."""

import io
from datetime import date
from html.parser import HTMLParser

import openpyxl
import pytest
from docx import Document
from sqlmodel import select

from tests import factories as f
from tests.webutil import csrf_from, login, post
from tracker.models import (
    AuditEvent,
    DepartmentKind,
    Escalation,
    Milestone,
    Reminder,
    Role,
    SavedView,
    Source,
    SourceKind,
    Task,
    TaskAssist,
    TaskLeader,
    User,
)
from tracker.services.actors import SYSTEM
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.organisation import directory as organisation
from tracker.services.tasks import requests as task_requests

# --- helpers -------------------------------------------------------------------


class _Form(HTMLParser):
    """The values a browser would submit from one form (inputs, textareas, selects)."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.values = form_id, False, []
        self._textarea = self._select = None
        self._options: list = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button"):
                self.values.append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self._textarea = [a["name"], ""]
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            self.values.append(tuple(self._textarea))
            self._textarea = None
        elif tag == "select" and self._select:
            chosen = [v for v, sel in self._options if sel] or [self._options[0][0]] if self._options else []
            self.values.extend((self._select, v) for v in chosen)
            self._select = None


def form_values(html: str, form_id: str) -> dict:
    parser = _Form(form_id)
    parser.feed(html)
    out: dict = {}
    for name, value in parser.values:
        out.setdefault(name, []).append(value)
    return {k: v if len(v) > 1 else v[0] for k, v in out.items()}


def username(session, actor) -> str:
    return session.get(User, actor.user_id).username


def as_(client, session, actor):
    assert login(client, username(session, actor)).status_code == 302
    return client


def text(resp) -> str:
    return resp.get_data(as_text=True)


@pytest.fixture
def d(session):
    return f.district(session)


@pytest.fixture
def office(client, session, d):
    return as_(client, session, d.office)


# --- access --------------------------------------------------------------------

ROUTES = [
    ("GET", "/office/"),
    ("GET", "/office/sources"),
    ("POST", "/office/sources"),
    ("GET", "/office/sources/{src}"),
    ("GET", "/office/sources/{src}/decompose"),
    ("POST", "/office/sources/{src}/decompose"),
    ("GET", "/office/tasks"),
    ("POST", "/office/tasks/bulk"),
    ("GET", "/office/tasks/export"),
    ("GET", "/office/tasks/new"),
    ("POST", "/office/tasks/new"),
    ("GET", "/office/tasks/{task}/edit"),
    ("POST", "/office/tasks/{task}/edit"),
    ("POST", "/office/tasks/{task}/delete"),
    ("GET", "/office/tasks/{task}/escalate"),
    ("POST", "/office/tasks/{task}/escalate"),
    ("GET", "/office/escalations/{esc}/notice"),
    ("GET", "/office/review"),
    ("POST", "/office/review/close/{task}"),
    ("POST", "/office/review/extension/1"),
    ("POST", "/office/review/change/1"),
    ("POST", "/office/review/reassign/1"),
    ("POST", "/office/views"),
    ("POST", "/office/views/1/delete"),
]


def test_everyone_but_the_office_gets_403_on_every_office_route(app, session, d):
    task = f.task_in(session, d, "in_progress")
    esc = task_chasing.escalate(session, d.office, task.id, "逾期未办")
    session.commit()
    anonymous = app.test_client().get("/office/tasks")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for who in ("lead_clerk", "assist_clerk", "leader", "admin"):  # one district for all: it is the slow part
        client = as_(app.test_client(), session, getattr(d, who))
        token = csrf_from(text(client.get("/password")))
        for method, pattern in ROUTES:
            url = pattern.format(src=d.source_id, task=task.id, esc=esc.id)
            if method == "GET":
                resp = client.get(url)
            else:
                resp = client.post(
                    url,
                    data={
                        "csrf_token": token,
                        "action": "assign",
                        "ids": str(task.id),
                        "decision": "approve",
                        "title": "x",
                        "reason": "x",
                    },
                )
            assert resp.status_code == 403, (who, method, url, resp.status_code)
    session.refresh(task)
    assert task.status == "in_progress" and session.exec(select(Reminder)).all() == []
    assert len(session.exec(select(Escalation)).all()) == 1


# --- sources -------------------------------------------------------------------


def test_sources_list_shows_kind_reference_date_and_task_count(office, session, d):
    f.draft(session, d)
    f.draft(session, d, title="第二项")
    session.commit()
    page = text(office.get("/office/sources"))
    assert "区政府常务会议" in page and "区政府第12次常务会议" in page
    assert f'data-source-id="{d.source_id}"' in page
    row = page.split(f'data-source-id="{d.source_id}"')[1].split("</tr>")[0]
    assert '<td class="text-end" data-task-count>2</td>' in row
    assert "登记来源" in page


def test_register_a_meeting_with_its_minutes(office, session, d):
    resp = post(
        office,
        "/office/sources",
        {
            "kind": "executive_meeting",
            "reference": "第15次",
            "source_date": "2026-11-20",
            "leader_id": str(d.leader_id),
            "attendees": "吴海涛、李明，区发改委、区财政局主要负责同志",
            "body": "一、关于老旧小区改造。由区发展和改革委员会牵头。",
            "title": "",
        },
    )
    assert resp.status_code == 302
    src = session.exec(select(Source).where(Source.reference == "第15次")).one()
    assert src.title == "区政府常务会议（第15次）" and src.leader_id == d.leader_id
    assert src.details == {"attendees": "吴海涛、李明，区发改委、区财政局主要负责同志"}
    assert (
        session.exec(select(AuditEvent).where(AuditEvent.entity == "source", AuditEvent.entity_id == src.id))
        .one()
        .action
        == "source_create"
    )
    page = text(office.get(resp.headers["Location"]))
    assert "老旧小区改造" in page and "吴海涛" in page and "参会人员" in page


def test_a_meeting_registered_with_its_minutes_is_named_as_its_title_line_names_it(office, session, d):
    """Left blank, the name is the minutes' customary name (区政府第31次常务会议), not the kind."""
    resp = post(
        office,
        "/office/sources",
        {
            "kind": "executive_meeting",
            "reference": "第31次",
            "source_date": "2026-11-20",
            "body": "青山区人民政府第31次常务会议纪要\n\n一、关于老旧小区改造。由区发展和改革委员会牵头。",
            "title": "",
        },
    )
    assert resp.status_code == 302
    src = session.exec(select(Source).where(Source.reference == "第31次")).one()
    assert src.title == "青山区人民政府第31次常务会议"


def test_register_an_instruction_needs_leader_and_text(office, session, d):
    bad = post(
        office,
        "/office/sources",
        {"kind": "leader_instruction", "source_date": "2026-11-21", "document": "《关于某街道安全隐患的报告》"},
        token_from="/office/sources",
    )
    assert bad.status_code == 422
    page = text(bad)
    assert "请选择作出批示的领导" in page and "请填写批示内容" in page
    assert "《关于某街道安全隐患的报告》" in page  # what was typed comes back
    assert session.exec(select(Source).where(Source.kind == "leader_instruction")).all() == []
    ok = post(
        office,
        "/office/sources",
        {
            "kind": "leader_instruction",
            "source_date": "2026-11-21",
            "leader_id": str(d.leader_id),
            "body": "请区发改委抓紧研究。",
            "document": "《关于某街道安全隐患的报告》",
        },
        token_from="/office/sources",
    )
    assert ok.status_code == 302
    src = session.exec(select(Source).where(Source.kind == "leader_instruction")).one()
    assert src.title == "吴海涛同志批示" and src.details == {"document": "《关于某街道安全隐患的报告》"}


def test_bad_date_is_a_field_error(office, session):
    resp = post(
        office,
        "/office/sources",
        {"kind": "other", "title": "某事项", "source_date": "2026-13-40"},
        token_from="/office/sources",
    )
    assert resp.status_code == 422 and "日期不是有效日期" in text(resp)


# --- decomposition -------------------------------------------------------------

MINUTES = """区政府第15次常务会议纪要
会议听取了有关工作汇报，议定事项如下：
一、关于老旧小区改造工作。会议原则同意《2027年老旧小区改造实施方案》，由区住建局牵头，区财政局、区发改委配合，于2026年12月底前完成年度改造任务。吴海涛副区长负责统筹协调。
二、关于冬季供暖保障。区城管局要立即开展供热管网排查。（牵头单位：区城管局；配合单位：区应急管理局；完成时限：12月15日前）
三、关于营商环境优化。责任单位：区政务服务中心、区财政局。10个工作日内制定优化营商环境若干措施。责任领导：李明。
四、关于防汛物资储备。由区水利局牵头，区火星局配合，持续推进，每月25日前报送进展。
五、关于学校食堂检查。区教育局牵头，2027年1月15日前完成全覆盖检查。
"""


@pytest.fixture
def meeting(session, d):
    for name, aliases in [
        ("区住房和城乡建设局", ["区住建局"]),
        ("区城市管理局", ["区城管局"]),
        ("区应急管理局", []),
        ("区水利局", []),
        ("区政务服务中心", []),
    ]:
        organisation.create_department(session, SYSTEM, name, aliases=aliases, kind=DepartmentKind.COMPONENT)
    src = Source(
        kind=SourceKind.EXECUTIVE_MEETING,
        title="区政府第15次常务会议",
        reference="第15次",
        source_date=date(2026, 11, 20),
        body=MINUTES,
    )
    session.add(src)
    session.commit()
    return src


def _split(client, src):
    resp = post(client, f"/office/sources/{src.id}/decompose", {"action": "split", "text": MINUTES})
    assert resp.status_code == 200
    return text(resp)


def test_decompose_proposes_one_row_per_item_and_highlights_the_unknown(office, session, meeting):
    page = text(office.get(f"/office/sources/{meeting.id}/decompose"))
    assert "老旧小区改造" in page  # the minutes are offered for splitting
    page = _split(office, meeting)
    assert page.count('data-row="') == 5
    row4 = page.split('data-row="3"')[1].split("</tr>")[0]
    assert 'class=" unresolved"' in row4 or "unresolved" in row4
    assert "未识别的单位：区火星局" in row4
    assert 'value="区火星局"' in row4 or ">区火星局<" in row4  # kept, not dropped
    row1 = page.split('data-row="0"')[1].split("</tr>")[0]
    assert "unresolved" not in row1
    assert 'value="老旧小区改造工作"' in row1 and 'value="区住建局"' in row1 and 'value="2026-12-31"' in row1
    assert "已识别：区住建局" in row1
    row3 = page.split('data-row="2"')[1].split("</tr>")[0]
    assert 'value="2026-12-04"' in row3  # 10 working days after Friday 2026-11-20


def test_unknown_department_blocks_the_whole_save_then_the_corrected_table_saves_all(office, session, meeting, d):
    page = _split(office, meeting)
    data = form_values(page, "decompose-form")
    data["action"] = "assign"
    resp = office.post(f"/office/sources/{meeting.id}/decompose", data=data)
    assert resp.status_code == 422
    body = text(resp)
    assert "未保存任何事项" in body and "未识别的单位：区火星局" in body
    assert session.exec(select(Task)).all() == []

    fixed = form_values(body, "decompose-form")  # the table comes back as edited
    assert fixed["rows-3-assisting"] == "区火星局"
    fixed["rows-3-assisting"] = "区应急管理局"
    fixed["action"] = "assign"
    resp = office.post(f"/office/sources/{meeting.id}/decompose", data=fixed)
    assert resp.status_code == 302, text(resp)
    created = session.exec(select(Task).where(Task.source_id == meeting.id).order_by(Task.id)).all()
    assert [t.item_no for t in created] == ["一", "二", "三", "四", "五"]
    assert all(t.status == "assigned" for t in created)
    assert created[0].due_date == date(2026, 12, 31) and created[0].deadline_text == "2026年12月底前"
    assert created[3].deadline_kind == "ongoing" and created[3].recurrence == "monthly:25"
    assert created[4].due_date == date(2027, 1, 15)
    leaders = session.exec(select(TaskLeader.leader_id).where(TaskLeader.task_id == created[0].id)).all()
    assert leaders == [d.leader_id]
    flash = text(office.get(resp.headers["Location"]))
    assert "已登记并交办 5 项督办事项" in flash


def test_save_as_draft_and_unchecked_rows_are_skipped(office, session, meeting):
    data = form_values(_split(office, meeting), "decompose-form")
    del data["rows-3-include"]  # the item with the unknown department is not registered
    data["rows-0-title"] = "改造老旧小区（修改后的名称）"
    data["action"] = "draft"
    resp = office.post(f"/office/sources/{meeting.id}/decompose", data=data)
    assert resp.status_code == 302
    created = session.exec(select(Task).where(Task.source_id == meeting.id).order_by(Task.id)).all()
    assert [t.item_no for t in created] == ["一", "二", "三", "五"]
    assert {t.status for t in created} == {"draft"}
    assert created[0].title == "改造老旧小区（修改后的名称）"


def test_an_unreadable_deadline_is_highlighted_and_blocks(office, session, meeting):
    data = form_values(_split(office, meeting), "decompose-form")
    data["rows-3-assisting"] = ""
    data["rows-1-deadline_text"] = "尽早"
    data["rows-1-due_date"] = ""
    data["action"] = "check"
    page = text(office.post(f"/office/sources/{meeting.id}/decompose", data=data))
    row = page.split('data-row="1"')[1].split("</tr>")[0]
    assert "unresolved" in row and "无法识别的完成时限" in row
    data["action"] = "assign"
    assert office.post(f"/office/sources/{meeting.id}/decompose", data=data).status_code == 422
    assert session.exec(select(Task)).all() == []


def test_nothing_to_split(office, meeting):
    resp = post(office, f"/office/sources/{meeting.id}/decompose", {"action": "split", "text": "  "})
    assert resp.status_code == 422 and "没有找到可拆分的议定事项" in text(resp)


# --- the task list ----------------------------------------------------------------


@pytest.fixture
def listed(session, d):
    """Five tasks in different states, made on 2026-11-02 so one is overdue today (11-23)."""
    other_src = f.source(session, kind=SourceKind.LEADER_INSTRUCTION, title="吴海涛同志批示")
    with f.on(date(2026, 11, 2)):
        late = f.task_in(session, d, "in_progress", title="老旧小区改造", due_date=date(2026, 11, 10))
        soon = f.task_in(session, d, "assigned", title="河长制巡查", due_date=date(2026, 11, 24), urgency="urgent")
        green = f.task_in(
            session,
            d,
            "assigned",
            title="学校食堂检查",
            due_date=date(2026, 12, 30),
            lead_department_id=d.other_id,
            assisting_department_ids=[],
            leader_ids=[],
            source_id=other_src.id,
        )
    draft = f.task_in(session, d, "draft", title="草拟事项", due_date=date(2026, 12, 10))
    closed = f.task_in(session, d, "closed", title="已办结事项", due_date=date(2026, 12, 1))
    session.commit()
    return {"late": late, "soon": soon, "green": green, "draft": draft, "closed": closed, "instruction": other_src}


def _titles(page: str) -> list[str]:
    body = page.split('id="task-table"')[1].split("</table>")[0]
    return [seg.split('">', 1)[1].split("</a>")[0] for seg in body.split('data-col="title"><a href=')[1:]]


FILTER_CASES = [
    ("", ["老旧小区改造", "河长制巡查", "已办结事项", "草拟事项", "学校食堂检查"]),
    ("light=red", ["老旧小区改造"]),
    ("light=yellow", ["河长制巡查"]),
    ("light=green", ["学校食堂检查"]),
    ("status=draft&status=closed", ["已办结事项", "草拟事项"]),
    ("q=食堂", ["学校食堂检查"]),
    ("q=ＤＢ-2026-0001", ["老旧小区改造"]),  # full-width letters are folded
    ("urgency=urgent", ["河长制巡查"]),
    ("source_kind=leader_instruction", ["学校食堂检查"]),
    ("due_from=2026-11-20&due_to=2026-12-05", ["河长制巡查", "已办结事项"]),
    ("sort=-due", ["学校食堂检查", "草拟事项", "已办结事项", "河长制巡查", "老旧小区改造"]),
]


def test_filters_and_sorting(office, listed):
    # One district for all cases: building it dominates the time of each case.
    for query, expected in FILTER_CASES:
        resp = office.get(f"/office/tasks?{query}")
        assert resp.status_code == 200, query
        assert _titles(text(resp)) == expected, query


def test_department_and_leader_filters(office, listed, d):
    assert "学校食堂检查" not in _titles(text(office.get(f"/office/tasks?department_id={d.assist_id}")))
    assert _titles(text(office.get(f"/office/tasks?department_id={d.other_id}"))) == ["学校食堂检查"]
    by_leader = _titles(text(office.get(f"/office/tasks?leader_id={d.leader_id}")))
    assert "学校食堂检查" not in by_leader and "老旧小区改造" in by_leader
    assert _titles(text(office.get(f"/office/tasks?source_id={listed['instruction'].id}"))) == ["学校食堂检查"]


def test_light_badges_and_paging(office, listed):
    page = text(office.get("/office/tasks"))
    late_row = page.split(f'data-task-id="{listed["late"].id}"')[1].split("</tr>")[0]
    assert "badge badge-light-red" in late_row and "逾期 9个工作日" in late_row
    assert "badge-light-green" in page and "badge-light-yellow" in page and "badge-light-none" in page
    first = text(office.get("/office/tasks?per_page=20&sort=code"))
    assert "共 5 项，第 1/1 页" in first and 'aria-label="分页"' not in first


def test_paging_over_many_tasks(office, session, d):
    for i in range(23):
        f.draft(session, d, title=f"批量事项{i:02d}")
    session.commit()
    page1 = text(office.get("/office/tasks?per_page=20&sort=code"))
    assert "共 23 项，第 1/2 页" in page1 and len(_titles(page1)) == 20
    page2 = text(office.get("/office/tasks?per_page=20&sort=code&page=2"))
    assert _titles(page2) == ["批量事项20", "批量事项21", "批量事项22"]


def test_bulk_assign_reports_success_and_refusals(office, session, d):
    ready = f.draft(session, d, title="可交办")
    incomplete = f.draft(session, d, title="缺牵头单位", lead_department_id=None)
    running = f.task_in(session, d, "in_progress", title="已在办")
    session.commit()
    resp = post(
        office,
        "/office/tasks/bulk",
        {"action": "assign", "ids": [ready.id, incomplete.id, running.id], "next": "/office/tasks?status=draft"},
        token_from="/office/tasks",
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/office/tasks?status=draft"
    page = text(office.get(resp.headers["Location"]))
    assert f"已交办 1 项：{ready.code}" in page
    assert "未能交办 2 项" in page and "请指定牵头单位" in page and "不能执行“交办”操作" in page
    for t in (ready, incomplete, running):
        session.refresh(t)
    assert (ready.status, incomplete.status, running.status) == ("assigned", "draft", "in_progress")


def test_bulk_remind(office, session, d):
    a = f.task_in(session, d, "assigned", title="甲")
    b = f.task_in(session, d, "in_progress", title="乙")
    dr = f.draft(session, d, title="丙")
    session.commit()
    resp = post(
        office,
        "/office/tasks/bulk",
        {"action": "remind", "ids": [a.id, b.id, dr.id], "message": "请本周内报送进展"},
        token_from="/office/tasks",
    )
    page = text(office.get(resp.headers["Location"]))
    assert "已催办 2 项" in page and "未能催办 1 项" in page
    reminders = session.exec(select(Reminder).order_by(Reminder.task_id)).all()
    assert [(r.task_id, r.message) for r in reminders] == [(a.id, "请本周内报送进展"), (b.id, "请本周内报送进展")]
    again = post(office, "/office/tasks/bulk", {"action": "remind", "ids": [a.id]}, token_from="/office/tasks")
    assert "今天已对该单位催办过此事项" in text(office.get(again.headers["Location"]))
    assert len(session.exec(select(Reminder)).all()) == 2


def test_bulk_without_selection_and_bad_next(office, session, d):
    resp = post(
        office, "/office/tasks/bulk", {"action": "assign", "next": "https://evil.example/"}, token_from="/office/tasks"
    )
    assert resp.headers["Location"] == "/office/tasks"
    assert "请先勾选要处理的事项" in text(office.get("/office/tasks"))


def test_export_writes_the_filtered_list_as_a_ledger(office, listed):
    page = text(office.get("/office/tasks?light=red"))
    assert 'href="/office/tasks/export?light=red" id="export-link">导出Excel</a>' in page
    resp = office.get("/office/tasks/export?light=red")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = openpyxl.load_workbook(io.BytesIO(resp.data))
    cells = [c for row in wb.active.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "老旧小区改造" in cells and "河长制巡查" not in cells


def test_saved_views(office, session, d, client, listed):
    resp = post(
        office,
        "/office/views",
        {"name": "逾期事项", "query": "light=red&bogus=1&sort=-due"},
        token_from="/office/tasks",
    )
    assert resp.status_code == 302
    view = session.exec(select(SavedView)).one()
    assert view.query == "light=red&sort=-due" and view.user_id == d.office.user_id
    page = text(office.get("/office/tasks"))
    assert 'href="/office/tasks?light=red&amp;sort=-due">逾期事项</a>' in page
    assert _titles(text(office.get("/office/tasks?" + view.query))) == ["老旧小区改造"]
    post(office, "/office/views", {"name": "逾期事项", "query": "light=yellow"}, token_from="/office/tasks")
    session.refresh(view)
    assert view.query == "light=yellow" and len(session.exec(select(SavedView)).all()) == 1
    assert post(office, "/office/views", {"name": "", "query": ""}, token_from="/office/tasks").status_code == 302
    assert len(session.exec(select(SavedView)).all()) == 1

    other = f.user(session, Role.SUPERVISOR, username="office-two")
    session.commit()
    theirs = SavedView(user_id=other.id, name="别人的", query="")
    session.add(theirs)
    session.commit()
    assert post(office, f"/office/views/{theirs.id}/delete", token_from="/office/tasks").status_code == 404
    assert post(office, f"/office/views/{view.id}/delete", token_from="/office/tasks").status_code == 302
    assert [v.name for v in session.exec(select(SavedView)).all()] == ["别人的"]


# --- the draft form ------------------------------------------------------------


def test_new_draft_with_preset_milestones_and_several_departments(office, session, d):
    resp = post(
        office,
        "/office/tasks/new",
        {
            "title": "编制专项债券项目储备方案",
            "requirement": "按会议要求编制",
            "source_id": str(d.source_id),
            "item_no": "三",
            "lead_department_id": str(d.lead_id),
            "assisting_department_ids": [d.assist_id, d.other_id],
            "leader_ids": [d.leader_id],
            "urgency": "urgent",
            "deadline_kind": "date",
            "due_date": "",
            "time_limit_preset": "countersign_7",
            "feedback_cycle": "weekly",
            "needs_leader_approval": "1",
            "milestone_title": ["完成初稿", "", "报区政府"],
            "milestone_due": ["2026-11-27", "", "2026-11-30"],
            "then": "",
        },
    )
    assert resp.status_code == 302
    task = session.exec(select(Task)).one()
    # 7 working days from the source's date (2026-11-16): 2026-11-25
    assert task.due_date == date(2026, 11, 25) and task.time_limit_preset == "countersign_7"
    assert task.needs_leader_approval and task.urgency == "urgent" and task.feedback_cycle == "weekly"
    assert set(session.exec(select(TaskAssist.department_id).where(TaskAssist.task_id == task.id))) == {
        d.assist_id,
        d.other_id,
    }
    assert [m.title for m in session.exec(select(Milestone).order_by(Milestone.sort_order))] == ["完成初稿", "报区政府"]
    page = text(office.get(resp.headers["Location"]))
    assert "草稿已保存" in page and 'value="完成初稿"' in page and "删除草稿" in page


def test_invalid_draft_comes_back_with_field_messages_and_nothing_saved(office, session, d):
    resp = post(
        office,
        "/office/tasks/new",
        {
            "title": "",
            "lead_department_id": str(d.lead_id),
            "assisting_department_ids": [d.lead_id],
            "milestone_title": ["无日期的节点"],
            "milestone_due": [""],
        },
    )
    assert resp.status_code == 422 and "时间节点需同时填写内容和日期" in text(resp)
    resp = post(office, "/office/tasks/new", {"title": "", "requirement": "保留的要求"}, token_from="/office/tasks/new")
    assert resp.status_code == 422
    assert "事项名称不能为空" in text(resp) and "保留的要求" in text(resp)
    assert session.exec(select(Task)).all() == []


def test_save_and_assign_is_one_transaction(office, session, d):
    resp = post(office, "/office/tasks/new", {"title": "无牵头单位", "due_date": "2026-12-31", "then": "assign"})
    assert resp.status_code == 422 and "请指定牵头单位" in text(resp)
    assert session.exec(select(Task)).all() == []  # the draft was not kept either
    ok = post(
        office,
        "/office/tasks/new",
        {"title": "有牵头单位", "lead_department_id": str(d.lead_id), "due_date": "2026-12-31", "then": "assign"},
        token_from="/office/tasks/new",
    )
    assert ok.status_code == 302
    assert session.exec(select(Task)).one().status == "assigned"


def test_edit_and_delete_a_draft(office, session, d):
    task = f.draft(session, d, title="原名称")
    session.commit()
    page = text(office.get(f"/office/tasks/{task.id}/edit"))
    data = form_values(page, "task-form")
    assert data["title"] == "原名称" and data["lead_department_id"] == str(d.lead_id)
    data["title"] = "新名称"
    data["then"] = ""
    assert office.post(f"/office/tasks/{task.id}/edit", data=data).status_code == 302
    session.refresh(task)
    assert task.title == "新名称" and task.status == "draft"
    task_id = task.id
    assert (
        post(office, f"/office/tasks/{task_id}/delete", token_from=f"/office/tasks/{task_id}/edit").status_code == 302
    )
    session.expire_all()
    assert session.exec(select(Task).where(Task.id == task_id)).first() is None


def test_only_drafts_can_be_edited_or_deleted(office, session, d):
    task = f.task_in(session, d, "assigned")
    session.commit()
    resp = office.get(f"/office/tasks/{task.id}/edit")
    assert resp.status_code == 409 and "不能执行“编辑”操作" in text(resp)
    assert post(office, f"/office/tasks/{task.id}/delete", token_from="/office/tasks").status_code == 409
    assert office.get("/office/tasks/99999/edit").status_code == 404


# --- review queue --------------------------------------------------------------


@pytest.fixture
def pending(session, d):
    with f.on(date(2026, 11, 16)):
        closing = f.task_in(session, d, "pending_review", title="待审办结")
        ext_task = f.task_in(session, d, "in_progress", title="待审延期", due_date=date(2026, 12, 4))
        ext = task_requests.request_extension(session, d.lead_clerk, ext_task.id, date(2026, 12, 18), "资金未到位")
    re_task = f.task_in(session, d, "assigned", title="待审改派")
    reassign = task_requests.request_reassign(session, d.lead_clerk, re_task.id, "不属于我单位职责", d.other_id)
    ch_task = f.task_in(session, d, "in_progress", title="待审变更")
    change = task_requests.request_change(
        session, d.lead_clerk, ch_task.id, "会议要求调整", requirement="按调整后的要求办理"
    )
    session.commit()
    return {
        "close": closing,
        "ext": ext,
        "ext_task": ext_task,
        "reassign": reassign,
        "re_task": re_task,
        "change": change,
        "ch_task": ch_task,
    }


def test_review_queue_lists_every_pending_request(office, pending, d):
    page = text(office.get("/office/review"))
    for title in ("待审办结", "待审延期", "待审改派", "待审变更"):
        assert title in page
    assert "2026-12-04" in page and "2026-12-18" in page and "资金未到位" in page
    assert "按调整后的要求办理" in page and "建议改由：区教育局" in page
    assert f'action="/office/review/close/{pending["close"].id}"' in page


def test_review_decisions(office, session, pending, d):
    bad = post(
        office,
        f"/office/review/close/{pending['close'].id}",
        {"decision": "reject", "note": ""},
        token_from="/office/review",
    )
    assert bad.status_code == 422 and "请填写退回理由" in text(bad)
    session.refresh(pending["close"])
    assert pending["close"].status == "pending_review"
    ok = post(
        office,
        f"/office/review/close/{pending['close'].id}",
        {"decision": "reject", "note": "缺少佐证材料"},
        token_from="/office/review",
    )
    assert ok.status_code == 302
    session.refresh(pending["close"])
    assert pending["close"].status == "in_progress"

    assert (
        post(
            office,
            f"/office/review/extension/{pending['ext'].id}",
            {"decision": "approve"},
            token_from="/office/review",
        ).status_code
        == 302
    )
    session.refresh(pending["ext_task"])
    assert pending["ext_task"].due_date == date(2026, 12, 18)
    assert pending["ext_task"].original_due_date == date(2026, 12, 4)

    no_lead = post(
        office,
        f"/office/review/reassign/{pending['reassign'].id}",
        {"decision": "approve"},
        token_from="/office/review",
    )
    assert no_lead.status_code == 422 and "请指定新的牵头单位" in text(no_lead)
    assert (
        post(
            office,
            f"/office/review/reassign/{pending['reassign'].id}",
            {"decision": "approve", "new_lead_department_id": str(d.other_id)},
            token_from="/office/review",
        ).status_code
        == 302
    )
    session.refresh(pending["re_task"])
    assert pending["re_task"].lead_department_id == d.other_id

    assert (
        post(
            office,
            f"/office/review/change/{pending['change'].id}",
            {"decision": "approve"},
            token_from="/office/review",
        ).status_code
        == 302
    )
    session.refresh(pending["ch_task"])
    assert pending["ch_task"].requirement == "按调整后的要求办理"
    session.refresh(pending["change"])
    assert pending["change"].status == "approved"

    twice = post(
        office, f"/office/review/extension/{pending['ext'].id}", {"decision": "approve"}, token_from="/office/review"
    )
    # who decided it and when (tracker/services/tasks/settled.py)
    assert twice.status_code == 409 and "该延期申请已由 " in text(twice) and " 批准" in text(twice)
    page = text(office.get("/office/review"))
    assert "没有待审核的延期申请" in page and "没有待审核的改派申请" in page


def test_approve_close(office, session, pending):
    resp = post(
        office, f"/office/review/close/{pending['close'].id}", {"decision": "approve"}, token_from="/office/review"
    )
    assert resp.status_code == 302
    session.refresh(pending["close"])
    assert pending["close"].status == "closed"
    assert "已审核办结" in text(office.get("/office/review"))


# --- escalation and notice -----------------------------------------------------


def test_escalate_and_print_the_notice(office, session, d):
    with f.on(date(2026, 11, 2)):
        task = f.task_in(session, d, "in_progress", title="老旧小区改造", due_date=date(2026, 11, 10))
    session.commit()
    form = text(office.get(f"/office/tasks/{task.id}/escalate"))
    assert "已超过完成时限9个工作日" in form
    empty = post(office, f"/office/tasks/{task.id}/escalate", {"reason": " ", "level": "2"})
    assert empty.status_code == 422 and "请填写督办事由" in text(empty)
    resp = post(office, f"/office/tasks/{task.id}/escalate", {"reason": "逾期未办结，请说明原因", "level": "3"})
    assert resp.status_code == 302
    esc = session.exec(select(Escalation)).one()
    assert resp.headers["Location"] == f"/office/escalations/{esc.id}/notice" and esc.level == 3
    page = text(office.get(resp.headers["Location"]))
    assert "督办〔2026〕1号" in page and "老旧小区改造" in page and task.code in page
    assert "区发展和改革委员会" in page and "吴海涛" in page and "逾期未办结，请说明原因" in page
    assert "2026年11月10日" in page and "已逾期9个工作日（13天）" in page
    assert "size: A4" in page and 'class="container-lg my-3 d-print-none"' in page and "<nav" not in page
    assert "已发出督办通知" in page
    assert office.get("/office/escalations/999/notice").status_code == 404


def test_notice_of_a_recurring_task_says_what_its_escalation_says(office, session, d):
    """A recurring task has no due date; its deadline is the earliest report not made
    (tracker.rules.overdue). The automatic 督办 over a missed report and its printed
    notice count the same working days from the same date."""
    from tracker.services.chasing import reminders
    from tracker.services.tasks import recurring

    with f.on(date(2026, 11, 2)):
        task = f.task_in(
            session,
            d,
            "acknowledged",
            title="每周报送的事项",
            deadline_kind="recurring",
            recurrence="weekly:5",
            feedback_cycle="weekly",
            due_date=None,
        )
    recurring.ensure_report_dues(session, date(2026, 11, 23))
    session.commit()
    reminders.run_rules(session, date(2026, 11, 23))
    session.commit()
    esc = session.exec(select(Escalation).where(Escalation.task_id == task.id)).one()
    # 11-06 missed: 11-09 … 11-23 are eleven working days
    assert "进展报送时限（2026-11-06）已逾期11个工作日" in esc.reason
    page = text(office.get(f"/office/escalations/{esc.id}/notice"))
    assert "尚未逾期" not in page
    assert "已逾期11个工作日（17天）" in page and "本期进展应于2026年11月6日前报送" in page
    form = text(office.get(f"/office/tasks/{task.id}/escalate"))
    assert "已超过进展报送时限11个工作日" in form


def test_escalating_a_draft_is_refused(office, session, d):
    task = f.draft(session, d)
    session.commit()
    resp = post(
        office, f"/office/tasks/{task.id}/escalate", {"reason": "测试", "level": "2"}, token_from="/office/tasks"
    )
    assert resp.status_code == 409
    assert session.exec(select(Escalation)).all() == []


def test_the_split_page_reads_a_word_file_and_refuses_what_is_not_a_document(office, meeting):
    """The clerk may upload the minutes instead of pasting them: the file's text fills the box
    and is split at once (services/intake/documents); a file that is no document gets a Chinese
    message and nothing is proposed."""
    word = Document()
    for line in MINUTES.splitlines():
        word.add_paragraph(line)
    buf = io.BytesIO()
    word.save(buf)
    url = f"/office/sources/{meeting.id}/decompose"
    resp = post(office, url, {"action": "read", "file": (io.BytesIO(buf.getvalue()), "纪要.docx")})
    page = text(resp)
    assert resp.status_code == 200 and page.count('data-row="') == 5
    assert "老旧小区改造" in page.split('id="text"')[1].split("</textarea>")[0]
    resp = post(office, url, {"action": "read", "file": (io.BytesIO(b"MZ\x90\x00" * 64), "纪要.docx")})
    assert resp.status_code == 422 and "不是 DOCX 文件" in text(resp) and 'data-row="' not in text(resp)
    resp = post(office, url, {"action": "read"})
    assert resp.status_code == 422 and "请选择要读取的文件" in text(resp)


def test_each_proposed_field_shows_the_phrase_it_came_from(office, meeting):
    """Under a proposed lead, assisting unit, leader or deadline the split page quotes the text
    around it with the phrase marked (the reader's spans), so the clerk can check it at a glance."""
    page = _split(office, meeting)
    checked = 0
    for row in page.split('<tr data-row="')[1:]:
        row = row.split("</tr>")[0]
        value = row.split('-lead" value="')[1].split('"')[0] if '-lead" value="' in row else ""
        if value and 'data-source-of="lead"' in row:
            quoted = row.split('data-source-of="lead"')[1].split("</div>")[0]
            assert f"<mark>{value}</mark>" in quoted, (value, quoted)
            checked += 1
    assert checked >= 3
    assert 'data-source-of="deadline_text"' in page
