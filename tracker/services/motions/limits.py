"""The time limits of motion handling (办理时限): the office's settings, and the deadline each gives.

The 办理办法 of most districts count "10日内", "一个月内" and "三个月内" in calendar days and months
from assignment (交办之日起), not working days; a limit may be set to working days instead. Either
way the date comes from ``rules.time_limits.due_after``, which also decides what happens when a
limit ends on a holiday.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from tracker import clock
from tracker.errors import NotPermitted, ValidationFailed
from tracker.models import AppSetting
from tracker.rules.time_limits import due_after
from tracker.services import audit
from tracker.services.actors import Actor
from tracker.services.calendar import load_calendar

LIMITS_KEY = "motion_limits"
# amount, unit (days | months | workdays), counted from assignment (second: from the 不满意).
# reassign 10 days, opinion one month, answer three months: the common 办理办法 defaults;
# consult two months: our default so the 面商 comes a month before the answer.
DEFAULT_LIMITS: dict[str, list] = {
    "reassign": [10, "days"],
    "opinion": [1, "months"],
    "consult": [2, "months"],
    "answer": [3, "months"],
    "second": [3, "months"],
}
UNIT_LABELS = {"days": "日", "months": "个月", "workdays": "个工作日"}


def load_limits(session: Session) -> dict[str, list]:
    row = session.get(AppSetting, LIMITS_KEY)
    out = {k: list(v) for k, v in DEFAULT_LIMITS.items()}
    if row is not None and isinstance(row.value, dict):
        out.update({k: list(v) for k, v in row.value.items() if k in DEFAULT_LIMITS})
    return out


def save_limits(session: Session, actor: Actor, data: dict[str, Any]) -> dict[str, list]:
    if not actor.is_office:
        raise NotPermitted("只有督查室可以修改建议提案办理时限")
    limits = load_limits(session)
    before = {k: list(v) for k, v in limits.items()}
    errors = {}
    for key, value in data.items():
        if key not in DEFAULT_LIMITS:
            continue
        try:
            amount, unit = int(value[0]), str(value[1])
        except (TypeError, ValueError, IndexError):
            errors[key] = "应为“数量＋单位”"
            continue
        if unit not in UNIT_LABELS or not 1 <= amount <= 366:
            errors[key] = "数量应为 1–366，单位为日、个月或工作日"
            continue
        limits[key] = [amount, unit]
    if errors:
        raise ValidationFailed("办理时限填写有误：" + "；".join(errors.values()), fields=errors)
    row = session.get(AppSetting, LIMITS_KEY) or AppSetting(key=LIMITS_KEY)
    row.value, row.updated_by_id, row.updated_at = limits, actor.user_id, clock.now()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "rules_update",
        entity="app_setting",
        entity_id=None,
        before=before,
        after=limits,
        note=LIMITS_KEY,
    )
    return limits


def limit_due(session: Session, start: date, limit: list) -> date:
    """The deadline of a stored limit ([amount, unit]) counted from ``start``."""
    return due_after(load_calendar(session), start, int(limit[0]), limit[1]).value


def limit_text(limit: list) -> str:
    return f"{limit[0]}{UNIT_LABELS[limit[1]]}"
