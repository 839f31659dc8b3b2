"""Who is acting, and what they are to a given task."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from tracker.models import LeaderDepartment, Role, Task, TaskAssist, TaskLeader, User
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


def parties(session: Session, actor: Actor, task: Task) -> set[Party]:
    """The actor's relations to the task; empty means it is none of their business."""
    out: set[Party] = set()
    if actor.role == Role.SUPERVISOR:
        out.add(Party.OFFICE)
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


def can_see(session: Session, actor: Actor, task: Task) -> bool:
    return bool(parties(session, actor, task))


def portfolio_department_ids(session: Session, leader_id: int) -> list[int]:
    return list(
        session.exec(
            select(LeaderDepartment.department_id).where(LeaderDepartment.leader_id == leader_id)
        )
    )
