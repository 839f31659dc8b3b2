"""Who is acting, and what they are to a given task."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker.models import LeaderDepartment, Role, Task, TaskAssist, TaskLeader, User
from tracker.shared_sql import shared
from tracker.sql import none_of
from tracker.workflow import Party


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    name: str
    role: Role
    department_id: int | None = None
    leader_id: int | None = None

    @classmethod
    def of(cls, user: User) -> "Actor":
        return cls(user.id, user.display_name, Role(user.role), user.department_id, user.leader_id)

    @property
    def is_office(self) -> bool:
        return self.role == Role.SUPERVISOR


# The scheduler and the CLI act as the system, with the office's powers.
SYSTEM = Actor(None, "系统", Role.SUPERVISOR)


# Before it goes out a task is the office's (and, awaiting approval, its leader's)
# business only: departments never see drafts.
UNPUBLISHED = frozenset({"draft", "pending_approval"})


def parties(session: Session, actor: Actor, task: Task) -> set[Party]:
    """The actor's relations to the task; empty means it is none of their business."""
    out: set[Party] = set()
    if actor.role == Role.SUPERVISOR:
        out.add(Party.OFFICE)
    elif task.status == "draft" or (task.status in UNPUBLISHED and actor.role != Role.LEADER):
        return out
    elif actor.role == Role.CLERK and actor.department_id is not None:
        if task.lead_department_id == actor.department_id:
            out.add(Party.LEAD)
        elif task.id is not None and session.get(TaskAssist, (task.id, actor.department_id)):
            out.add(Party.ASSIST)
    elif actor.role == Role.LEADER and actor.leader_id is not None:
        if task.id is not None and session.get(TaskLeader, (task.id, actor.leader_id)):
            out.add(Party.LEADER)
        elif task.lead_department_id is not None and session.get(
            LeaderDepartment, (actor.leader_id, task.lead_department_id)
        ):
            out.add(Party.LEADER)
    return out


def own_part_only(actor: Actor, who: set[Party]) -> int | None:
    """The department whose part alone ``actor`` may read of a task's progress reports and their
    files, ``who`` being ``parties``: an assisting department reads its own, not the lead's nor
    another assisting department's ("协办单位向牵头单位报送", DOMAIN.md; the task page and
    ``attachments.for_download`` hold to the same). None: every report."""
    return actor.department_id if who == {Party.ASSIST} else None


def can_see(session: Session, actor: Actor, task: Task) -> bool:
    return bool(parties(session, actor, task))


def portfolio_department_ids(session: Session, leader_id: int) -> list[int]:
    """The leader's portfolio (分管单位), read by the board: plain ids from a statement built once."""
    session.flush()  # on the connection: no ORM autoflush, so a pending portfolio edit goes first
    return list(session.connection().execute(_portfolio_select(), {"leader_id": leader_id}).scalars())


@shared()
def _portfolio_select() -> sa.Select:
    return select(LeaderDepartment.department_id).where(LeaderDepartment.leader_id == sa.bindparam("leader_id"))


@shared(1024)
def visible_clause(actor: Actor) -> sa.ColumnElement[bool]:
    """SQL twin of ``parties()``: the tasks this actor may see, for list queries.

    The same object for the same actor (a frozen dataclass; SQL elements are immutable):
    building it cost more Python time per request than the lists' other clauses."""
    return _visible(actor.role, actor.department_id, actor.leader_id)


def _visible(role: Role, department_id, leader_id) -> sa.ColumnElement[bool]:
    """``visible_clause`` for a role with its department or leader: values or bound parameters."""
    if role == Role.SUPERVISOR:
        return sa.true()
    if role == Role.CLERK and department_id is not None:
        # Its tasks by their two indexes (lead, assisting). As "lead = d OR EXISTS (assisting d)"
        # PostgreSQL tests the OR on every task of the district that another condition lets
        # through: the inbox's statement would read all open tasks to find one department's ten.
        own = Task.__table__.alias("own_task")
        theirs = sa.union_all(
            sa.select(own.c.id).where(own.c.lead_department_id == department_id),
            sa.select(TaskAssist.task_id).where(TaskAssist.department_id == department_id),
        )
        return sa.and_(none_of(Task.status, UNPUBLISHED), Task.id.in_(theirs))
    if role == Role.LEADER and leader_id is not None:
        return sa.and_(
            Task.status != "draft",
            sa.or_(
                sa.exists().where(TaskLeader.task_id == Task.id, TaskLeader.leader_id == leader_id),
                Task.lead_department_id.in_(
                    select(LeaderDepartment.department_id).where(LeaderDepartment.leader_id == leader_id)
                ),
            ),
        )
    return sa.false()


def visible_params(actor: Actor) -> tuple[str, dict[str, int]]:
    """``visible_clause`` as a shape and its values, for statements built once
    (``visible_template(shape)`` with ``params`` bound at execution)."""
    if actor.role == Role.SUPERVISOR:
        return "office", {}
    if actor.role == Role.CLERK and actor.department_id is not None:
        return "clerk", {"v_department_id": actor.department_id}
    if actor.role == Role.LEADER and actor.leader_id is not None:
        return "leader", {"v_leader_id": actor.leader_id}
    return "none", {}


@shared()
def visible_template(shape: str) -> sa.ColumnElement[bool]:
    """``visible_clause`` with the actor's department or leader as bound parameters."""
    if shape == "office":
        return _visible(Role.SUPERVISOR, None, None)
    if shape == "clerk":
        return _visible(Role.CLERK, sa.bindparam("v_department_id"), None)
    if shape == "leader":
        return _visible(Role.LEADER, None, sa.bindparam("v_leader_id"))
    return sa.false()
