"""Department scoring (003 §37 突出结果导向): exact figures, score, rank, snapshots, trend."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from tests import scoring_district
from tracker import clock
from tracker.errors import NotPermitted, ValidationFailed
from tracker.models import AppSetting, AuditEvent, ScoreSnapshot
from tracker.services.figures import scoring
from tracker.services.tasks import requests as task_requests


@pytest.fixture
def sc(session):
    return scoring_district.build(session)


def _figs(session, sc, start, end):
    figs = scoring.period_figures(session, start, end)
    return figs[sc.d.lead_id], figs[sc.d.other_id], figs[sc.d.assist_id]


def test_october_figures_per_department(session, sc):
    a, b, c = _figs(session, sc, date(2026, 10, 1), date(2026, 10, 31))
    # A1, A3 (extended before its original deadline), A4 on time; A2 late across the holiday.
    assert (a.closed, a.closed_on_time, a.open, a.overdue) == (4, 3, 1, 1)
    # A5 due 09-30, at the end of 10-31: 10-08, 10-09, make-up Saturday 10-10, then 15 weekdays.
    assert a.overdue_task_days == 18
    assert (a.returns, a.late_reports, a.extensions) == (1, 1, 1)
    assert (b.closed, b.closed_on_time, b.open, b.overdue, b.overdue_task_days) == (1, 1, 2, 1, 8)
    assert (b.returns, b.late_reports, b.extensions) == (2, 1, 0)
    # The assisting department is never counted for the lead's tasks.
    assert (c.closed, c.open, c.overdue, c.returns, c.extensions) == (0, 0, 0, 0, 0)
    assert a.on_time_rate == pytest.approx(0.6) and b.on_time_rate == pytest.approx(0.5)
    assert c.on_time_rate is None


def test_national_day_week_counts_working_days_only(session, sc):
    """W41 (10-05..10-11): A2 and A5 (due 09-30) are overdue by 10-08, 10-09, 10-10 (调休) and
    Monday 10-12: 4 working days each, not 12 calendar days."""
    a, b, _ = _figs(session, sc, date(2026, 10, 5), date(2026, 10, 11))
    assert (a.open, a.overdue, a.overdue_task_days) == (4, 2, 8)
    assert (a.closed, a.closed_on_time, a.extensions) == (1, 1, 1)  # A1 on 10-09; A3's extension on 10-08
    assert (b.open, b.overdue, b.overdue_task_days) == (3, 0, 0)


def test_original_deadline_is_kept_but_extended_one_scores(session, sc):
    a3 = sc.t["A3"]
    session.refresh(a3)
    assert a3.original_due_date == date(2026, 10, 9) and a3.due_date == date(2026, 10, 23)
    assert a3.closed_on == date(2026, 10, 20)  # after the original deadline, within the extended one
    a, _, _ = _figs(session, sc, date(2026, 10, 19), date(2026, 10, 25))
    assert (a.closed, a.closed_on_time) == (2, 2)  # A3 and A4


def test_scores_and_ranking_with_a_tie(session, sc):
    ranked = scoring.ranking(session, date(2026, 10, 1), date(2026, 10, 31))
    names = [(f.department, f.rank, f.score) for f in ranked]
    # A: 60 + 40×0.6 − 18×0.5 − 2 − 1 − 1 = 71; B: 60 + 40×0.5 − 8×0.5 − 2×2 − 1 = 71.
    # Tied at 71: the higher on-time rate (A 60 % over B 50 %) ranks first.
    assert names == [("区发展和改革委员会", 1, 71.0), ("区教育局", 2, 71.0), ("区财政局", None, 100.0)]
    weights = scoring.score_weights(session)
    assert scoring.deductions(ranked[0], weights) == {
        "overdue_task_days": 9.0,
        "returns": 2.0,
        "late_reports": 1.0,
        "extensions": 1.0,
    }


def test_caps_and_floor():
    w = dict(scoring.DEFAULT_WEIGHTS)
    f = scoring.Figures(1, closed=0, overdue=10, overdue_task_days=500, returns=40, late_reports=99, extensions=9)
    # rate 0: 60 − 30 (cap) − 10 − 10 − 5 = 5
    assert scoring.score(f, w) == 5.0
    w.update(on_time_rate=100)
    assert scoring.score(f, w) == 0.0  # floored


def test_weights_are_configurable_validated_and_audited(session, sc):
    with pytest.raises(ValidationFailed) as exc:
        scoring.set_weights(
            session,
            sc.d.office,
            {**scoring.DEFAULT_WEIGHTS, "return_": "-1", "extension_cap": "abc", "on_time_rate": "120"},
        )
    assert set(exc.value.fields) == {"return_", "extension_cap", "on_time_rate"}
    assert "每次退回扣分" in exc.value.message
    assert session.get(AppSetting, scoring.SETTING_KEY) is None  # nothing half-written
    with pytest.raises(NotPermitted):
        scoring.set_weights(session, sc.d.lead_clerk, scoring.DEFAULT_WEIGHTS)
    scoring.set_weights(session, sc.d.office, {**scoring.DEFAULT_WEIGHTS, "return_": "5"})
    session.commit()
    assert scoring.score_weights(session)["return_"] == 5.0
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "set_score_weights")).one()
    assert event.before == {"return_": 2.0} and event.after == {"return_": 5.0}
    ranked = scoring.ranking(session, date(2026, 10, 1), date(2026, 10, 31))
    # B now loses 10 (capped) for its two returns, A 5 for one.
    assert [(f.department, f.score) for f in ranked[:2]] == [("区发展和改革委员会", 68.0), ("区教育局", 65.0)]


def test_take_snapshot_is_idempotent(session, sc):
    assert scoring.take_snapshot(session, date(2026, 10, 31)) == 3
    session.commit()
    # Change a task, snapshot the same day again: same rows, new figures.
    with clock.frozen(date(2026, 11, 2)):
        task_requests.request_close(session, sc.d.lead_clerk, sc.t["A5"].id, "已完成")
    assert scoring.take_snapshot(session, date(2026, 10, 31)) == 3
    session.commit()
    rows = session.exec(select(ScoreSnapshot).where(ScoreSnapshot.day == date(2026, 10, 31))).all()
    assert len(rows) == 3
    a = next(r for r in rows if r.department_id == sc.d.lead_id)
    assert (a.open_count, a.overdue_count, a.closed_count, a.closed_on_time, a.overdue_task_days) == (1, 1, 4, 3, 18)
    assert (a.returns, a.late_reports, a.extensions, a.score) == (1, 1, 1, 71.0)
    c = next(r for r in rows if r.department_id == sc.d.assist_id)
    assert (c.open_count, c.closed_count, c.score) == (0, 0, 100.0)
    # Counters are running totals ("so far"): they do not restart on 1 January.
    scoring.take_snapshot(session, date(2027, 1, 4))
    new_year = session.exec(
        select(ScoreSnapshot).where(ScoreSnapshot.day == date(2027, 1, 4), ScoreSnapshot.department_id == sc.d.lead_id)
    ).one()
    assert (new_year.closed_count, new_year.returns, new_year.extensions) == (4, 1, 1)
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "take_score_snapshot")).all()


def test_weekly_trend_from_snapshots(session, sc):
    for day in (date(2026, 10, 11), date(2026, 10, 18), date(2026, 10, 25)):
        scoring.take_snapshot(session, day)
    session.commit()
    trend = scoring.weekly_trend(session, weeks=4, today=date(2026, 10, 28))
    assert [w["week"] for w in trend] == ["2026-W41", "2026-W42", "2026-W43", "2026-W44"]
    # W41 has no earlier snapshot to compare with; W44 has none yet.
    assert trend[0] == {
        "week": "2026-W41",
        "week_start": date(2026, 10, 5),
        "day": date(2026, 10, 11),
        "open": 8 - 1,
        "overdue": 2,
        "closed": None,
    }
    # End of 10-18: A2, B1 closed this week (A1 the week before); A3, A4, A5, B2, B3 open; A5 overdue.
    assert (trend[1]["open"], trend[1]["overdue"], trend[1]["closed"]) == (5, 1, 2)
    # End of 10-25: A3, A4 closed; A5 and B2 overdue, B3 open.
    assert (trend[2]["open"], trend[2]["overdue"], trend[2]["closed"]) == (3, 2, 2)
    assert trend[3]["open"] is None and trend[3]["closed"] is None
    only_b = scoring.weekly_trend(session, weeks=4, department_ids=[sc.d.other_id], today=date(2026, 10, 28))
    assert (only_b[2]["open"], only_b[2]["overdue"], only_b[2]["closed"]) == (2, 1, 0)
