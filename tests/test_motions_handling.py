"""人大建议/政协提案: import, steps, reminders on exact working days, answers, satisfaction.

The frozen-clock walk: a 建议 batch assigned 2026-03-06, so that the co-handling
opinion (one month: 2026-04-06, 清明 → 2026-04-07) and the 面商 (two months:
2026-05-06, the day after the 劳动节 holiday) fall around the 2026 holidays.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlmodel import select
from werkzeug.datastructures import FileStorage

from tests.fixtures.helpers import load_district
from tests.fixtures.make_motion_fixtures import PROPOSALS, SUGGESTIONS
from tracker import clock
from tracker.errors import NotFound, ValidationFailed
from tracker.models import AuditEvent, Motion, MotionStep, Reminder, Role, Source, Task
from tracker.rules import overdue as derived
from tracker.services.actors import SYSTEM, Actor
from tracker.services.motions import handling as motions
from tracker.services.motions import importer as motion_import
from tracker.services.motions import limits as motion_limits
from tracker.services.motions import publishing as motion_publishing
from tracker.services.motions import reminders as motion_reminders
from tracker.services.organisation import directory as organisation
from tracker.services.tasks import attachments
from tracker.services.tasks import lifecycle as tasks

ASSIGNED = date(2026, 3, 6)


def _clerk(session, org, name):
    user = organisation.create_user(
        session,
        SYSTEM,
        f"u{org.dept(name)}",
        f"{name}联络员",
        "Factory-pass-7",
        Role.CLERK,
        department_id=org.dept(name),
    )
    session.flush()
    return Actor.of(user)


def _pdf(name="答复函.pdf"):
    return FileStorage(
        stream=io.BytesIO(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
        filename=name,
        content_type="application/pdf",
    )


@pytest.fixture
def batch(session):
    org = load_district(session)
    with clock.frozen(ASSIGNED):
        report = motion_import.import_list(session, org.office, SUGGESTIONS)
        proposals = motion_import.import_list(session, org.office, PROPOSALS, session_name="区政协十届三次会议")
        session.commit()
    return org, report, proposals


def _motion(session, kind, number) -> Motion:
    return session.exec(select(Motion).where(Motion.kind == kind, Motion.number == number)).one()


def _steps(session, motion, kind):
    return [s for s in motions.steps(session, motion.id) if s.kind == kind]


def test_fixtures_have_thirty_items_each_and_import_whole(session, batch):
    org, report, proposals = batch
    assert report.kind == "suggestion" and report.session_name == "区十七届人大三次会议"
    assert len(report.motions) == 32 and len(proposals.motions) == 31
    assert session.scalar(select(sa.func.count()).select_from(Task).where(Task.status == "assigned")) == 63
    # one Source per kind and session, the right kinds
    kinds = sorted(session.exec(select(Source.kind, Source.reference)).all())
    assert kinds == [("cppcc_proposal", "区政协十届三次会议"), ("npc_suggestion", "区十七届人大三次会议")]
    m1 = _motion(session, "suggestion", 1)
    task = session.get(Task, m1.task_id)
    assert task.lead_department_id == org.dept("区住房和城乡建设局")
    assert task.due_date == date(2026, 6, 8)  # 3 months: 2026-06-06 is a Saturday → Monday
    assert m1.is_key and m1.category == "城建" and m1.contact.startswith("139")
    assert m1.supervising_leader_id == org.leader("吴海涛")  # 重点建议: its 领办领导 is the task's leader
    assert tasks.leader_ids(session, m1.task_id) == [org.leader("吴海涛")]

    # the merged 类别 cell carried down to row 2
    assert _motion(session, "suggestion", 2).category == "城建"
    assert {s.kind: s.due_date for s in motions.steps(session, m1.id)} == {
        "opinion": date(2026, 4, 7),  # one month: 2026-04-06 is 清明 → the next working day
        "consult": date(2026, 5, 6),  # two months: the first working day after 劳动节
        "answer": date(2026, 6, 8),
    }
    assert len(_steps(session, m1, "opinion")) == 2  # 城关街道 and 区财政局
    assert _motion(session, "proposal", 27).title.endswith("的提案")


def test_a_deadline_written_on_the_list_wins(session, tmp_path):
    org = load_district(session)
    wb = load_workbook(SUGGESTIONS)
    wb.active["K6"] = "2026年5月29日前"  # item 3
    path = tmp_path / "deadline.xlsx"
    wb.save(path)
    with clock.frozen(ASSIGNED):
        motion_import.import_list(session, org.office, path)
    m3 = _motion(session, "suggestion", 3)
    assert session.get(Task, m3.task_id).due_date == date(2026, 5, 29)
    assert [s.due_date for s in _steps(session, m3, "answer")] == [date(2026, 5, 29)]
    assert _steps(session, m3, "opinion")[0].due_date == date(2026, 4, 7)
    assert session.get(Task, _motion(session, "suggestion", 4).task_id).due_date == date(2026, 6, 8)


def test_a_bad_row_imports_nothing(session, tmp_path):
    org = load_district(session)
    wb = load_workbook(SUGGESTIONS)
    ws = wb.active
    ws["I10"] = "区不存在局"
    ws["B12"] = None
    path = tmp_path / "bad.xlsx"
    wb.save(path)
    with clock.frozen(ASSIGNED), pytest.raises(ValidationFailed) as exc:
        motion_import.import_list(session, org.office, path)
    assert "第10行" in exc.value.message and "区不存在局" in exc.value.message
    assert "第12行" in exc.value.message and "建议题目为空" in exc.value.message
    assert session.scalar(select(sa.func.count()).select_from(Motion)) == 0
    assert session.scalar(select(sa.func.count()).select_from(Task)) == 0
    # the same list twice: the second is refused whole
    with clock.frozen(ASSIGNED):
        motion_import.import_list(session, org.office, SUGGESTIONS)
        with pytest.raises(ValidationFailed, match="已经登记"):
            motion_import.import_list(session, org.office, SUGGESTIONS)


def _reminders(session, start, end):
    out = []
    day = start
    while day <= end:
        with clock.frozen(day):
            motion_reminders.run_step_reminders(session, day)
        day += timedelta(days=1)
    session.flush()
    return out


def _reminder_days(session, step) -> dict[str, list[date]]:
    rows = session.exec(
        select(Reminder.rule, Reminder.day)
        .where(Reminder.rule.like(f"motion:{step.id}:%"), Reminder.department_id == step.department_id)
        .order_by(Reminder.day)
    ).all()
    out: dict[str, list[date]] = {}
    for rule, day in rows:
        out.setdefault(rule.split(":", 2)[2], []).append(day)
    return out


def test_frozen_clock_walk(session, batch, tmp_path):
    org, _report, _p = batch
    zjj = _clerk(session, org, "区住房和城乡建设局")
    cg = _clerk(session, org, "城关街道办事处")
    czj = _clerk(session, org, "区财政局")
    jtj = _clerk(session, org, "区交通运输局")
    m1, m2, m4 = (_motion(session, "suggestion", n) for n in (1, 2, 4))

    # --- 改派: 区交通局 says item 2 is not theirs within 10 days; the office gives it to 区住建局
    with clock.frozen(date(2026, 3, 13)):
        motions.request_reassign(session, jtj, m2.id, "停车泊位规划建设属住建部门职责", org.dept("区住房和城乡建设局"))
    with clock.frozen(date(2026, 3, 16)):
        motions.decide_reassign(session, org.office, m2.id, True, org.dept("区住房和城乡建设局"))
    t2 = session.get(Task, m2.task_id)
    assert t2.lead_department_id == org.dept("区住房和城乡建设局") and t2.status == "assigned"
    assert t2.due_date == date(2026, 6, 16)  # three months from the new assignment
    assert not _steps(session, m2, "opinion")  # its only co-handling unit became the lead
    # item 4 asks too late: 10 days ran out on 2026-03-16
    with clock.frozen(date(2026, 3, 17)), pytest.raises(ValidationFailed, match="10日内"):
        motions.request_reassign(session, jtj, m4.id, "不属于本单位职责")

    # --- reminders on exact working days, around 清明 and 劳动节
    _reminders(session, date(2026, 3, 27), date(2026, 4, 2))
    with clock.frozen(date(2026, 4, 3)):
        motions.send_opinion(session, cg, m1.id, "城关街道将配合做好居民意见征集和施工协调")
    _reminders(session, date(2026, 4, 3), date(2026, 4, 8))
    op_cg, op_czj = sorted(_steps(session, m1, "opinion"), key=lambda s: s.department_id != org.dept("城关街道办事处"))
    assert _reminder_days(session, op_czj) == {
        "before:3": [date(2026, 4, 1)],
        "before:1": [date(2026, 4, 3)],  # 4-4..4-6 清明 off
        "today": [date(2026, 4, 7)],
        "overdue": [date(2026, 4, 8)],
    }
    assert _reminder_days(session, op_cg) == {"before:3": [date(2026, 4, 1)]}  # sent on 4-03: no more
    # a missed step turns the task red like any overdue task, though the answer is due in June
    h = derived.Horizon.build(session, today=date(2026, 4, 8))
    red = session.scalar(select(derived.is_overdue(h)).select_from(Task).where(Task.id == m1.task_id))
    days = session.scalar(select(derived.overdue_workdays(h)).select_from(Task).where(Task.id == m1.task_id))
    assert red and days == 1
    with clock.frozen(date(2026, 4, 9)):
        motions.send_opinion(session, czj, m1.id, "财政局将按程序安排改造补助资金")
    h = derived.Horizon.build(session, today=date(2026, 4, 9))
    assert not session.scalar(select(derived.is_overdue(h)).select_from(Task).where(Task.id == m1.task_id))

    _reminders(session, date(2026, 4, 24), date(2026, 5, 6))
    consult = _steps(session, m1, "consult")[0]
    assert _reminder_days(session, consult) == {
        "before:3": [date(2026, 4, 28)],
        "before:1": [date(2026, 4, 30)],
        "today": [date(2026, 5, 6)],
    }
    # nothing on the holiday, nothing twice
    assert not session.exec(select(Reminder).where(Reminder.day.in_([date(2026, 5, 1), date(2026, 5, 4)]))).all()
    before = session.scalar(select(sa.func.count()).select_from(Reminder))
    with clock.frozen(date(2026, 5, 6)):
        motion_reminders.run_step_reminders(session, date(2026, 5, 6))
    assert session.scalar(select(sa.func.count()).select_from(Reminder)) == before

    # --- 面商, then the answer: refused before the 面商, accepted after
    with clock.frozen(date(2026, 5, 6)), pytest.raises(ValidationFailed, match="面商"):
        motions.answer(
            session,
            zjj,
            m1.id,
            "B",
            "已列入2026年改造计划",
            _pdf(),
            promise_date=date(2026, 12, 31),
            directory=tmp_path,
        )
    with clock.frozen(date(2026, 5, 6)):
        motions.record_consult(session, zjj, m1.id, date(2026, 5, 6), "当面", "到小区实地查看，与王建国代表当面沟通")
    with clock.frozen(date(2026, 5, 15)):
        motions.answer(
            session,
            zjj,
            m1.id,
            "B",
            "已列入2026年老旧小区改造计划，年底前完成",
            _pdf(),
            promise_date=date(2026, 12, 31),
            directory=tmp_path,
        )
    assert session.get(Task, m1.task_id).status == "pending_review" and m1.stage == "review"
    # the answer letter reaches the co-handling units too; a unit outside the motion gets nothing
    letter, _path = attachments.for_download(session, cg, m1.answer_attachment_id, directory=tmp_path)
    assert letter.id == m1.answer_attachment_id
    with pytest.raises(NotFound):
        attachments.for_download(session, jtj, m1.answer_attachment_id, directory=tmp_path)
    with clock.frozen(date(2026, 5, 18)):
        motions.review_answer(session, org.office, m1.id, True)
    assert session.get(Task, m1.task_id).status == "closed" and m1.stage == "feedback"
    assert m1.first_answered_on == date(2026, 5, 15)

    # --- 不满意: the item re-opens for a second handling, three months from the feedback
    with clock.frozen(date(2026, 5, 25)):
        motions.record_feedback(session, org.office, m1.id, "不满意", "希望明确施工时间表")
    t1 = session.get(Task, m1.task_id)
    assert t1.status == "in_progress" and m1.round == 2 and m1.stage == "handling"
    assert t1.due_date == date(2026, 8, 25)
    second = [s for s in motions.steps(session, m1.id) if s.round == 2]
    assert {s.kind for s in second} == {"consult", "answer"}
    _reminders(session, date(2026, 8, 18), date(2026, 8, 26))
    answer2 = next(s for s in second if s.kind == "answer")
    assert _reminder_days(session, answer2) == {
        "before:3": [date(2026, 8, 20)],
        "before:1": [date(2026, 8, 24)],
        "today": [date(2026, 8, 25)],
        "overdue": [date(2026, 8, 26)],
    }
    with clock.frozen(date(2026, 8, 27)):
        motions.record_consult(session, zjj, m1.id, date(2026, 8, 27), "座谈", "召开居民座谈会，通报施工计划")
        motions.answer(
            session, zjj, m1.id, "A", "施工时间表已公布，9月开工", _pdf("二次答复函.pdf"), directory=tmp_path
        )
        motions.review_answer(session, org.office, m1.id, True)
        motions.record_feedback(session, org.office, m1.id, "满意")
    assert m1.stage == "done" and m1.satisfaction == "满意"
    # the B promise from the first round is still followed up
    follow = _steps(session, m1, "follow_up")[0]
    assert follow.due_date == date(2026, 12, 31) and follow.done_on is None
    with clock.frozen(date(2026, 11, 30)):
        motions.keep_promise(session, zjj, m1.id, "改造已完工并通过验收")
    assert m1.follow_up_done_on == date(2026, 11, 30)

    # --- figures: answered on time (first round), A/B/C/D, satisfaction, re-opened
    fig = {r["department"]: r for r in motion_publishing.figures_by_unit(session, kind="suggestion")}
    zj = fig["区住房和城乡建设局"]
    assert zj["answered"] == 1 and zj["on_time"] == 1 and zj["reopened"] == 1
    assert zj["A"] == 1 and zj["satisfaction_rate"] == 100.0
    # every step is in the audit trail
    actions = set(session.exec(select(AuditEvent.action).where(AuditEvent.task_id == m1.task_id)))
    assert {
        "motion_register",
        "assign",
        "report_part",
        "request_close",
        "approve_close",
        "reopen",
        "motion_feedback",
        "motion_promise_kept",
        "remind",
    } <= actions

    # --- publishing: reviewed answers only, no contact and no full text
    path = tmp_path / "公开.xlsx"
    assert motion_publishing.export_public(session, path, kind="suggestion") == 1
    ws = load_workbook(path).active
    values = [c.value for row in ws.iter_rows() for c in row]
    assert "建议第1号" in values and "A 已解决或采纳" in values
    assert m1.contact not in values and not any(m1.contact in str(v) for v in values)


def test_co_handling_unit_cannot_answer_and_office_limits_are_data(session, batch):
    org, *_ = batch
    cg = _clerk(session, org, "城关街道办事处")
    m1 = _motion(session, "suggestion", 1)
    from tracker.errors import NotPermitted

    with clock.frozen(date(2026, 3, 10)), pytest.raises(NotPermitted):
        motions.record_consult(session, cg, m1.id, date(2026, 3, 10), "当面", "x")
    motion_limits.save_limits(session, org.office, {"opinion": [15, "workdays"]})
    assert motion_limits.load_limits(session)["opinion"] == [15, "workdays"]
    assert motion_limits.limit_due(session, ASSIGNED, [15, "workdays"]) == date(2026, 3, 27)
    with pytest.raises(ValidationFailed):
        motion_limits.save_limits(session, org.office, {"answer": [3, "weeks"]})


def test_cli_import_dry_run_export_and_figures(app, session, tmp_path):
    load_district(session)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["motions", "import", str(SUGGESTIONS), "--dry-run"])
    assert dry.exit_code == 0 and "检查通过（未写入）" in dry.output
    assert session.scalar(select(sa.func.count()).select_from(Motion)) == 0
    done = runner.invoke(args=["motions", "import", str(PROPOSALS), "--session", "区政协十届三次会议"])
    assert done.exit_code == 0, done.output
    assert "已导入并交办 31 件" in done.output
    assert session.scalar(select(sa.func.count()).select_from(Motion).where(Motion.kind == "proposal")) == 31
    again = runner.invoke(args=["motions", "import", str(PROPOSALS), "--session", "区政协十届三次会议"])
    assert again.exit_code == 1 and "已经登记" in again.output
    out = tmp_path / "公开.xlsx"
    exported = runner.invoke(args=["motions", "export", str(out)])
    assert exported.exit_code == 0 and "已导出 0 件" in exported.output  # nothing answered yet
    figures = runner.invoke(args=["motions", "figures", "--kind", "proposal"])
    assert '"total": ' in figures.output and "区住房和城乡建设局" in figures.output


def test_office_sets_the_limits_on_the_figures_page(client, session):
    from tests.webutil import login

    load_district(session)
    login(client, "duchashi", "Factory-pass-7")
    page = client.get("/motions/figures")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "办理时限" in html
    assert "<title>建议提案办理统计 · " in html  # the title block once held the whole limits form
    assert html.count('id="form-limits"') == 1
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    bad = client.post(
        "/motions/limits",
        data={"csrf_token": token, "amount_answer": "0", "unit_answer": "months"},
        follow_redirects=True,
    )
    assert "办理时限填写有误" in bad.get_data(as_text=True)
    assert motion_limits.load_limits(session)["answer"] == [3, "months"]
    ok = client.post(
        "/motions/limits",
        data={"csrf_token": token, "amount_opinion": "20", "unit_opinion": "workdays"},
        follow_redirects=True,
    )
    assert "办理时限已保存" in ok.get_data(as_text=True)
    session.expire_all()
    assert motion_limits.load_limits(session)["opinion"] == [20, "workdays"]
    assert session.exec(
        select(AuditEvent).where(AuditEvent.action == "rules_update", AuditEvent.note == "motion_limits")
    ).first()


def test_the_daily_job_reminds_the_steps(session, batch):
    from tracker import jobs

    with clock.frozen(date(2026, 4, 1)):
        counts = jobs._reminders(session, date(2026, 4, 1))
    # every assisting unit of the 63 items: its opinion is due 2026-04-07, 3 working days ahead
    expected = session.scalar(select(sa.func.count()).select_from(MotionStep).where(MotionStep.kind == "opinion"))
    assert counts["motions.motion_reminders"] == expected > 30
    assert (
        session.scalar(
            select(sa.func.count())
            .select_from(Reminder)
            .where(Reminder.day == date(2026, 4, 1), Reminder.rule.like("motion:%:before:3"))
        )
        == expected
    )


def test_missed_opinions_are_red_on_the_dashboard(session, batch):
    from tracker.services.figures import board

    org, *_ = batch
    with_assist = session.scalar(
        select(sa.func.count(sa.distinct(MotionStep.task_id))).where(MotionStep.kind == "opinion")
    )
    day = date(2026, 4, 8)  # the opinions were due 2026-04-07; the answers are due in June
    with clock.frozen(day):
        h = derived.Horizon.build(session, today=day)
        cards = board.cards(session, org.office, board.BoardFilter(), h)
        bars = {b.key: b for b in board.bars_by_source_kind(session, org.office, board.BoardFilter(), h)}
    assert cards.overdue.value == with_assist > 30
    red = sum(bars[k].counts["red"].value for k in ("npc_suggestion", "cppcc_proposal") if "red" in bars[k].counts)
    assert red == with_assist
