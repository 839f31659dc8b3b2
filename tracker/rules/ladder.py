"""The escalation ladder (督办层级): its rungs, when each is reached, who stands on it.

One table. An overdue deadline (``tracker.rules.overdue``) climbs one rung at a time
as its working days overdue reach the office's thresholds (the reminder rules'
``ladder``, default ``DEFAULT_THRESHOLDS``), and each rung reached sends a notice
(督办通知单). "牵头部门要发挥主导作用" (000 §31, 004 §29): the notice is
addressed to the lead department; the responsible leader is the top rung, as the
leader who answers for the item (003 §35 "重要进展情况要及时报告").

A notice reaches the people of its rung and of every rung below it: the item has
climbed, and those who work on it stay informed (the clerk of a level-3 notice is
still the one who must report). A rung with nobody on file is simply empty: no
department head registered, the clerks still read a level-2 notice; no clerk, the
head reads a level-1 notice; no responsible leader with an account, the leader in
charge of the lead department (分管领导) reads a level-3 notice, and failing that the
department does. So a notice always reaches someone when anyone is on file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Rung:
    level: int
    name: str  # who the rung reaches, as the notice and the history say it
    group: str  # the group of people on the rung: "clerks", "heads" or "leaders"


RUNGS: tuple[Rung, ...] = (
    Rung(1, "承办单位联络员", "clerks"),
    Rung(2, "单位主要负责人", "heads"),
    Rung(3, "责任领导", "leaders"),
)
LEVELS: tuple[int, ...] = tuple(r.level for r in RUNGS)
# Working days overdue at which each rung is reached: the clerk on the first working day
# overdue, the head at three, the responsible leader a full working week after the
# deadline, so the head has two days to act first.
DEFAULT_THRESHOLDS: tuple[int, ...] = (1, 3, 5)
# A manual 督办 by the office goes to the department head unless it picks another rung.
MANUAL_DEFAULT_LEVEL = 2


def rung(level: int) -> Rung:
    """The rung of ``level``; raises ``KeyError`` for a level the ladder does not have."""
    for r in RUNGS:
        if r.level == level:
            return r
    raise KeyError(level)


def level_name(level: int) -> str:
    """Who a level reaches (承办单位联络员 …); the bare number for a level the ladder lacks."""
    try:
        return rung(level).name
    except KeyError:
        return str(level)


def level_choices() -> dict[int, str]:
    """Level → "督办至…", for the office's form."""
    return {r.level: f"督办至{r.name}" for r in RUNGS}


def recipients(
    level: int, *, clerks: list[int], heads: list[int], leaders: list[int], in_charge: list[int]
) -> list[int]:
    """The user ids a notice of ``level`` reaches, highest rung first (module docstring).

    ``clerks`` and ``heads``: the lead department's active clerk accounts without and
    with ``is_head``; ``leaders``: active accounts of the task's responsible leaders;
    ``in_charge``: active accounts of the leaders in charge of the lead department.
    """
    groups = {"clerks": clerks or heads, "heads": heads, "leaders": leaders or in_charge}
    out: list[int] = []
    for r in sorted(RUNGS, key=lambda r: -r.level):
        if r.level <= level:
            out += [uid for uid in groups[r.group] if uid not in out]
    return out


def recipients_by_escalation(
    escalations: Iterable[Mapping],
    *,
    staff: Mapping[int, Mapping[str, list[int]]],
    leaders: Mapping[int, list[int]],
    in_charge: Mapping[int, list[int]],
) -> dict[int, list[int]]:
    """Escalation id → user ids on its rung, for escalations given as mappings with ``id``,
    ``level``, ``task_id`` and ``department_id``; ``staff`` maps a department to its
    ``clerks`` and ``heads``, ``leaders`` a task to its leaders' accounts, ``in_charge`` a
    department to its leaders' accounts."""
    out: dict[int, list[int]] = {}
    for e in escalations:
        people = staff.get(e["department_id"], {})
        out[e["id"]] = recipients(
            e["level"],
            clerks=list(people.get("clerks", [])),
            heads=list(people.get("heads", [])),
            leaders=list(leaders.get(e["task_id"], [])),
            in_charge=list(in_charge.get(e["department_id"], [])),
        )
    return out
