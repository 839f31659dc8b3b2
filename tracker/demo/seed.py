"""The demo's entry point: plan the district, write it through the services, report."""

from __future__ import annotations

from collections import Counter as Tally

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.config import Settings
from tracker.demo.motions import seed_motions
from tracker.demo.organisation import DEMO_PASSWORD, DEPARTMENTS, DISTRICT, build_org
from tracker.demo.plan import PlannerBase
from tracker.demo.scheduled import score_history, this_week
from tracker.demo.sources import SourcePlanning
from tracker.demo.stories import TaskStories
from tracker.demo.tasks import Runner
from tracker.errors import DomainError
from tracker.models import Task
from tracker.rules import overdue as overdue_rule
from tracker.services.motions.handling import STAGE_LABELS
from tracker.workflow import Status, status_label

DEFAULT_SEED = 20261123


class Planner(SourcePlanning, TaskStories, PlannerBase):
    """The whole plan: sources and their items, their days and statuses, each task's story."""


def seed_demo(
    session: Session, *, force: bool = False, seed: int = DEFAULT_SEED, settings: Settings | None = None
) -> str:
    """Write the demo district into ``session`` (not committed) and return a Chinese summary.

    Raises ``DomainError`` when the database already holds tasks, unless ``force``;
    departments, leaders and users that already exist (same name or login) are reused.
    ``settings``: the app's, so that "due soon" spans the window the pages show
    (the defaults when there is no app, as in the benchmarks).
    """
    soon_workdays = (settings or Settings()).due_soon_workdays
    existing = session.exec(select(sa.func.count()).select_from(Task)).one()
    if existing and not force:
        raise DomainError(
            f"数据库中已有 {existing} 件督办事项，为免与真实数据混在一起，未写入演示数据。如确需写入，请加 --force。"
        )
    today = clock.today()
    plan = Planner(session, today, seed, soon_workdays=soon_workdays)
    plan.plan_sources()
    plan.plan_days()
    plan.assign_statuses()
    plan.plan_stories()
    plan.compose_bodies()

    setup_day = plan.wd(plan.past[0], -5)
    with clock.frozen(setup_day):
        org = build_org(session)
    Runner(session, org, plan, seed).run()
    session.flush()
    motion_stages = seed_motions(session, org, today)  # the spring sessions' 建议 and 提案, in every stage
    motion_text = "、".join(f"{label}{motion_stages.get(code, 0)}" for code, label in STAGE_LABELS.items())
    score_history(session, today)
    this_week(session, today, settings=settings)

    ids = [it.task_id for it in plan.items]
    by_status = Tally(session.exec(select(Task.status).where(Task.id.in_(ids))).all())
    horizon = overdue_rule.Horizon.build(session, soon_workdays)
    overdue = session.exec(
        select(sa.func.count()).select_from(Task).where(Task.id.in_(ids), overdue_rule.is_overdue(horizon))
    ).one()
    soon = session.exec(
        select(sa.func.count()).select_from(Task).where(Task.id.in_(ids), overdue_rule.is_due_soon(horizon))
    ).one()
    statuses = "、".join(f"{status_label(status)}{by_status.get(status, 0)}" for status in Status)
    created = org.created
    reused = "" if not (len(DEPARTMENTS) - created["department"]) else "（已有单位、领导和用户沿用原数据）"
    return (
        f"已写入演示数据“{DISTRICT}”{reused}：单位 {len(org.departments)} 个、区领导 {len(org.leaders)} 位、"
        f"新建用户 {created['user']} 个、任务来源 {len(plan.sources)} 个、督办事项 {len(ids)} 件"
        f"（{statuses}），其中逾期 {overdue} 件、{soon_workdays}个工作日内到期 {soon} 件；"
        f"另有人大代表建议和政协委员提案 {sum(motion_stages.values())} 件（{motion_text}）。\n"
        f"演示账号：duchashi、duchashi2（督查室）、fgw、czj、jiedao（承办单位）、wuhaitao（区领导）、"
        f"admin（管理员），密码均为 {DEMO_PASSWORD}。"
    )
