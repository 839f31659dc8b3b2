"""The demo district: built through the services, every state of the loop, repeatable."""

import ast
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests import factories as f
from tracker import clock
from tracker.config import Settings
from tracker.demo import DEMO_PASSWORD, seed_demo
from tracker.demo.seed import Planner
from tracker.errors import DomainError
from tracker.models import (
    AuditEvent,
    CloseRequest,
    Department,
    DepartmentAlias,
    DepartmentKind,
    Escalation,
    ExtensionRequest,
    Leader,
    LeaderDepartment,
    Milestone,
    Motion,
    MotionFeedback,
    MotionStep,
    ProgressReport,
    Reminder,
    Source,
    SourceKind,
    Task,
    TaskAssist,
    User,
)
from tracker.rules import overdue
from tracker.services.accounts.passwords import DEMO_PASSWORDS
from tracker.services.calendar import load_calendar
from tracker.services.organisation.directory import authenticate
from tracker.workflow import Status

# At least this many tasks in each status (the plan makes 300 in all).
AT_LEAST = {
    Status.DRAFT: 8,
    Status.PENDING_APPROVAL: 8,
    Status.ASSIGNED: 15,
    Status.ACKNOWLEDGED: 15,
    Status.IN_PROGRESS: 70,
    Status.PENDING_REVIEW: 12,
    Status.CLOSED: 60,
    Status.SUSPENDED: 5,
    Status.CANCELLED: 5,
}


def count(session, model, *where) -> int:
    return session.exec(select(sa.func.count()).select_from(model).where(*where)).one()


def test_seed_demo_builds_the_promised_district(app, session):
    # One seed (about 2 300 service calls), run as the command line runs it, checked
    # from several sides; a second run is refused with a Chinese error.
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "督办事项 300 件" in result.output and DEMO_PASSWORD in result.output
    check_organisation_and_users(session)
    check_sources(session)
    check_tasks(session, result.output)
    check_motions(session, result.output)
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 1 and "错误" in again.output and "--force" in again.output
    with pytest.raises(DomainError, match="--force"):
        seed_demo(session)


def check_organisation_and_users(session):
    assert count(session, Department) >= 35
    kinds = set(session.exec(select(Department.kind)))
    assert {DepartmentKind.COMPONENT, DepartmentKind.STREET, DepartmentKind.TOWN, DepartmentKind.INSTITUTION} <= kinds
    aliases = dict(
        session.exec(
            select(DepartmentAlias.alias, Department.name).join(
                Department, Department.id == DepartmentAlias.department_id
            )
        ).all()
    )
    assert aliases["区发改委"] == "区发展和改革委员会"
    assert aliases["区住建局"] == "区住房和城乡建设局"

    leaders = session.exec(select(Leader)).all()
    assert len(leaders) == 6
    titles = sorted(leader.title for leader in leaders)
    assert titles.count("区长") == 1 and titles.count("常务副区长") == 1
    assert 3 <= sum(t == "副区长" for t in titles) <= 4
    assert any("办公室主任" in t for t in titles)
    # every department is in some leader's portfolio (分管)
    covered = set(session.exec(select(LeaderDepartment.department_id)))
    assert covered == set(session.exec(select(Department.id)))

    roles = dict(session.exec(select(User.role, sa.func.count()).group_by(User.role)).all())
    assert roles == {"supervisor": 2, "clerk": 3, "leader": 1, "admin": 1}
    expected = {
        "duchashi": ("supervisor", None),
        "duchashi2": ("supervisor", None),
        "fgw": ("clerk", "区发展和改革委员会"),
        "czj": ("clerk", "区财政局"),
        "jiedao": ("clerk", None),
        "wuhaitao": ("leader", None),
        "admin": ("admin", None),
    }
    for username, (role, department) in expected.items():
        user = authenticate(session, username, DEMO_PASSWORD)
        assert user is not None and user.role == role, username
        assert not user.must_change_password
        if department:
            assert session.get(Department, user.department_id).name == department
    assert authenticate(session, "duchashi", DEMO_PASSWORD).display_name == "督查室王敏"
    jiedao = authenticate(session, "jiedao", DEMO_PASSWORD)
    assert session.get(Department, jiedao.department_id).kind == DepartmentKind.STREET
    wu = session.get(Leader, authenticate(session, "wuhaitao", DEMO_PASSWORD).leader_id)
    assert (wu.name, wu.title) == ("吴海涛", "常务副区长")


def check_sources(session):
    today = clock.today()
    kinds = dict(session.exec(select(Source.kind, sa.func.count()).group_by(Source.kind)).all())
    for kind in (
        SourceKind.EXECUTIVE_MEETING,
        SourceKind.MAYOR_OFFICE_MEETING,
        SourceKind.TOPIC_MEETING,
        SourceKind.SCHEDULING_MEETING,
        SourceKind.LEADER_INSTRUCTION,
    ):
        assert kinds.get(kind, 0) >= 2, kind
    assert len(kinds) >= 8  # and a few of the other kinds
    first, last = session.exec(select(sa.func.min(Source.source_date), sa.func.max(Source.source_date))).one()
    assert today - timedelta(days=100) <= first <= today - timedelta(days=80)
    assert last <= today
    minutes = session.exec(select(Source).where(Source.kind == SourceKind.EXECUTIVE_MEETING)).first()
    assert "一、" in minutes.body and "二、" in minutes.body
    instruction = session.exec(select(Source).where(Source.kind == SourceKind.LEADER_INSTRUCTION)).first()
    assert "批示" in instruction.body
    # meeting decisions are numbered
    item_nos = session.exec(
        select(Task.item_no)
        .join(Source, Source.id == Task.source_id)
        .where(Source.kind == SourceKind.EXECUTIVE_MEETING)
    ).all()
    assert "1" in item_nos and "3" in item_nos
    assert count(session, Task, Task.source_id.is_(None)) == 0


def check_tasks(session, summary):
    total = count(session, Task, Task.id.not_in(select(Motion.task_id)))  # the motions: check_motions
    assert 250 <= total <= 350
    by_status = dict(session.exec(select(Task.status, sa.func.count()).group_by(Task.status)).all())
    for status, minimum in AT_LEAST.items():
        assert by_status.get(status, 0) >= minimum, (status, by_status)
    assert f"督办事项 {total} 件" in summary

    h = overdue.Horizon.build(session)
    assert count(session, Task, overdue.is_overdue(h)) >= 20
    assert count(session, Task, overdue.is_due_soon(h)) >= 5
    assert count(session, Task, overdue.closed_late()) >= 10
    assert count(session, Task, Task.status == Status.CLOSED, Task.closed_on <= Task.due_date) >= 30
    assert count(session, Task, overdue.is_running(), overdue.milestone_missed(h)) >= 5
    assert count(session, Milestone, Milestone.done_on.is_not(None)) >= 20
    assert count(session, Task, Task.due_date != Task.original_due_date) >= 10  # approved extensions
    assert count(session, ExtensionRequest, ExtensionRequest.status == "rejected") >= 3
    assert count(session, ExtensionRequest, ExtensionRequest.status == "pending") >= 1
    returned = select(CloseRequest.task_id).where(CloseRequest.status == "rejected")
    assert count(session, Task, Task.id.in_(returned)) >= 10
    assert count(session, Task, Task.id.in_(returned), Task.status == Status.CLOSED) >= 3
    assert count(session, Task, Task.id.in_(returned), Task.status == Status.IN_PROGRESS) >= 3
    assert count(session, Reminder) >= 30
    assert count(session, Escalation) >= 5

    # reports by the lead and by assisting departments, some naming a blocking point (阻点)
    assert count(session, Task, sa.exists().where(TaskAssist.task_id == Task.id)) >= 100
    lead_reports = count(
        session,
        ProgressReport,
        sa.exists().where(Task.id == ProgressReport.task_id, Task.lead_department_id == ProgressReport.department_id),
    )
    assist_reports = count(
        session,
        ProgressReport,
        sa.exists().where(
            TaskAssist.task_id == ProgressReport.task_id, TaskAssist.department_id == ProgressReport.department_id
        ),
    )
    assert lead_reports >= 200 and assist_reports >= 50
    assert count(session, ProgressReport, ProgressReport.problems != "") >= 20

    # the audit log tells every task's story, from its creation, on past working days
    assert count(session, Task, ~sa.exists().where(AuditEvent.task_id == Task.id)) == 0
    creates = session.exec(
        select(sa.func.count(sa.distinct(AuditEvent.task_id))).where(AuditEvent.action == "create")
    ).one()
    assert creates == count(session, Task)
    cal = load_calendar(session)
    days = {clock.local_date(at) for at in session.exec(select(AuditEvent.at).where(AuditEvent.task_id.is_not(None)))}
    assert all(cal.is_workday(d) for d in days)
    assert max(days) <= clock.today()
    assert min(days) <= clock.today() - timedelta(days=60)
    assigned_days = {
        clock.local_date(t) for t in session.exec(select(Task.assigned_at).where(Task.assigned_at.is_not(None)))
    }
    assert len(assigned_days) >= 30


def check_motions(session, summary):
    """The spring sessions' 30 建议 and 20 提案, something in every stage of every /motions page."""
    from tracker.services.motions import handling as motions
    from tracker.services.motions import publishing as motion_publishing

    kinds = dict(session.exec(select(Motion.kind, sa.func.count()).group_by(Motion.kind)).all())
    assert kinds == {"suggestion": 30, "proposal": 20}
    assert (
        "另有人大代表建议和政协委员提案 50 件（待交办3、办理中14、答复待审核5、待代表委员反馈7、已办结21）" in summary
    )
    stages = dict(session.exec(select(Motion.stage, sa.func.count()).group_by(Motion.stage)).all())
    assert set(stages) == set(motions.STAGE_LABELS)
    rows = session.exec(select(Motion, Task).join(Task, Task.id == Motion.task_id)).all()
    # not yet assigned: drafts, no steps; every other one assigned in one batch
    drafts = [m for m, t in rows if t.status == Status.DRAFT]
    assert len(drafts) == 3 and all(m.stage == motions.UNASSIGNED for m in drafts)
    assert count(session, MotionStep, MotionStep.motion_id.in_([m.id for m in drafts])) == 0
    assert len({clock.local_date(t.assigned_at) for m, t in rows if t.assigned_at}) == 1
    # opinions sent, 面商 recorded, answers of every category reviewed and sent, satisfaction in
    assert count(session, MotionStep, MotionStep.kind == "opinion", MotionStep.done_on.is_not(None)) >= 30
    assert count(session, MotionStep, MotionStep.kind == "consult", MotionStep.done_on.is_not(None)) >= 35
    sent = {m.answer_category for m, _t in rows if m.stage in ("feedback", "done")}
    assert sent == {"A", "B", "C", "D"}
    assert {m.satisfaction for m, _t in rows if m.stage == "done"} >= {"满意", "基本满意"}
    returned = session.exec(
        select(AuditEvent).where(AuditEvent.action == "return", AuditEvent.task_id.in_([t.id for _m, t in rows]))
    ).all()
    assert len(returned) == 1
    # one 不满意 in its second round; one B answer followed up, one whose promise was kept
    second = [m for m, t in rows if m.round == 2]
    assert len(second) == 1 and second[0].stage == "handling" and second[0].satisfaction == "不满意"
    assert count(session, MotionFeedback, MotionFeedback.result == "不满意") == 1
    promises = [m for m, _t in rows if m.answer_category == "B" and m.promise_date]
    assert sorted(m.follow_up_done_on is None for m in promises) == [False, True]
    # a couple overdue on a step (an opinion not sent, a 面商 not recorded), red like any overdue task
    h = overdue.Horizon.build(session)
    red = count(session, Task, Task.id.in_([t.id for _m, t in rows]), overdue.is_overdue(h))
    assert red == 2
    assert count(session, Reminder, Reminder.rule.like("motion:%")) >= 2
    # every motion's story is in the audit log: registered, and (but the drafts) assigned
    for m, t in rows:
        actions = set(session.exec(select(AuditEvent.action).where(AuditEvent.task_id == t.id)))
        assert "motion_register" in actions and ("assign" in actions) == (t.status != Status.DRAFT), m.number
    assert motion_publishing.figures_by_unit(session) and motion_publishing.public_rows(session)


def test_force_reuses_what_exists(session):
    d = f.district(session)  # 区发展和改革委员会 (区发改委), 区财政局, 吴海涛 as 副区长...
    f.draft(session, d)
    session.commit()
    with pytest.raises(DomainError):
        seed_demo(session)
    summary = seed_demo(session, force=True)
    session.commit()
    assert "沿用" in summary
    assert count(session, Department, Department.name == "区发展和改革委员会") == 1
    fgw = session.exec(select(User).where(User.username == "fgw")).one()
    assert fgw.department_id == d.lead_id
    assert count(session, Task) == 351  # the one above, 300 tasks and 50 motions


def test_plan_is_repeatable(session):
    def plan(seed):
        p = Planner(session, clock.today(), seed, soon_workdays=Settings().due_soon_workdays)
        p.plan_sources()
        p.plan_days()
        p.assign_statuses()
        p.plan_stories()
        return [(it.title, it.lead, it.status, it.due0, [(d, a) for d, _s, a, _kw in it.steps_plan]) for it in p.items]

    assert plan(7) == plan(7)
    assert plan(7) != plan(8)


def test_the_demo_password_is_one_the_login_knows_as_published():
    # Outside demo mode the login forces a change of exactly these passwords.
    assert DEMO_PASSWORD in DEMO_PASSWORDS


def test_only_the_command_line_imports_the_demo():
    # The demo stands on the services; nothing the office runs depends on it.
    root = Path(__file__).resolve().parent.parent
    importers = set()
    for package in ("tracker", "dashboard", "importers"):
        for path in (root / package).rglob("*.py"):
            if (root / "tracker" / "demo") in path.parents:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(n == "tracker.demo" or n.startswith("tracker.demo.") for n in names):
                    importers.add(str(path.relative_to(root)))
    # seed-demo, and minutes parse before any district is set up (it reads with the demo's names)
    assert importers == {"tracker/cli.py", "tracker/cli_minutes.py"}
