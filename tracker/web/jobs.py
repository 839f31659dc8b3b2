"""The office's pages for the scheduler: job runs (newest first, failures first to the
eye) and the reminder rules form. Thin views over ``tracker.jobs`` and ``services/reminders.py``."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import select

from tracker import clock
from tracker.db import get_session
from tracker.errors import DomainError
from tracker.http.login import current_actor
from tracker.jobs import JOB_LABELS, JOBS, SCHEDULED, last_runs, reap_lost, recent_runs
from tracker.models import Role, TimeLimitPreset
from tracker.services.chasing import rules as reminder_rules
from tracker.web.access import roles_required

bp = Blueprint("jobs", __name__, url_prefix="/office")


@bp.context_processor
def _globals():
    """The admin section's tabs (admin/_nav.html) show these pages among the settings."""
    return {"is_admin": current_user.is_authenticated and current_user.row.role == Role.ADMIN}


STATUS_LABELS = {"running": "运行中", "ok": "完成", "skipped": "跳过", "failed": "失败", "interrupted": "中断"}
WEEKDAYS = {1: "周一", 2: "周二", 3: "周三", 4: "周四", 5: "周五", 6: "周六", 7: "周日"}
# The counts the office reads most; any other key is shown as it is.
COUNT_LABELS = {
    "rules.reminders": "催办",
    "rules.escalations": "督办",
    "rules.closed_no_objection": "会签无异议办结",
    "rules.escalation_notices": "督办通知",
    "report_dues": "新增报送期限",
    "reports.marked_met": "按期报送",
    "reports.missing": "未报进展",
    "reminders.report_missing": "未报提醒",
    "digests.created": "每日提醒",
    "deliveries.sent": "已发送",
    "deliveries.failed": "发送失败",
    "deliveries.dead": "放弃发送",
    "snapshots": "考核快照",
    "schedule_id": "调度表",
    "period": "通报期间",
    "bulletin_id": "通报",
}


def _fmt_dt(value) -> str:
    return value.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _when(trigger: dict) -> str:
    if trigger.get("trigger") == "interval":
        return f"每 {trigger['minutes']} 分钟"
    at = f"{trigger.get('hour', 0):02d}:{trigger.get('minute', 0):02d}"
    if "day_of_week" in trigger:
        return {"mon": "每周一", "fri": "每周五"}[trigger["day_of_week"]] + " " + at
    if "day" in trigger:
        return f"每月{trigger['day']}日 {at}"
    return f"每天 {at}"


@bp.get("/jobs")
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def runs():
    session = get_session()
    if reap_lost(session):  # a run whose process died must not stay "运行中" forever
        session.commit()
    job = request.args.get("job") or None
    if job not in JOBS:
        job = None
    schedule = [{"name": n, "label": JOBS[n].label, "when": _when(JOBS[n].trigger)} for n in SCHEDULED]
    return render_template(
        "jobs/runs.html",
        rows=recent_runs(session, job=job),
        last=last_runs(session),
        schedule=schedule,
        job=job,
        JOB_LABELS=JOB_LABELS,
        STATUS_LABELS=STATUS_LABELS,
        COUNT_LABELS=COUNT_LABELS,
        fmt_dt=_fmt_dt,
    )


@bp.route("/reminder-rules", methods=["GET", "POST"])
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def rules():
    session = get_session()
    errors: dict = {}
    values = reminder_rules.load_rules(session)
    if request.method == "POST":
        try:
            data = reminder_rules.parse_form(request.form)
            reminder_rules.save_rules(session, current_actor(), data)
        except DomainError as exc:
            session.rollback()
            errors = exc.fields or {"_": exc.message}
            flash(exc.message, "error")
            values = {
                **values,
                **{
                    k: request.form.get(k, "")
                    for k in ("before_due", "ladder", "ack_workdays", "report_weekday", "countersign_presets")
                },
            }
        else:
            session.commit()
            flash("催办规则已保存，下一次每日催办起生效", "success")
            return redirect(url_for(".rules"))
    presets = session.exec(select(TimeLimitPreset).order_by(TimeLimitPreset.sort_order)).all()
    return render_template(
        "jobs/rules.html",
        values=values,
        errors=errors,
        presets=presets,
        defaults=reminder_rules.DEFAULT_RULES,
        WEEKDAYS=WEEKDAYS,
    ), (422 if errors else 200)
