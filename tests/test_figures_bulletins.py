"""通报: weekly and monthly bulletins with exact contents, frozen once generated (003 §37)."""

from __future__ import annotations

import copy
import io
import json
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from tests import scoring_district
from tests.webutil import csrf_from, login
from tracker import clock
from tracker.errors import ValidationFailed
from tracker.models import AuditEvent, Bulletin, User
from tracker.services.figures import bulletins, scoring
from tracker.services.tasks import lifecycle as tasks

GENERATED_ON = date(2026, 11, 2)  # the Monday after October


@pytest.fixture
def sc(session):
    return scoring_district.build(session)


def _october(session) -> Bulletin:
    with clock.frozen(GENERATED_ON):
        b = bulletins.generate_bulletin(session, "month", "2026-10")
    session.commit()
    return b


def test_monthly_bulletin_contents(session, sc):
    b = _october(session)
    d = b.data
    assert (b.kind, b.period, b.period_start, b.period_end) == (
        "month",
        "2026-10",
        date(2026, 10, 1),
        date(2026, 10, 31),
    )
    assert d["title"] == "督查督办工作月通报（2026年10月）"
    assert d["summary"] == {
        "closed": 5,
        "closed_on_time": 4,
        "closed_late": 1,
        "open": 3,
        "overdue": 2,
        "overdue_task_days": 26,
        "returns": 3,
        "late_reports": 2,
        "extensions": 1,
        "on_time_rate": round(4 / 7, 4),
        "assigned": 0,
    }
    assert {c["status"]: c["count"] for c in d["status_counts"]} == {
        "assigned": 0,
        "acknowledged": 1,
        "in_progress": 2,
        "pending_review": 0,
        "suspended": 0,
        "closed": 5,
    }
    a5, b2 = sc.t["A5"], sc.t["B2"]
    assert d["overdue_by_department"] == [
        {
            "department_id": sc.d.lead_id,
            "department": "区发展和改革委员会",
            "count": 1,
            "task_days": 18,
            "tasks": [
                {
                    "task_id": a5.id,
                    "code": a5.code,
                    "title": "督办事项A5",
                    "department": "区发展和改革委员会",
                    "due_date": "2026-09-30",
                    "original_due_date": "2026-09-30",
                    "overdue_workdays": 18,
                    "leaders": ["吴海涛"],
                }
            ],
        },
        {
            "department_id": sc.d.other_id,
            "department": "区教育局",
            "count": 1,
            "task_days": 8,
            "tasks": [
                {
                    "task_id": b2.id,
                    "code": b2.code,
                    "title": "督办事项B2",
                    "department": "区教育局",
                    "due_date": "2026-10-20",
                    "original_due_date": "2026-10-20",
                    "overdue_workdays": 8,
                    "leaders": ["李明"],
                }
            ],
        },
    ]
    assert [
        (e["leader"], e["count"], e["task_days"], [t["code"] for t in e["tasks"]]) for e in d["overdue_by_leader"]
    ] == [("吴海涛", 1, 18, [a5.code]), ("李明", 1, 8, [b2.code])]
    assert d["top_returns"] == [
        {"department_id": sc.d.other_id, "department": "区教育局", "returns": 2},
        {"department_id": sc.d.lead_id, "department": "区发展和改革委员会", "returns": 1},
    ]
    assert [(r["rank"], r["department"], r["score"], r["on_time_rate"]) for r in d["ranking"]] == [
        (1, "区发展和改革委员会", 71.0, 0.6),
        (2, "区教育局", 71.0, 0.5),
    ]
    assert d["unranked"] == ["区财政局"]
    assert d["weights"] == scoring.DEFAULT_WEIGHTS
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "generate_bulletin")).one()
    assert event.entity_id == b.id and event.after == {"kind": "month", "period": "2026-10"}


def test_publishing_notifies_every_reader_once(session, sc):
    from tracker.models import Notification

    b = _october(session)
    notes = session.exec(select(Notification).where(Notification.kind == "bulletin")).all()
    by_user = {n.user_id: n for n in notes}
    readers = [
        sc.d.office,
        sc.d.office2,
        sc.d.lead_clerk,
        sc.d.assist_clerk,
        sc.d.other_clerk,
        sc.d.leader,
        sc.d.other_leader,
    ]
    assert sorted(by_user) == sorted(a.user_id for a in readers)  # not the administrator
    assert by_user[sc.d.lead_clerk.user_id].title == "通报已发布：督查督办工作月通报（2026年10月）"
    assert "本单位排名第 1/2 名，得分 71.00" in by_user[sc.d.lead_clerk.user_id].body
    assert "本单位排名第 2/2 名" in by_user[sc.d.other_clerk.user_id].body
    assert "未参加排名" in by_user[sc.d.assist_clerk.user_id].body
    assert by_user[sc.d.office.user_id].body == "本期办结 5 件，按时办结率 57.1%；期末逾期 2 件。"
    item = by_user[sc.d.lead_clerk.user_id].payload["sections"][0]["items"][0]
    assert item["url"] == f"/bulletins/{b.id}" and "本单位排名第 1/2 名" in item["note"]  # shown in the inbox
    with clock.frozen(date(2026, 11, 5)):
        bulletins.generate_bulletin(session, "month", "2026-10")
    assert len(session.exec(select(Notification).where(Notification.kind == "bulletin")).all()) == len(readers)


def test_weekly_bulletin_contents(session, sc):
    with clock.frozen(GENERATED_ON):
        b = bulletins.generate_bulletin(session, "week", "2026-W42")
    d = b.data
    assert (b.period_start, b.period_end) == (date(2026, 10, 12), date(2026, 10, 18))
    assert d["title"] == "督查督办工作周通报（2026年10月12日—10月18日）"
    # A2 closed late on 10-12, B1 on time on 10-15; A5 overdue 9 working days on Monday 10-19.
    assert d["summary"] == {
        "closed": 2,
        "closed_on_time": 1,
        "closed_late": 1,
        "open": 5,
        "overdue": 1,
        "overdue_task_days": 9,
        "returns": 2,
        "late_reports": 1,
        "extensions": 0,
        "on_time_rate": round(1 / 3, 4),
        "assigned": 0,
    }
    assert [(e["department"], e["count"], e["task_days"]) for e in d["overdue_by_department"]] == [
        ("区发展和改革委员会", 1, 9)
    ]
    # Tasks closed after the week count as open then (A3, A4, B2, B3 and A5).
    assert {c["status"]: c["count"] for c in d["status_counts"]}["closed"] == 3
    assert [(r["rank"], r["department"], r["score"]) for r in d["ranking"]] == [
        (1, "区教育局", 98.0),
        (2, "区发展和改革委员会", 52.5),
    ]
    assert d["ranking"][1]["deductions"] == {
        "overdue_task_days": 4.5,
        "returns": 2.0,
        "late_reports": 1.0,
        "extensions": 0.0,
    }


def test_bulletin_is_frozen(session, sc):
    b = _october(session)
    frozen_data = copy.deepcopy(b.data)
    # Afterwards: A1 reopened, B2 cancelled, the weights changed.
    with clock.frozen(date(2026, 11, 3)):
        tasks.reopen(session, sc.d.office, sc.t["A1"].id, "复查不合格")
        tasks.cancel(session, sc.d.office, sc.t["B2"].id, "事项已由上级统筹")
        scoring.set_weights(session, sc.d.office, {**scoring.DEFAULT_WEIGHTS, "return_": 5})
    session.commit()
    live = scoring.period_figures(session, date(2026, 10, 1), date(2026, 10, 31))
    assert live[sc.d.lead_id].closed == 3 and live[sc.d.other_id].overdue == 0  # the live figures moved
    with clock.frozen(date(2026, 12, 1)):
        again = bulletins.generate_bulletin(session, "month", "2026-10")
    assert again.id == b.id and again.data == frozen_data
    with Session(session.get_bind()) as fresh:  # and as stored
        stored = fresh.exec(select(Bulletin)).all()
        assert len(stored) == 1 and stored[0].data == frozen_data
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "generate_bulletin")).all()) == 1


def test_default_periods_and_refusals(session, sc):
    with clock.frozen(GENERATED_ON):
        assert bulletins.generate_bulletin(session, "week").period == "2026-W44"
        assert bulletins.generate_bulletin(session, "month").period == "2026-10"
        for kind, period, words in (
            ("week", "2026-W45", "尚未结束"),
            ("month", "2026-11", "尚未结束"),
            ("week", "2026-W60", "2026-W48"),
            ("month", "2026/11", "2026-11"),
            ("year", "2026", "week"),
        ):
            with pytest.raises(ValidationFailed) as exc:
                bulletins.generate_bulletin(session, kind, period)
            assert words in exc.value.message
    assert bulletins.last_complete_period("week", date(2026, 1, 1)) == "2025-W52"
    assert bulletins.last_complete_period("month", date(2026, 1, 15)) == "2025-12"
    assert bulletins.parse_period("week", "2026-w1") == ("2026-W01", date(2025, 12, 29), date(2026, 1, 4))


def test_excel_export_read_back(session, sc, tmp_path):
    from importers.bulletin_export import write_bulletin

    b = _october(session)
    data = copy.deepcopy(b.data)
    data["overdue_by_department"][0]["tasks"][0]["title"] = '=HYPERLINK("http://127.0.0.1/x","点我")'
    path = tmp_path / "通报.xlsx"
    write_bulletin(path, data)
    wb = load_workbook(path)
    assert wb.sheetnames == ["概况", "逾期事项（按单位）", "逾期事项（按领导）", "考核排名"]
    ws = wb["概况"]
    assert ws["A1"].value == "督查督办工作月通报（2026年10月）"
    assert int(ws.page_setup.paperSize) == 9 and ws.print_title_rows == "$2:$2"
    summary = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(3, ws.max_row + 1)}
    assert summary["本期办结（件）"] == 5 and summary["按时办结率"] == "57.1%" and summary["期末逾期（件）"] == 2
    assert summary["退回较多：区教育局（次）"] == 2
    ws = wb["逾期事项（按单位）"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    assert rows[0][0] == "区发展和改革委员会" and rows[0][2].startswith("=HYPERLINK")
    assert ws.cell(row=3, column=3).data_type == "s" and ws.cell(row=3, column=3).quotePrefix
    assert rows[1][:2] == ["区教育局", sc.t["B2"].code] and rows[1][5] == 8
    ws = wb["考核排名"]
    assert [[c.value for c in row][:4] for row in ws.iter_rows(min_row=3)] == [
        [1, "区发展和改革委员会", 71, "60.0%"],
        [2, "区教育局", 71, "50.0%"],
    ]


def test_cli_generates_then_prints_the_frozen_bulletin(app, session, sc, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "oct.xlsx"
    with clock.frozen(GENERATED_ON):
        result = runner.invoke(args=["bulletin", "--month", "2026-10", "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["period"] == "2026-10" and data["summary"]["overdue"] == 2
    assert load_workbook(out)["考核排名"]["B3"].value == "区发展和改革委员会"
    with clock.frozen(GENERATED_ON):
        text = runner.invoke(args=["bulletin", "--week", "2026-W42"])
        default = runner.invoke(args=["bulletin", "--week"])
        early = runner.invoke(args=["bulletin", "--month", "2026-11"])
    assert text.exit_code == 0 and "督查督办工作周通报（2026年10月12日—10月18日）" in text.stdout
    assert "1. 区教育局 98.00 分" in text.stdout and "2. 区发展和改革委员会 52.50 分" in text.stdout
    assert default.exit_code == 0 and "2026年10月26日—11月1日" in default.stdout
    assert early.exit_code == 1 and "尚未结束" in early.stderr
    assert len(session.exec(select(Bulletin)).all()) == 3
    both = runner.invoke(args=["bulletin", "--week", "2026-W42", "--month", "2026-10"])
    assert both.exit_code != 0 and "只能选一个" in both.output


def test_cli_score_snapshot(app, session, sc):
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["score-snapshot", "--day", "2026-10-31"])
        assert result.exit_code == 0 and "3 个单位" in result.stdout
    from tracker.models import ScoreSnapshot

    assert len(session.exec(select(ScoreSnapshot)).all()) == 3
    # A new installation fills the trend's history: one row per department and day.
    result = runner.invoke(args=["score-snapshot", "--since", "2026-10-01", "--day", "2026-10-31"])
    assert result.exit_code == 0 and "已补写 31 天" in result.stdout
    assert len(session.exec(select(ScoreSnapshot)).all()) == 31 * 3
    oct_11 = session.exec(
        select(ScoreSnapshot).where(
            ScoreSnapshot.day == date(2026, 10, 11), ScoreSnapshot.department_id == sc.d.lead_id
        )
    ).one()
    assert (oct_11.open_count, oct_11.overdue_count, oct_11.overdue_task_days, oct_11.closed_count) == (4, 2, 8, 1)
    bad = runner.invoke(args=["score-snapshot", "--since", "2026-11-01", "--day", "2026-10-31"])
    assert bad.exit_code == 1 and "晚于结束日期" in bad.stderr


def _user(session, actor) -> str:
    return session.get(User, actor.user_id).username


def test_web_generate_show_export(client, session, sc):
    login(client, _user(session, sc.d.office))
    page = client.get("/bulletins/")
    assert page.status_code == 200 and "尚未生成通报" in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    bad = client.post("/bulletins/generate", data={"kind": "month", "period": "2026-11", "csrf_token": token})
    assert bad.status_code == 422 and "尚未结束" in bad.get_data(as_text=True)
    assert session.exec(select(Bulletin)).all() == []
    resp = client.post("/bulletins/generate", data={"kind": "month", "period": "2026-10", "csrf_token": token})
    assert resp.status_code == 302
    b = session.exec(select(Bulletin)).one()
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "督查督办工作月通报（2026年10月）" in html and 'data-rank="1"' in html
    assert 'data-overdue-department="区发展和改革委员会"' in html and "css/bulletin.css" in html
    assert "<script>" not in html  # the print button's script is a static file (CSP)
    listed = client.get("/bulletins/?kind=month").get_data(as_text=True)
    assert 'data-bulletin="month:2026-10"' in listed
    xlsx = client.get(f"/bulletins/{b.id}/export")
    assert xlsx.status_code == 200 and "2026-10" in xlsx.headers["Content-Disposition"]
    assert load_workbook(io.BytesIO(xlsx.data))["概况"]["A1"].value == "督查督办工作月通报（2026年10月）"


def test_web_clerk_reads_but_cannot_generate(client, session, sc):
    b = _october(session)
    login(client, _user(session, sc.d.other_clerk))
    assert client.get(f"/bulletins/{b.id}").status_code == 200
    page = client.get("/bulletins/").get_data(as_text=True)
    assert "/bulletins/generate" not in page
    resp = client.post("/bulletins/generate", data={"kind": "week", "csrf_token": csrf_from(page)})
    assert resp.status_code == 403


def test_web_weights_form(client, session, sc):
    login(client, _user(session, sc.d.office))
    page = client.get("/bulletins/weights")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "按时办结率 = 期内按时办结件数" in html and 'value="40.0"' in html
    form = {k: str(v) for k, v in scoring.DEFAULT_WEIGHTS.items()}
    bad = client.post("/bulletins/weights", data={**form, "overdue_day_cap": "200", "csrf_token": csrf_from(html)})
    assert bad.status_code == 422 and "不能超过100分" in bad.get_data(as_text=True)
    session.expire_all()
    assert scoring.score_weights(session) == scoring.DEFAULT_WEIGHTS
    ok = client.post("/bulletins/weights", data={**form, "on_time_rate": "50", "csrf_token": csrf_from(html)})
    assert ok.status_code == 302
    session.expire_all()
    assert scoring.score_weights(session)["on_time_rate"] == 50.0
