"""每周调度 pages, the Excel export read back cell by cell, the print page and the CLI."""

from __future__ import annotations

import io
import json
from datetime import date

from openpyxl import load_workbook
from sqlmodel import select

from tests import factories as f
from tests.webutil import login, post
from tracker import clock
from tracker.models import ScheduleItem, Source, SourceKind, Task, User, WeeklySchedule
from tracker.services.scheduling import meeting
from tracker.services.scheduling import weekly as svc
from tracker.services.tasks import lifecycle as task_svc

TODAY = date(2026, 11, 23)  # conftest's frozen Monday, ISO week 2026-W48
WEEK = "2026-W48"


def _district(session):
    with clock.frozen(date(2026, 11, 16)):
        d = f.district(session)
        late = f.task_in(session, d, "in_progress", title="推进产业园基础设施建设", due_date=date(2026, 11, 20))
        soon = f.task_in(session, d, "in_progress", title="完成年度招商引资任务", due_date=date(2026, 11, 26))
        blocked = f.task_in(session, d, "in_progress", title="推进重点项目用地报批", due_date=date(2026, 12, 31))
        other = f.task_in(
            session,
            d,
            "assigned",
            title="教育局的受阻事项",
            due_date=date(2026, 12, 31),
            lead_department_id=d.other_id,
            assisting_department_ids=[],
            leader_ids=[],
        )
        task_svc.report_progress(
            session,
            d.lead_clerk,
            blocked.id,
            {
                "text": "已完成组卷",
                "problems": '=HYPERLINK("x") 需与企业洽谈补偿标准',
                "next_steps": "-由分管副区长约谈企业",
            },
        )
        task_svc.acknowledge(session, d.other_clerk, other.id)
        task_svc.report_progress(session, d.other_clerk, other.id, {"text": "推进中", "needs_coordination": True})
        session.commit()
    return d, {"late": late, "soon": soon, "blocked": blocked, "other": other}


def _username(session, actor):
    return session.get(User, actor.user_id).username


def _as(client, session, actor):
    assert login(client, _username(session, actor)).status_code == 302
    return client


def _generate(session):
    s = svc.generate_week(session, TODAY)
    session.commit()
    return s


def test_office_generates_edits_the_agenda_and_records_the_meeting(app, session, client):
    d, t = _district(session)
    _as(client, session, d.office)
    page = client.get("/office/schedule/")
    assert page.status_code == 200 and "尚未生成调度清单" in page.get_data(as_text=True)

    resp = post(client, "/office/schedule/generate", {"week": WEEK}, token_from="/office/schedule/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"week={WEEK}")
    schedule = session.exec(select(WeeklySchedule)).one()
    assert (schedule.iso_year, schedule.iso_week) == (2026, 48)
    html = client.get(f"/office/schedule/?week={WEEK}").get_data(as_text=True)
    for task in t.values():
        assert task.code in html
    assert "已逾期 1 个工作日" in html and "重要洽谈类" in html

    item = session.exec(
        select(ScheduleItem).where(ScheduleItem.task_id == t["blocked"].id, ScheduleItem.section == "blocked")
    ).one()
    other = session.exec(
        select(ScheduleItem).where(ScheduleItem.task_id == t["other"].id, ScheduleItem.section == "blocked")
    ).one()
    form = {
        "schedule_id": schedule.id,
        "item_id": [item.id, other.id],
        f"item-{item.id}-on_agenda": "1",
        f"item-{item.id}-agenda_order": "1",
        f"item-{item.id}-category": "向上争取类",
        f"item-{item.id}-lead_leader_id": d.leader_id,
        f"item-{item.id}-lead_department_id": d.lead_id,
        f"item-{item.id}-proposal": "提请区政府专题研究",
        f"item-{other.id}-category": "内部协调类",
        f"item-{other.id}-lead_department_id": d.other_id,
        f"item-{other.id}-proposal": "",
    }
    resp = post(client, "/office/schedule/agenda", form, token_from=f"/office/schedule/?week={WEEK}")
    assert resp.status_code == 302
    session.refresh(item)
    assert (item.on_agenda, item.agenda_order, item.category, item.proposal) == (
        True,
        1,
        "向上争取类",
        "提请区政府专题研究",
    )

    html = client.get(f"/office/schedule/?week={WEEK}").get_data(as_text=True)
    assert 'id="meeting-form"' in html and "提请区政府专题研究" in html
    resp = post(
        client,
        "/office/schedule/meeting",
        {
            "schedule_id": schedule.id,
            "meeting_date": "2026-11-24",
            "chair_leader_id": d.leader_id,
            "item_id": [item.id],
            f"item-{item.id}-action": "new_task",
            f"item-{item.id}-decision": "区自然资源局牵头，月底前完成用地组卷上报",
            f"item-{item.id}-title": "完成重点项目用地组卷上报",
            f"item-{item.id}-due_date": "2026-11-30",
        },
        token_from=f"/office/schedule/?week={WEEK}",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    src = session.exec(select(Source).where(Source.kind == SourceKind.SCHEDULING_MEETING)).one()
    new = session.exec(select(Task).where(Task.source_id == src.id)).one()
    assert (new.title, new.status, new.due_date, new.lead_department_id) == (
        "完成重点项目用地组卷上报",
        "assigned",
        date(2026, 11, 30),
        d.lead_id,
    )
    html = client.get(f"/office/schedule/?week={WEEK}").get_data(as_text=True)
    assert "本周调度会议已于 2026-11-24 召开" in html and "区自然资源局牵头" in html
    weeks = client.get("/office/schedule/weeks").get_data(as_text=True)
    assert "2026年11月23日—11月29日" in weeks and "2026-11-24" in weeks


def test_bad_agenda_input_is_refused_with_the_message_and_nothing_saved(app, session, client):
    d, t = _district(session)
    schedule = _generate(session)
    item = session.exec(
        select(ScheduleItem).where(ScheduleItem.task_id == t["blocked"].id, ScheduleItem.section == "blocked")
    ).one()
    _as(client, session, d.office)
    resp = post(
        client,
        "/office/schedule/agenda",
        {
            "schedule_id": schedule.id,
            "item_id": [item.id],
            f"item-{item.id}-on_agenda": "1",
            f"item-{item.id}-category": "其他类",
        },
        token_from=f"/office/schedule/?week={WEEK}",
    )
    assert resp.status_code == 422
    assert "类别应为项目推进类、内部协调类、向上争取类、重要洽谈类之一" in resp.get_data(as_text=True)
    session.refresh(item)
    assert (item.on_agenda, item.category) == (False, "重要洽谈类")
    resp = post(
        client,
        "/office/schedule/meeting",
        {"schedule_id": schedule.id, "meeting_date": "2026-11-24"},
        token_from=f"/office/schedule/?week={WEEK}",
    )
    assert resp.status_code == 422 and "请至少为一项议题填写会议决定" in resp.get_data(as_text=True)


def test_a_leader_sees_only_what_concerns_them_and_departments_nothing(app, session, client):
    d, t = _district(session)
    _generate(session)
    html = _as(client, session, d.leader).get(f"/office/schedule/?week={WEEK}").get_data(as_text=True)
    assert t["blocked"].code in html and t["late"].code in html and t["other"].code not in html
    assert 'id="generate"' not in html and 'id="save-agenda"' not in html
    other = app.test_client()
    html = _as(other, session, d.other_leader).get(f"/office/schedule/?week={WEEK}").get_data(as_text=True)
    assert t["other"].code in html and t["blocked"].code not in html
    clerk = app.test_client()
    assert _as(clerk, session, d.lead_clerk).get("/office/schedule/").status_code == 403
    assert clerk.get(f"/office/schedule/export.xlsx?week={WEEK}").status_code == 403


def test_excel_export_read_back_cell_by_cell(app, session, client):
    d, t = _district(session)
    schedule = _generate(session)
    item = session.exec(
        select(ScheduleItem).where(ScheduleItem.task_id == t["blocked"].id, ScheduleItem.section == "blocked")
    ).one()
    meeting.update_items(session, d.office, schedule.id, {item.id: {"on_agenda": True}})
    session.commit()
    resp = _as(client, session, d.office).get(f"/office/schedule/export.xlsx?week={WEEK}")
    assert resp.status_code == 200 and resp.mimetype.startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["每周调度", "调度会议议程"]
    ws = wb["每周调度"]
    assert ws["A1"].value == "每周重点工作调度清单 2026年11月23日—11月29日"
    assert [c.value for c in ws[2]] == ["类别", "序号", "事项编号", "督办事项", "牵头单位", "完成时限", "情况说明"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3)]
    assert rows == [
        [
            "逾期事项",
            1,
            t["late"].code,
            "推进产业园基础设施建设",
            "区发展和改革委员会",
            "2026-11-20",
            "完成时限 2026-11-20，已逾期 1 个工作日",
        ],
        [
            "本周到期",
            1,
            t["soon"].code,
            "完成年度招商引资任务",
            "区发展和改革委员会",
            "2026-11-26",
            "完成时限 2026-11-26",
        ],
        [
            "阻点断点（需协调事项）",
            1,
            t["blocked"].code,
            "推进重点项目用地报批",
            "区发展和改革委员会",
            "2026-12-31",
            '=HYPERLINK("x") 需与企业洽谈补偿标准（2026-11-16 反馈）',
        ],
        [
            "阻点断点（需协调事项）",
            2,
            t["other"].code,
            "教育局的受阻事项",
            "区教育局",
            "2026-12-31",
            "承办单位申请协调（2026-11-16 反馈）",
        ],
    ]
    detail = ws["G5"]
    assert detail.data_type == "s" and detail.quotePrefix  # text, never a formula
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.print_title_rows == "$2:$2" or ws.print_title_rows == "2:2"
    ag = wb["调度会议议程"]
    assert [c.value for c in ag[2]] == [
        "序号",
        "议题类别",
        "事项编号",
        "督办事项",
        "阻点断点",
        "牵头领导",
        "牵头单位",
        "解决建议",
        "会议决定",
    ]
    assert [c.value for c in ag[3]] == [
        1,
        "重要洽谈类",
        t["blocked"].code,
        "推进重点项目用地报批",
        '=HYPERLINK("x") 需与企业洽谈补偿标准（2026-11-16 反馈）',
        "吴海涛",
        "区发展和改革委员会",
        "-由分管副区长约谈企业",
        None,
    ]
    assert ag["E3"].quotePrefix and ag["H3"].quotePrefix and ag.max_row == 3


def test_print_page(app, session, client):
    d, t = _district(session)
    _generate(session)
    resp = _as(client, session, d.office).get(f"/office/schedule/print?week={WEEK}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "schedule-print.css" in html
    assert "每周重点工作调度清单" in html and "1. 逾期事项（1 项）" in html and t["late"].code in html
    css = client.get("/static/css/schedule-print.css").get_data(as_text=True)
    assert "size: A4 landscape" in css
    # No schedule for another week: back to the week page with a message.
    resp = client.get("/office/schedule/print?week=2026-W50")
    assert resp.status_code == 302


def test_cascade_pages_and_task_section(app, session, client):
    with clock.frozen(date(2026, 11, 16)):
        d = f.district(session)
        src = f.source(session, kind=SourceKind.KEY_WORK, title="2026年重点工作", source_date=date(2026, 1, 20))
        root = f.task_in(session, d, "in_progress", title="推进城市更新", source_id=src.id, due_date=date(2026, 12, 31))
        session.commit()
    _as(client, session, d.office)
    html = client.get(f"/office/schedule/cascade/{root.id}").get_data(as_text=True)
    assert "推进城市更新——第四季度工作要点" in html and "2026-12-31" in html
    resp = post(
        client,
        f"/office/schedule/cascade/{root.id}",
        {
            "row_count": "2",
            "rows-0-title": "四季度要点",
            "rows-0-due_date": "2026-12-31",
            "rows-1-title": "",
            "rows-1-due_date": "",
        },
    )
    assert resp.status_code == 302
    kid = session.exec(select(Task).where(Task.parent_id == root.id)).one()
    assert (kid.title, kid.status) == ("四季度要点", "assigned")
    bad = post(
        client,
        f"/office/schedule/cascade/{root.id}",
        {"row_count": "1", "rows-0-title": "x", "rows-0-due_date": "2027-02-01"},
    )
    assert bad.status_code == 422 and "不能晚于上级事项" in bad.get_data(as_text=True)
    page = client.get(f"/tasks/{root.id}").get_data(as_text=True)
    assert 'id="cascade-section"' in page and "汇总进度" in page and kid.code in page and "分解下一级" in page
    assert "本级为季度工作要点" in client.get(f"/tasks/{kid.id}").get_data(as_text=True)
    # A task that is not key work has no such section.
    with clock.frozen(date(2026, 11, 16)):
        plain = f.task_in(session, d, "in_progress", title="普通事项", due_date=date(2026, 12, 31))
        session.commit()
    assert 'id="cascade-section"' not in client.get(f"/tasks/{plain.id}").get_data(as_text=True)


def test_cli_text_and_json(app, session):
    d, t = _district(session)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["schedule", "week", "--date", "2026-11-23"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.splitlines()[0] == "每周重点工作调度 2026年11月23日—11月29日"
    assert "【逾期事项】1 项" in out and f"{t['late'].code} 推进产业园基础设施建设" in out
    assert "【阻点断点（需协调事项）】2 项" in out and "[重要洽谈类]" in out
    result = runner.invoke(args=["schedule", "week", "--date", "2026-11-23", "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["week"] == WEEK and data["counts"] == {
        "overdue": 1,
        "due_this_week": 1,
        "due_next_week": 0,
        "milestone": 0,
        "report_missing": 0,
        "blocked": 2,
    }
    assert {r["task_id"] for r in data["sections"]["blocked"]} == {t["blocked"].id, t["other"].id}
    # Run twice: still one schedule, same items.
    assert session.exec(select(WeeklySchedule)).all().__len__() == 1
    bad = runner.invoke(args=["schedule", "week", "--date", "2026-02-30"])
    assert bad.exit_code != 0 and "不是有效日期" in bad.output


def test_a_long_section_shows_its_first_rows_and_the_full_count(app, session, client, monkeypatch):
    from tracker.web import schedule as page

    d, t = _district(session)
    _generate(session)
    monkeypatch.setattr(page, "PAGE_ROWS", 1)
    html = _as(client, session, d.office).get(f"/office/schedule/?week={WEEK}").get_data(as_text=True)
    assert "阻点断点（需协调事项）（2）" in html and "仅显示时限最早的 1 项，完整清单请导出Excel" in html
    blocked_table = html.split('id="section-blocked"')[1].split('id="agenda"')[0]
    assert blocked_table.count("data-item=") == 1


def test_move_buttons_reorder_the_agenda(app, session, client):
    d, t = _district(session)
    schedule = _generate(session)
    ids = [
        session.exec(
            select(ScheduleItem.id).where(ScheduleItem.task_id == t[k].id, ScheduleItem.section == "blocked")
        ).one()
        for k in ("blocked", "other")
    ]
    for item_id in ids:
        meeting.update_items(session, d.office, schedule.id, {item_id: {"on_agenda": True}})
    session.commit()
    _as(client, session, d.office)
    html = client.get(f"/office/schedule/?week={WEEK}").get_data(as_text=True)
    assert f'id="move-{ids[1]}-up"' in html
    resp = post(
        client,
        "/office/schedule/move",
        {"item_id": ids[1], "direction": "up"},
        token_from=f"/office/schedule/?week={WEEK}",
    )
    assert resp.status_code == 302
    session.expire_all()
    orders = [session.get(ScheduleItem, i).agenda_order for i in ids]
    assert orders == [2, 1]
    bad = post(
        client,
        "/office/schedule/move",
        {"item_id": ids[1], "direction": "sideways"},
        token_from=f"/office/schedule/?week={WEEK}",
    )
    assert bad.status_code == 422 and "移动方向无效" in bad.get_data(as_text=True)
