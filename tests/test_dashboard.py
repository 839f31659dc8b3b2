"""The Dash board (issue 6): callbacks driven directly on a seeded district.

Filters go in, figures and rows come out, and every number is checked twice:
against an independent hand-written SQL count, and against the task list its
link opens (the list's "共 N 项" must be the same number: one query behind both).
"""

from __future__ import annotations

import dataclasses
import io
import re
from contextlib import contextmanager
from datetime import date, timedelta

import dash
import pytest
import sqlalchemy as sa
from flask_login import login_user
from openpyxl import load_workbook
from sqlmodel import select

from dashboard import callbacks
from tests import factories as f
from tests.webutil import login
from tracker.http.login import LoginUser
from tracker.models import (
    AuditEvent,
    Bulletin,
    ProgressReport,
    Reminder,
    ScheduleItem,
    ScoreSnapshot,
    SourceKind,
    User,
    WeeklySchedule,
)
from tracker.services.figures.board import BoardFilter
from tracker.services.tasks import requests as task_requests

TODAY = date(2026, 11, 23)  # Monday (conftest freezes it)
OPEN = ("assigned", "acknowledged", "in_progress", "pending_review")


def _walk(
    session,
    d,
    status: str,
    *,
    due: date,
    lead=None,
    leaders=None,
    assist=None,
    source_id=None,
    urgency="normal",
    closed_on: date | None = None,
    title="事项",
):
    """A task created on 2026-10-20 and walked to ``status``; closed ones are closed on ``closed_on``."""
    kw = {"due_date": due, "urgency": urgency, "title": title}
    if lead is not None:
        kw["lead_department_id"] = lead
    if leaders is not None:
        kw["leader_ids"] = leaders
    if assist is not None:
        kw["assisting_department_ids"] = assist
    if source_id is not None:
        kw["source_id"] = source_id
    if lead == d.other_id:  # that department's own clerk walks it
        d = dataclasses.replace(d, lead_clerk=d.other_clerk)
    with f.on(date(2026, 10, 20)):
        task = f.task_in(session, d, "pending_review" if status == "closed" else status, **kw)
    if status == "closed":
        with f.on(closed_on):
            task_requests.review_close(session, d.office, task.id, approve=True)
    return task


@pytest.fixture
def district(session):
    """发改委 leads most tasks (财政局 assists), 教育局 leads a few under another leader."""
    d = f.district(session)
    instr = f.source(session, kind=SourceKind.LEADER_INSTRUCTION, title="区长批示件", source_date=date(2026, 10, 15))
    other = dict(lead=d.other_id, leaders=[d.other_leader.leader_id], assist=[])
    t = {}
    t["a"] = _walk(session, d, "in_progress", due=date(2026, 11, 10), title="逾期甲", urgency="urgent")
    t["b"] = _walk(session, d, "assigned", due=date(2026, 11, 18), title="逾期乙", source_id=instr.id)
    t["c"] = _walk(session, d, "acknowledged", due=date(2026, 11, 5), title="逾期丙（教育局）", **other)
    t["d"] = _walk(session, d, "acknowledged", due=date(2026, 11, 25), title="临期甲")
    t["e"] = _walk(session, d, "in_progress", due=date(2026, 11, 24), title="临期乙（教育局）", **other)
    t["f"] = _walk(session, d, "in_progress", due=date(2026, 12, 31), title="正常甲", source_id=instr.id)
    t["g"] = _walk(session, d, "draft", due=date(2026, 11, 11), title="草稿")
    t["h"] = _walk(session, d, "closed", due=date(2026, 11, 20), closed_on=TODAY, title="本周超期办结")
    t["i"] = _walk(session, d, "closed", due=date(2026, 11, 30), closed_on=TODAY, title="本周按期办结")
    t["j"] = _walk(
        session, d, "closed", due=date(2026, 11, 30), closed_on=TODAY, title="本周按期办结（教育局）", **other
    )
    t["k"] = _walk(session, d, "closed", due=date(2026, 11, 19), closed_on=date(2026, 11, 18), title="上周按期")
    t["l"] = _walk(session, d, "closed", due=date(2026, 11, 16), closed_on=date(2026, 11, 20), title="上周超期")
    session.commit()
    d.tasks = t
    d.instr_id = instr.id
    return d


def _user(session, actor) -> User:
    return session.get(User, actor.user_id)


@contextmanager
def acting(app, session, actor):
    """A Dash callback request of this user, the way ``_dash-update-component`` runs it."""
    with app.test_request_context("/dashboard/_dash-update-component", method="POST"):
        from tracker.db import get_session

        login_user(LoginUser(get_session().get(User, actor.user_id)))
        yield


def _sql(session, text: str, **params) -> int:
    return session.execute(sa.text(text), params).scalar_one()


VISIBLE = {
    "office": "1=1",
    "lead_clerk": (
        "status NOT IN ('draft','pending_approval') AND (lead_department_id = :dep OR EXISTS "
        "(SELECT 1 FROM taskassist a WHERE a.task_id = task.id AND a.department_id = :dep))"
    ),
    "leader": (
        "status <> 'draft' AND (EXISTS (SELECT 1 FROM taskleader l WHERE l.task_id = task.id AND "
        "l.leader_id = :leader) OR lead_department_id IN (SELECT department_id FROM leaderdepartment "
        "WHERE leader_id = :leader))"
    ),
}
OPEN_SQL = "status IN ('assigned','acknowledged','in_progress','pending_review')"


def _independent(session, who: str, d) -> dict[str, int]:
    p = {"dep": d.lead_id, "leader": d.leader_id, "today": TODAY, "monday": TODAY, "soon": date(2026, 11, 26)}
    vis = VISIBLE[who]
    lead_only = " AND lead_department_id = :dep" if who == "lead_clerk" else ""
    return {
        "open": _sql(session, f"SELECT count(*) FROM task WHERE {vis} AND {OPEN_SQL}", **p),
        "overdue": _sql(
            session,
            f"SELECT count(*) FROM task WHERE {vis} AND {OPEN_SQL} AND deadline_kind = 'date' AND due_date < :today",
            **p,
        ),
        "due_soon": _sql(
            session,
            f"SELECT count(*) FROM task WHERE {vis} AND {OPEN_SQL} AND due_date >= :today AND due_date <= :soon",
            **p,
        ),
        "closed_week": _sql(
            session,
            f"SELECT count(*) FROM task WHERE {vis} AND status = 'closed' "
            "AND closed_on >= :monday AND closed_on <= :today",
            **p,
        ),
        "on_time": _sql(
            session,
            f"SELECT count(*) FROM task WHERE {vis} AND status = 'closed' AND closed_on >= "
            f":monday AND closed_on <= :today AND closed_on <= due_date{lead_only}",
            **p,
        ),
        "closed_lead": _sql(
            session,
            f"SELECT count(*) FROM task WHERE {vis} AND status = 'closed' AND closed_on >= "
            f":monday AND closed_on <= :today{lead_only}",
            **p,
        ),
    }


def _list_total(client, href: str) -> int:
    page = client.get(href)
    assert page.status_code == 200, href
    match = re.search(r"共 (?:<span[^>]*>)?(\d+)", page.get_data(as_text=True))
    assert match, href
    return int(match.group(1))


def _text(component) -> str:
    """All text inside a Dash component tree."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return "".join(_text(c) for c in component)
    return _text(getattr(component, "children", None))


def _links(component) -> list[tuple[str, str]]:
    if isinstance(component, (list, tuple)):
        return [x for c in component for x in _links(c)]
    out = []
    if getattr(component, "href", None):
        out.append((_text(component), component.href))
    children = getattr(component, "children", None)
    if children is not None and not isinstance(children, str):
        out += _links(children)
    return out


@pytest.mark.parametrize("who", ["office", "lead_clerk", "leader"])
def test_cards_equal_independent_sql_and_the_lists_they_open(app, session, district, who):
    actor = getattr(district, who)
    with acting(app, session, actor):
        out = callbacks.update_cards({}, None)
    values, hrefs, deltas = out[0:5], out[5:10], out[10:15]
    want = _independent(session, who, district)
    assert [int(v) for v in values[:4]] == [want["open"], want["overdue"], want["due_soon"], want["closed_week"]]
    rate = round(100 * want["on_time"] / want["closed_lead"], 1)
    assert values[4] == f"{rate:.1f}%"
    # hand-checked figures of the seed, so a wrong "independent" query cannot hide a bug
    expected = {"office": (6, 3, 2, 3, "66.7%"), "lead_clerk": (4, 2, 1, 2, "50.0%"), "leader": (4, 2, 1, 2, "50.0%")}[
        who
    ]
    assert tuple(int(v) for v in values[:4]) + (values[4],) == expected
    client = app.test_client()
    login(client, _user(session, actor).username)
    for value, href in zip(values, hrefs):
        shown = int(value) if value.isdigit() else want["on_time"]
        assert _list_total(client, href) == shown, href
    # the rate's numerator and denominator, and last week's closed count, are links too
    for text, href in _links(deltas):
        assert _list_total(client, href) == int(text), (text, href)
    assert "较上周" in _text(deltas[3]) and "较上周" in _text(deltas[4])
    assert out[15].startswith("数据截至 2026-11-23")


def test_list_pages_per_role(app, session, district):
    """Each role's numbers open its own list: the office list, the department list, the board's list."""
    for who, path in (("office", "/office/tasks"), ("lead_clerk", "/dept/tasks"), ("leader", "/dashboard/tasks")):
        with acting(app, session, getattr(district, who)):
            hrefs = callbacks.update_cards({}, None)[5:10]
        assert all(h.startswith(path + "?") for h in hrefs), (who, hrefs)


def test_filters_narrow_every_card(app, session, district):
    filters = {"source_kind": "leader_instruction"}
    with acting(app, session, district.office):
        out = callbacks.update_cards(filters, None)
    assert out[:4] == ("2", "1", "0", "0")  # b (overdue) and f (green) come from the instruction
    with acting(app, session, district.office):
        out = callbacks.update_cards({"department_id": str(district.other_id)}, None)
    assert out[:5] == ("2", "1", "1", "1", "100.0%")
    with acting(app, session, district.office):
        out = callbacks.update_cards({"urgency": "urgent", "due_to": "2026-11-15"}, None)
    assert out[:2] == ("1", "1")


def _all_bars(filters, tick):
    return [callbacks.update_bars[k](filters, tick) for k in ("department", "leader", "source-kind", "meeting")]


def _bar_values(fig) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for trace in fig["data"]:
        for label, x in zip(trace["y"], trace["x"]):
            out.setdefault(label, {})[trace["name"]] = x
    return out


def test_bars_count_what_their_lists_show(app, session, district):
    with acting(app, session, district.office):
        dept, leader, kind, meeting = _all_bars({}, None)
    by_dept = _bar_values(dept)
    assert by_dept["区发展和改革委员会"] == {"逾期": 2, "临期或节点滞后": 1, "正常": 1}
    assert by_dept["区教育局"] == {"逾期": 1, "临期或节点滞后": 1, "正常": 0}
    for name, light in (("区发展和改革委员会", "red"), ("区教育局", "yellow")):
        want = _sql(
            session,
            f"SELECT count(*) FROM task JOIN department d ON d.id = task.lead_department_id "
            f"WHERE d.name = :n AND {OPEN_SQL} AND "
            + ("due_date < :t" if light == "red" else "due_date >= :t AND due_date <= :s"),
            n=name,
            t=TODAY,
            s=date(2026, 11, 26),
        )
        assert by_dept[name]["逾期" if light == "red" else "临期或节点滞后"] == want
    assert _bar_values(leader)["吴海涛"] == {"逾期": 2, "临期或节点滞后": 1, "正常": 1}
    assert _bar_values(kind)["领导批示"] == {"逾期": 1, "临期或节点滞后": 0, "正常": 1}
    assert sum(sum(v.values()) for v in _bar_values(meeting).values()) == 4  # the executive meeting's open tasks
    client = app.test_client()
    login(client, _user(session, district.office).username)
    for fig in (dept, leader, kind, meeting):
        for trace in fig["data"]:
            for value, url in zip(trace["x"], trace["customdata"]):
                assert _list_total(client, url) == value, url


def test_leader_and_clerk_bars_stay_in_their_scope(app, session, district):
    with acting(app, session, district.leader):
        dept, leader, *_ = _all_bars({}, None)
    assert set(_bar_values(dept)) == {"区发展和改革委员会"}
    assert set(_bar_values(leader)) == {"吴海涛"}
    with acting(app, session, district.other_clerk):
        dept, *_ = _all_bars({"department_id": str(district.lead_id)}, None)
    assert dept["data"] == []  # asking for another department's tasks gives nothing


def test_overdue_grid_rows(app, session, district):
    # The reports were filed "now" on 2026-10-20: put them at 07:30 China time, the UTC day before,
    # so the grid's 最近反馈 must be China's date whenever the test runs (it once said 10-19 after
    # 16:00 UTC).
    from datetime import datetime, timezone

    for report in session.exec(select(ProgressReport)):
        report.created_at = datetime(2026, 10, 19, 23, 30, tzinfo=timezone.utc)
    session.commit()
    req = {"startRow": 0, "endRow": 50, "sortModel": [], "filterModel": {}}
    with acting(app, session, district.office):
        resp = callbacks.grid_rows(req, {})
    assert resp["rowCount"] == 3
    rows = resp["rowData"]
    assert [r["title"] for r in rows] == ["逾期丙（教育局）", "逾期甲", "逾期乙"]  # most working days late first
    # 2026-11-05 → 2026-11-23: 12 working days; 11-10 → 9; 11-18 → 3
    assert [r["overdue_workdays"] for r in rows] == [12, 9, 3]
    a = next(r for r in rows if r["title"] == "逾期甲")
    assert a["lead"] == "区发展和改革委员会" and a["leaders"] == "吴海涛" and a["urgency"] == "急件"
    assert a["source"] == "区政府第12次常务会议" and a["last_report"] == "2026-10-20"
    with acting(app, session, district.office):
        resp = callbacks.grid_rows(
            {
                **req,
                "sortModel": [{"colId": "overdue_workdays", "sort": "asc"}],
                "filterModel": {"title": {"filterType": "text", "type": "contains", "filter": "逾期"}},
            },
            {},
        )
    assert [r["overdue_workdays"] for r in resp["rowData"]] == [3, 9, 12]
    with acting(app, session, district.office):
        resp = callbacks.grid_rows({**req, "startRow": 1, "endRow": 2}, {})
    assert resp["rowCount"] == 3 and [r["title"] for r in resp["rowData"]] == ["逾期甲"]
    # a department sees its own (and assisted) overdue rows only, whatever filter it sends
    with acting(app, session, district.other_clerk):
        own = callbacks.grid_rows(req, {})
        other = callbacks.grid_rows(req, {"department_id": str(district.lead_id)})
    assert [r["title"] for r in own["rowData"]] == ["逾期丙（教育局）"]
    assert other == {"rowData": [], "rowCount": 0}
    # whatever else the browser sends gets the first block, never an error
    with acting(app, session, district.office):
        odd = callbacks.grid_rows(
            {"startRow": "x", "endRow": -5, "sortModel": ["a"], "filterModel": "?"},
            {"department_id": "1; drop", "urgency": "<script>"},
        )
    assert odd["rowCount"] == 3 and len(odd["rowData"]) == 3


def test_sync_filters_reads_and_writes_the_url(app, session, district):
    with acting(app, session, district.office):
        out = callbacks.sync_filters(
            f"?department_id={district.lead_id}&urgency=urgent&due_from=2026-11-01&bad=1",
            None,
            None,
            None,
            None,
            None,
            None,
        )
    assert out[1:7] == ("2026-11-01", None, None, None, str(district.lead_id), "urgent")
    assert out[7] == {"due_from": "2026-11-01", "department_id": str(district.lead_id), "urgency": "urgent"}
    assert BoardFilter.from_args({"source_kind": "nonsense", "leader_id": "x"}) == BoardFilter()
    # a control changed: the URL (bookmarkable) and the shared filter store follow
    from unittest import mock

    with mock.patch.object(callbacks, "_trigger", return_value="f-urgency"), acting(app, session, district.leader):
        out = callbacks.sync_filters("", "2026-11-01T00:00:00", None, None, str(district.leader_id), None, "urgent")
    assert out[0] == f"?due_from=2026-11-01&leader_id={district.leader_id}&urgency=urgent"
    assert out[7] == {"due_from": "2026-11-01", "leader_id": str(district.leader_id), "urgency": "urgent"}


def _snapshots(session, d):
    """Four weeks of daily snapshots for two departments, with recognisable numbers."""
    rows = []
    for back in range(0, 28):
        day = TODAY - timedelta(days=back)
        week = (back + 6) // 7  # calendar weeks: 0 = this week (only Monday), 1 = 11-16..11-22 ...
        rows.append(
            ScoreSnapshot(
                day=day,
                department_id=d.lead_id,
                open_count=10 + week,
                overdue_count=2,
                closed_count=100 - 5 * week,
                overdue_task_days=0,
            )
        )
        rows.append(
            ScoreSnapshot(
                day=day,
                department_id=d.other_id,
                open_count=1,
                overdue_count=1,
                closed_count=50 - week,
                overdue_task_days=0,
            )
        )
    session.add_all(rows)
    session.commit()


def test_trend_heatmap_and_week_on_week_change_from_snapshots(app, session, district):
    _snapshots(session, district)
    with acting(app, session, district.office):
        trend, heat = callbacks.update_trend({}, None)
        cards = callbacks.update_cards({}, None)
    open_line, overdue_line, closed_bars = trend["data"]
    assert len(open_line["x"]) == 26
    # the 26 weeks as people say them, and as categories: Plotly reads "11-23" as a date in 2011
    this_week = TODAY - timedelta(days=TODAY.weekday())
    weeks = [this_week - timedelta(weeks=25 - k) for k in range(26)]
    assert open_line["x"] == [f"第{w.isocalendar().week}周 {w:%m/%d}–{w + timedelta(days=6):%m/%d}" for w in weeks]
    assert trend["layout"]["xaxis"]["type"] == "category" and heat["layout"]["xaxis"]["type"] == "category"
    assert heat["data"][0]["x"] == open_line["x"][-len(heat["data"][0]["x"]) :]
    assert open_line["y"][-4:] == [14, 13, 12, 11]  # last snapshot of each week, summed over departments
    assert overdue_line["y"][-4:] == [3, 3, 3, 3]
    assert closed_bars["y"][-3:] == [6, 6, 6]  # growth of the cumulative closed count per week
    assert open_line["y"][0] is None  # no snapshots that far back
    z = dict(zip(heat["data"][0]["y"], heat["data"][0]["z"]))
    assert list(z["区发展和改革委员会"][-4:]) == [14, 14, 14, 2]  # overdue task-days: 7 days x 2, Monday x 2
    assert _text(cards[10]) == "较上周 -6"  # 6 open now; 11 + 1 in the snapshots of Monday 11-16
    with acting(app, session, district.other_clerk):
        trend, heat = callbacks.update_trend({}, None)
    assert trend["data"][0]["y"][-1:] == [1] and heat["data"][0]["y"] == ["区教育局"]


def test_schedule_and_ranking(app, session, district):
    iso = TODAY.isocalendar()
    sched = WeeklySchedule(iso_year=iso.year, iso_week=iso.week, week_start=TODAY)
    session.add(sched)
    session.flush()
    session.add_all(
        [
            ScheduleItem(
                schedule_id=sched.id,
                task_id=district.tasks["a"].id,
                section="blocked",
                category="内部协调类",
                detail="征地未完成",
                on_agenda=True,
            ),
            ScheduleItem(
                schedule_id=sched.id, task_id=district.tasks["c"].id, section="blocked", category="向上争取类"
            ),
        ]
    )
    session.add(
        Bulletin(
            kind="week",
            period="2026-W47",
            period_start=date(2026, 11, 16),
            period_end=date(2026, 11, 22),
            data={
                "ranking": [
                    {"rank": 1, "department": "区教育局", "score": 98.5, "on_time_rate": 1.0},
                    {"rank": 2, "department": "区发展和改革委员会", "score": 80.0},
                ]
            },
        )
    )
    session.commit()
    with acting(app, session, district.lead_clerk):
        schedule, ranking = callbacks.update_schedule({}, None), callbacks.update_ranking(None)
    text = _text(schedule)
    assert "临期甲" in text and "逾期甲" in text and "征地" not in text
    assert "逾期丙" not in text  # another department's blocked item stays hidden
    assert "临期乙" not in text
    (count_text, href), *_ = _links(schedule)
    assert count_text == "1" and "due_from=2026-11-23" in href and "due_to=2026-11-29" in href
    assert "2026-W47" in _text(ranking) and "区教育局" in _text(ranking) and "100.0%" in _text(ranking)
    with acting(app, session, district.office):
        schedule = callbacks.update_schedule({}, None)
    assert "逾期丙" in _text(schedule) and "已列入" in _text(schedule)


def test_remind_button_reminds_lead_departments_once_a_day(app, session, district):
    rows = [
        {"id": district.tasks["a"].id, "code": district.tasks["a"].code},
        {"id": district.tasks["c"].id, "code": district.tasks["c"].code},
    ]
    with acting(app, session, district.leader):
        out = callbacks.remind_selected(1, [rows])
    text = _text(out)
    assert f"已催办 1 项：{district.tasks['a'].code}" in text and district.tasks["c"].code in text  # c: not theirs
    reminders = session.exec(select(Reminder)).all()
    assert [(r.task_id, r.department_id, r.day) for r in reminders] == [
        (district.tasks["a"].id, district.lead_id, TODAY)
    ]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "remind")).all()
    with acting(app, session, district.leader):
        again = callbacks.remind_selected(2, [rows[:1]])
    assert "今天已对该单位催办过此事项" in _text(again)
    assert len(session.exec(select(Reminder)).all()) == 1


def test_export_is_the_grid_as_a_ledger(app, session, district):
    client = app.test_client()
    login(client, _user(session, district.lead_clerk).username)
    with acting(app, session, district.lead_clerk):
        _grid, href, summary = callbacks.replace_grid({"urgency": "urgent", "department_id": str(district.lead_id)})
    assert summary == "筛选：牵头单位：区发展和改革委员会；紧急程度：急件"
    assert href == f"/dashboard/export.xlsx?urgency=urgent&department_id={district.lead_id}"
    # the same filter state again (a bookmark writes the store twice): the grid on the page stays
    filters = {"urgency": "urgent", "department_id": str(district.lead_id)}
    with acting(app, session, district.lead_clerk):
        kept, _href, _summary = callbacks.replace_grid(filters, [{"type": "overdue-grid", "v": _grid.id["v"]}])
        fresh, _href, _summary = callbacks.replace_grid(
            {"urgency": "urgent"}, [{"type": "overdue-grid", "v": _grid.id["v"]}]
        )
    assert kept is dash.no_update and fresh.id["v"] != _grid.id["v"]
    resp = client.get(href)
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.data)).active
    cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value]
    assert any("逾期甲" in c for c in cells) and not any("逾期乙" in c or "逾期丙" in c for c in cells)
    resp = client.get("/dashboard/export.xlsx")
    ws = load_workbook(io.BytesIO(resp.data)).active
    cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value]
    assert any("逾期乙" in c for c in cells) and not any("逾期丙" in c for c in cells)


def test_navigation_targets(app):
    url = "/office/tasks?lead_department_id=3&light=red"
    click = {"points": [{"customdata": url}]}
    from unittest import mock

    with mock.patch.object(callbacks, "_trigger", return_value="g-leader"):
        assert callbacks.navigate({"points": [{"customdata": "/x"}]}, click, None, None, []) == url
    with mock.patch.object(callbacks, "_trigger", return_value={"type": "overdue-grid", "v": "a"}):
        assert callbacks.navigate(None, None, None, None, [{"colId": "title", "rowId": "42"}]) == "/tasks/42"
    with mock.patch.object(callbacks, "_trigger", return_value="g-leader"):
        with pytest.raises(dash.exceptions.PreventUpdate):
            callbacks.navigate(None, {"points": [{"customdata": "//evil.example"}]}, None, None, [])
