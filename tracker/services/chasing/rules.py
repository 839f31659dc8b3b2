"""The office's reminder rules (催办规则): settings kept as data, edited on the rules page.

``DEFAULT_RULES`` documents the defaults; ``load_rules`` reads the office's rules over
them; ``save_rules`` validates every field before anything is written. The daily run
that applies them is ``tracker.services.chasing.reminders``; periodic reports
(``recurring``) and motions read the same settings here.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, select

from tracker import clock
from tracker.errors import NotPermitted, ValidationFailed
from tracker.models import AppSetting, Role, TimeLimitPreset
from tracker.rules import ladder
from tracker.services import audit
from tracker.services.actors import Actor
from tracker.services.validation import validate

SETTING_KEY = "reminder_rules"

# The defaults, from the office's requirements and the work rules:
# - before_due 3 and 1 working days, on the day, and daily after: what the office asked for;
# - ack_workdays 1: "签收" is expected the next working day;
# - report_weekday 5: weekly progress reports are due on Friday (每周五前报送);
# - ladder: tracker.rules.ladder.DEFAULT_THRESHOLDS;
# - the 会签 presets are the 3- and 7-working-day reply limits (000 §54, 001 §27).
DEFAULT_RULES: dict = {
    "before_due": [3, 1],
    "on_due": True,
    "overdue_daily": True,
    "milestones": True,
    "ack_workdays": 1,
    "report_weekday": 5,
    "report_reminders": True,
    "ladder": list(ladder.DEFAULT_THRESHOLDS),
    "countersign_presets": ["countersign_3", "countersign_7"],
    "countersign_auto_close": True,
}

RULE_LABELS = {
    "before_due": "临期提醒",
    "due_today": "到期提醒",
    "overdue": "逾期催办",
    "milestone": "时间节点提醒",
    "not_acknowledged": "未签收催办",
    "report_due": "进展报送提醒",
    "report_overdue": "进展逾期未报催办",
    "report_missing": "本期进展未报提醒",
    "manual": "人工催办",
}


class RulesInput(BaseModel):
    before_due: list[int] = Field(default_factory=list, max_length=5)
    on_due: bool = True
    overdue_daily: bool = True
    milestones: bool = True
    ack_workdays: int = Field(ge=0, le=10)
    report_weekday: int = Field(ge=1, le=7)
    report_reminders: bool = True
    ladder: list[int] = Field(min_length=3, max_length=3)
    countersign_presets: list[str] = Field(default_factory=list, max_length=10)
    countersign_auto_close: bool = True

    @field_validator("before_due")
    @classmethod
    def _before(cls, v):
        if any(not 1 <= n <= 30 for n in v):
            raise ValueError("before_due")
        return sorted(set(v), reverse=True)

    @field_validator("ladder")
    @classmethod
    def _ladder(cls, v):
        if any(not 1 <= n <= 60 for n in v) or v != sorted(set(v)):
            raise ValueError("ladder")
        return v


RULE_FIELD_LABELS = {
    "before_due": "到期前提醒（工作日）",
    "ack_workdays": "签收时限（工作日）",
    "report_weekday": "周报报送日",
    "ladder": "督办层级（逾期工作日）",
    "countersign_presets": "会签时限预设",
}


def load_rules(session: Session) -> dict:
    """The office's rules over the defaults (a key missing from the stored JSON keeps its default)."""
    row = session.get(AppSetting, SETTING_KEY)
    rules = dict(DEFAULT_RULES)
    if row is not None and isinstance(row.value, dict):
        rules.update({k: v for k, v in row.value.items() if k in DEFAULT_RULES})
    return rules


def _int_list(text, field: str, label: str) -> list[int]:
    if isinstance(text, list):
        return text
    parts = [p for p in str(text or "").replace("，", ",").replace("、", ",").replace(" ", ",").split(",") if p]
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise ValidationFailed(f"{label}应为用逗号分隔的整数", fields={field: "应为用逗号分隔的整数"}) from None


def parse_form(form) -> dict:
    """The rules page's form fields as a rules dict (checkboxes absent mean off)."""
    fields: dict[str, str] = {}
    out: dict = {}
    for name in ("before_due", "ladder"):
        try:
            out[name] = _int_list(form.get(name, ""), name, RULE_FIELD_LABELS[name])
        except ValidationFailed as exc:
            fields.update(exc.fields)
    for name in ("ack_workdays", "report_weekday"):
        raw = str(form.get(name, "")).strip()
        try:
            out[name] = int(raw)
        except ValueError:
            fields[name] = f"{RULE_FIELD_LABELS[name]}应为整数"
    for name in ("on_due", "overdue_daily", "milestones", "report_reminders", "countersign_auto_close"):
        out[name] = form.get(name) in ("on", "1", "true", True)
    out["countersign_presets"] = [
        p.strip() for p in str(form.get("countersign_presets", "")).replace("，", ",").split(",") if p.strip()
    ]
    if fields:
        raise ValidationFailed("催办规则填写有误：" + "；".join(fields.values()), fields=fields)
    return out


def save_rules(session: Session, actor: Actor, data: dict) -> dict:
    """Validate and store the rules; every field is checked before anything is written."""
    if not actor.is_office and actor.role != Role.ADMIN:
        raise NotPermitted("只有督查室或管理员可以修改催办规则")
    merged = {**load_rules(session), **data}
    try:
        rules = validate(RulesInput, merged, RULE_FIELD_LABELS).model_dump()
    except ValidationFailed as exc:
        fields = {k: _rule_message(k) for k in exc.fields}
        raise ValidationFailed("催办规则填写有误：" + "；".join(fields.values()), fields=fields) from None
    known = set(session.exec(select(TimeLimitPreset.code)))
    unknown = [c for c in rules["countersign_presets"] if c not in known]
    if unknown:
        msg = f"未找到时限预设：{'、'.join(unknown)}"
        raise ValidationFailed(msg, fields={"countersign_presets": msg})
    row = session.get(AppSetting, SETTING_KEY)
    before = load_rules(session)
    if row is None:
        row = AppSetting(key=SETTING_KEY)
    row.value, row.updated_by_id, row.updated_at = rules, actor.user_id, clock.now()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "rules_update",
        entity="app_setting",
        entity_id=None,
        before=before,
        after=rules,
        note=SETTING_KEY,
    )
    return rules


def _rule_message(field: str) -> str:
    return {
        "before_due": "到期前提醒应为 1–30 之间的工作日数，最多 5 个",
        "ack_workdays": "签收时限应为 0–10 个工作日（0 表示不提醒）",
        "report_weekday": "周报报送日应为 1–7（周一至周日）",
        "ladder": "督办层级应为三个递增的工作日数（1–60），如 1,3,5",
        "countersign_presets": "会签时限预设最多 10 个",
    }.get(field, f"{RULE_FIELD_LABELS.get(field, field)}填写有误")
