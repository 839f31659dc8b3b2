"""每周调度 pages: the week's schedule, the agenda of the 调度推进会议, recording the
meeting, the Excel export and printable page, and the key-work cascade form.

Access (see tests/test_permission_matrix.py): the office does everything; a
leader reads the weeks and sees only the items of tasks in their portfolio or
that they are to lead; departments have no schedule pages (their own tasks are
on their inbox). Thin views: parse, call ``services.schedule`` / ``services.cascade``,
commit once.
"""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlmodel import select

from importers.schedule_export import write_schedule
from tracker import clock
from tracker.db import get_session
from tracker.errors import DomainError, ValidationFailed
from tracker.http.login import current_actor
from tracker.http.params import parse_date, to_int
from tracker.models import Department, Leader, Role
from tracker.services.scheduling import cascade, meeting
from tracker.services.scheduling import weekly as svc
from tracker.services.tasks import lifecycle as task_svc
from tracker.workflow import status_label

bp = Blueprint("schedule", __name__, url_prefix="/office/schedule")

OFFICE = {Role.SUPERVISOR}
PAGE_ROWS = 300
READERS = {Role.SUPERVISOR, Role.LEADER}


def _only(roles) -> None:
    if not current_user.is_authenticated or Role(current_user.row.role) not in roles:
        abort(403)


@bp.app_context_processor
def _cascade_helpers():
    """``cascade_section(task)`` for the task page's small 逐级分解 section."""

    def cascade_section(task):
        s = get_session()
        level = cascade.level_of(s, task)
        if level is None:
            return None
        return {
            "level": level,
            "label": cascade.LEVEL_LABELS[level],
            "rollup": cascade.rollup(s, task.id),
            "can_split": cascade.child_level(level) is not None,
        }

    return {"cascade_section": cascade_section}


def _int(value) -> int | None:
    return to_int(value)


def _date(value: str | None, field: str, label: str) -> date | None:
    return parse_date(value, label=label, field=field, error=ValidationFailed)


def _week_arg():
    return svc.parse_week(request.values.get("week") or request.values.get("date"))


def _week_url(week: svc.Week) -> str:
    return url_for(".week", week=week.key)


def _render_week(week: svc.Week, *, errors: dict | None = None, form: dict | None = None, status: int = 200):
    s = get_session()
    actor = current_actor()
    schedule = svc.get_schedule(s, week)
    sections = {sec: [] for sec in svc.SECTIONS}
    counts, agenda = dict.fromkeys(svc.SECTIONS, 0), []
    if schedule:
        # A page, not a ledger: the first PAGE_ROWS of each section; the export has them all.
        for sec in svc.SECTIONS:
            sections[sec] = svc.items(s, schedule.id, actor, section=sec, limit=PAGE_ROWS)
        counts = svc.section_counts(s, schedule.id, actor)
        agenda = svc.items(s, schedule.id, actor, agenda_only=True)
    leaders = s.exec(select(Leader).where(Leader.active).order_by(Leader.sort_order, Leader.id)).all()
    departments = s.exec(
        select(Department).where(Department.active).order_by(Department.sort_order, Department.id)
    ).all()
    return render_template(
        "schedule/week.html",
        week=week,
        schedule=schedule,
        sections=sections,
        agenda=agenda,
        counts=counts,
        PAGE_ROWS=PAGE_ROWS,
        SECTIONS=svc.SECTIONS,
        SECTION_LABELS=svc.SECTION_LABELS,
        CATEGORIES=svc.CATEGORIES,
        DECISION_ACTIONS=svc.DECISION_ACTIONS,
        leaders=leaders,
        departments=departments,
        is_office=actor.is_office,
        errors=errors or {},
        form=form or {},
        status_label=status_label,
        prev_url=_week_url(week.shift(-1)),
        next_url=_week_url(week.shift(1)),
        today=clock.today(),
        fmt_dt=lambda v: v.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M") if v else "",
    ), status


@bp.get("/")
def week():
    _only(READERS)
    return _render_week(_week_arg())  # an unreadable week is a 400 (BadInput), not another week


@bp.get("/weeks")
def weeks():
    _only(READERS)
    return render_template(
        "schedule/weeks.html",
        schedules=svc.list_schedules(get_session()),
        week_of=svc.week_of,
        SECTIONS=svc.SECTIONS,
        SECTION_LABELS=svc.SECTION_LABELS,
        current=svc.Week.of(clock.today()),
        is_office=current_actor().is_office,
    )


@bp.post("/generate")
def generate():
    """生成/刷新: as of today for the current week, as of the week's Monday for another."""
    _only(OFFICE)
    s = get_session()
    wk = _week_arg()
    today = clock.today()
    day = today if wk.start <= today <= wk.end else wk.start
    schedule = svc.generate_week(s, day, actor=current_actor())
    s.commit()
    counts = schedule.counts or {}
    flash(
        f"已生成{wk.label}调度清单："
        + "，".join(f"{svc.SECTION_LABELS[k]} {counts.get(k, 0)} 项" for k in svc.SECTIONS),
        "success",
    )
    return redirect(_week_url(wk))


def _schedule_from_form():
    schedule_id = _int(request.form.get("schedule_id"))
    if schedule_id is None:
        raise ValidationFailed("缺少调度清单编号，请从每周调度页面提交", fields={"schedule_id": "缺少"})
    return svc.get_schedule_by_id(get_session(), schedule_id)


@bp.post("/agenda")
def save_agenda():
    """The blocked items' table: 列入议程, order number, category, leader, department, proposal."""
    _only(OFFICE)
    s = get_session()
    form = request.form
    schedule = _schedule_from_form()
    wk = svc.week_of(schedule)
    edits = {}
    for raw in form.getlist("item_id"):
        item_id = _int(raw)
        if item_id is None:
            continue
        p = f"item-{item_id}-"
        order_raw = (form.get(p + "agenda_order") or "").strip()
        edits[item_id] = {
            "on_agenda": form.get(p + "on_agenda") == "1",
            "agenda_order": _int(order_raw) if order_raw else None,
            "category": form.get(p + "category", ""),
            "lead_leader_id": _int(form.get(p + "lead_leader_id")),
            "lead_department_id": _int(form.get(p + "lead_department_id")),
            "proposal": form.get(p + "proposal", ""),
        }
        if order_raw and edits[item_id]["agenda_order"] is None:
            s.rollback()
            return _render_week(wk, errors={p + "agenda_order": "议程序号应为整数"}, form=form.to_dict(), status=422)
    try:
        changed = meeting.update_items(s, current_actor(), schedule.id, edits)
    except ValidationFailed as exc:
        s.rollback()
        return _render_week(wk, errors={**exc.fields, "_": exc.message}, form=form.to_dict(), status=422)
    s.commit()
    flash(f"议程已保存（{changed} 项有改动）", "success")
    return redirect(_week_url(wk) + "#agenda")


@bp.post("/move")
def move():
    _only(OFFICE)
    s = get_session()
    item_id = _int(request.form.get("item_id"))
    if item_id is None:
        raise ValidationFailed("请指定要移动的议程事项", fields={"item_id": "缺少"})
    item = meeting.move_item(s, current_actor(), item_id, request.form.get("direction", ""))
    wk = svc.week_of(svc.get_schedule_by_id(s, item.schedule_id))
    s.commit()
    return redirect(_week_url(wk) + "#agenda")


@bp.post("/meeting")
def record_meeting():
    """记录会议: the meeting date, chair and each agenda item's decision."""
    _only(OFFICE)
    s = get_session()
    form = request.form
    schedule = _schedule_from_form()
    wk = svc.week_of(schedule)
    try:
        meeting_date = _date(form.get("meeting_date"), "meeting_date", "会议日期")
        if meeting_date is None:
            raise ValidationFailed("请填写会议日期", fields={"meeting_date": "请填写"})
        decisions = []
        for raw in form.getlist("item_id"):
            item_id = _int(raw)
            if item_id is None:
                continue
            p = f"item-{item_id}-"
            action = form.get(p + "action", "")
            text = form.get(p + "decision", "")
            if not action and not text.strip():
                continue  # not decided at this meeting
            decisions.append(
                meeting.Decision(
                    item_id=item_id,
                    action=action,
                    text=text,
                    title=form.get(p + "title", ""),
                    due_date=_date(form.get(p + "due_date"), p + "due_date", "完成时限"),
                )
            )
        if not decisions:
            raise ValidationFailed("请至少为一项议题填写会议决定", fields={"_": "请填写会议决定"})
        meeting.record_meeting(
            s,
            current_actor(),
            schedule.id,
            meeting_date,
            decisions,
            chair_leader_id=_int(form.get("chair_leader_id")),
            attendees=form.get("attendees", ""),
        )
    except DomainError as exc:
        s.rollback()
        if not isinstance(exc, ValidationFailed):
            raise
        return _render_week(wk, errors={**exc.fields, "_": exc.message}, form=form.to_dict(), status=422)
    s.commit()
    flash(f"已记录调度会议，议定 {len(decisions)} 项", "success")
    return redirect(_week_url(wk) + "#meeting")


class NotGenerated(ValidationFailed):
    """The week has no schedule yet: back to its page, which offers to generate it."""


def _data_for_export():
    s = get_session()
    wk = _week_arg()
    schedule = svc.get_schedule(s, wk)
    if schedule is None:
        raise NotGenerated(f"{wk.label}尚未生成调度清单，请先生成", fields={"week": "未生成"})
    return wk, meeting.as_dict(s, schedule, current_actor())


@bp.get("/export.xlsx")
def export():
    _only(OFFICE)

    try:
        wk, data = _data_for_export()
    except NotGenerated as exc:
        flash(exc.message, "error")
        return redirect(url_for(".week", week=request.args.get("week", "")))
    out = io.BytesIO()
    write_schedule(out, data, svc.SECTION_LABELS)
    out.seek(0)
    return send_file(
        out,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"每周调度-{wk.key}.xlsx",
    )


@bp.get("/print")
def print_view():
    _only(READERS)
    try:
        wk, data = _data_for_export()
    except NotGenerated as exc:
        flash(exc.message, "error")
        return redirect(url_for(".week", week=request.args.get("week", "")))
    return render_template(
        "schedule/print.html",
        data=data,
        SECTIONS=svc.SECTIONS,
        SECTION_LABELS=svc.SECTION_LABELS,
        printed=clock.today(),
    )


# --- cascade -------------------------------------------------------------------


def _render_cascade(task_id: int, rows: list[dict] | None = None, errors: dict | None = None, status: int = 200):

    s = get_session()
    task = task_svc.get_task(s, task_id)
    level = cascade.level_of(s, task)
    child = cascade.child_level(level)
    if rows is None:
        rows = [
            {"title": r["title"], "due_date": r["due_date"].isoformat(), "requirement": ""}
            for r in cascade.suggest_children(s, task)
        ]
    return render_template(
        "schedule/cascade.html",
        task=task,
        level=level,
        child=child,
        LEVEL_LABELS=cascade.LEVEL_LABELS,
        rows=rows + [{"title": "", "due_date": "", "requirement": ""}],
        rollup=cascade.rollup(s, task.id),
        errors=errors or {},
        status_label=status_label,
    ), status


@bp.get("/cascade/<int:task_id>")
def cascade_form(task_id: int):
    _only(OFFICE)
    return _render_cascade(task_id)


@bp.post("/cascade/<int:task_id>")
def cascade_create(task_id: int):
    _only(OFFICE)
    s = get_session()
    form = request.form
    count = min(_int(form.get("row_count")) or 0, cascade.MAX_CHILDREN + 1)
    raw_rows, rows, errors = [], [], {}
    for i in range(count):
        title = (form.get(f"rows-{i}-title") or "").strip()
        due_raw = (form.get(f"rows-{i}-due_date") or "").strip()
        requirement = form.get(f"rows-{i}-requirement") or ""
        raw_rows.append({"title": title, "due_date": due_raw, "requirement": requirement})
        if not title and not due_raw:
            continue
        try:
            due = parse_date(due_raw, label="完成时限", field=f"row-{i + 1}-due_date", error=ValidationFailed)
        except ValidationFailed as exc:
            errors[f"row-{i + 1}-due_date"] = f"第 {i + 1} 行：{exc.fields[f'row-{i + 1}-due_date']}"
            due = None
        rows.append({"title": title, "due_date": due, "requirement": requirement})
    try:
        if errors:
            raise ValidationFailed("分解内容填写有误：" + "；".join(errors.values()), fields=errors)
        created = cascade.create_children(s, current_actor(), task_id, rows)
    except ValidationFailed as exc:
        s.rollback()
        return _render_cascade(
            task_id, [r for r in raw_rows if r["title"] or r["due_date"]], {**exc.fields, "_": exc.message}, 422
        )
    s.commit()
    flash(f"已分解 {len(created)} 项：" + "、".join(t.code for t in created), "success")
    return redirect(url_for(".cascade_form", task_id=task_id))
