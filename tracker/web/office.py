"""The supervision office's pages (督查室): sources, decomposing minutes into tasks,
the task list with bulk actions and saved views, the draft form, the review
queue and the printable 督办通知单.

Thin views: parse the form, call the services, commit once. A form that fails
validation comes back with the messages next to its fields (HTTP 422) and
nothing saved; batch actions run each task in a savepoint and report what was
done and what was refused.
"""

from __future__ import annotations

import io
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlmodel import select
from werkzeug.datastructures import MultiDict

from tracker import clock
from tracker.db import get_session
from tracker.errors import DomainError, NotFound, ValidationFailed
from tracker.http.login import current_actor
from tracker.http.params import to_int
from tracker.models import (
    DEADLINE_KIND_LABELS,
    FEEDBACK_CYCLE_LABELS,
    MEETING_KINDS,
    SOURCE_KIND_LABELS,
    URGENCY_LABELS,
    ChangeKind,
    ChangeRequest,
    CloseRequest,
    DeadlineKind,
    Department,
    Escalation,
    ExtensionRequest,
    Leader,
    RequestStatus,
    Role,
    SavedView,
    Source,
    SourceKind,
    Task,
    TimeLimitPreset,
    Urgency,
)
from tracker.rules.ladder import MANUAL_DEFAULT_LEVEL, level_choices, level_name
from tracker.rules.overdue import LIGHT_LABELS, Horizon, Light, deadline_name, deadline_state
from tracker.rules.text import one_line
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.ledger.export import export_ledger
from tracker.services.tasks import lifecycle as task_svc
from tracker.services.tasks import queries
from tracker.services.tasks import requests as task_requests
from tracker.services.tasks import sources as source_svc
from tracker.services.tasks.queries import SORTS, TaskFilter
from tracker.shared_sql import shared
from tracker.web.nav import ID_PLACEHOLDER, around_id, id_url
from tracker.workflow import STATUS_LABELS, Action, Party, Status, check, status_label

bp = Blueprint("office", __name__, url_prefix="/office")

SORT_LABELS = {
    "due": "完成时限（早→晚）",
    "-due": "完成时限（晚→早）",
    "code": "编号（小→大）",
    "-code": "编号（大→小）",
    "created": "登记时间（早→晚）",
    "-created": "登记时间（晚→早）",
    "updated": "更新时间（早→晚）",
    "-updated": "更新时间（晚→早）",
}
PER_PAGE_CHOICES = (20, 50, 100, 200)
BULK_ACTIONS = {"assign": "交办", "remind": "催办"}


@bp.before_request
def _office_only():
    """Every page here is the office's: anyone else gets 403 (login is checked globally first)."""
    if current_user.is_authenticated and current_user.row.role != Role.SUPERVISOR:
        abort(403)


@bp.context_processor
def _labels():
    return {
        "SOURCE_KIND_LABELS": SOURCE_KIND_LABELS,
        "URGENCY_LABELS": URGENCY_LABELS,
        "LIGHT_LABELS": LIGHT_LABELS,
        "FEEDBACK_CYCLE_LABELS": FEEDBACK_CYCLE_LABELS,
        "status_label": status_label,
        "task_url": task_url,
        "kind_label": source_svc.kind_label,
        "fmt_dt": _fmt_dt,
    }


def _fmt_dt(value) -> str:
    """A stored UTC instant in China time."""
    return value.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M") if value else ""


def task_url(task_id: int) -> str:
    """The task's own page (the tasks blueprint); the draft form if that page is missing."""
    if "tasks.show" in current_app.view_functions:
        return url_for("tasks.show", task_id=task_id)
    return url_for("office.edit_task", task_id=task_id)


def _row_urls() -> dict[str, tuple[str, str]]:
    return {
        "task": around_id(task_url(ID_PLACEHOLDER)),
        "edit": id_url("office.edit_task"),
        "escalate": id_url("office.escalate"),
    }


def _departments():
    return (
        get_session()
        .exec(select(Department).where(Department.active).order_by(Department.sort_order, Department.id))
        .all()
    )


def _leaders():
    return get_session().exec(select(Leader).where(Leader.active).order_by(Leader.sort_order, Leader.id)).all()


def _int(value) -> int | None:
    return to_int(value)


def _ints(name: str) -> list[int]:
    return [n for n in (_int(v) for v in request.form.getlist(name)) if n is not None]


def _safe_back(target: str | None, default: str) -> str:
    """Only a path inside the office section: no open redirect through ``next``."""
    if target and target.startswith("/office/") and not target.startswith("//"):
        return target
    return default


@bp.get("/")
def index():
    return redirect(url_for(".tasks"))


# --- sources -------------------------------------------------------------------


def _source_form_defaults() -> dict:
    return {"kind": SourceKind.EXECUTIVE_MEETING.value, "source_date": clock.today().isoformat()}


def _render_sources(form: dict, errors: dict, status: int = 200):
    s = get_session()
    kind = request.args.get("kind", "")
    text = request.args.get("q", "")
    page = max(1, _int(request.args.get("page")) or 1)
    rows, total = source_svc.list_sources(s, kind=kind, text=text, page=page)
    return render_template(
        "office/sources.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // 50)),
        kind=kind,
        q=text,
        form=form,
        errors=errors,
        leaders=_leaders(),
        meeting_kinds=[k for k in SourceKind if k in MEETING_KINDS],
        other_kinds=[k for k in SourceKind if k not in MEETING_KINDS],
        open_form=bool(errors) or request.args.get("new") == "1",
    ), status


@bp.get("/sources")
def sources():
    return _render_sources(_source_form_defaults(), {})


@bp.post("/sources")
def create_source():
    form = request.form.to_dict()
    s = get_session()
    try:
        src = source_svc.create_source(s, current_actor(), form)
    except ValidationFailed as exc:
        s.rollback()
        return _render_sources(form, exc.fields or {"_": exc.message}, 422)
    s.commit()
    flash(f"已登记任务来源“{src.title}”", "success")
    return redirect(url_for(".source", source_id=src.id))


@bp.get("/sources/<int:source_id>")
def source(source_id: int):
    s = get_session()
    src = source_svc.get_source(s, source_id)
    leader = s.get(Leader, src.leader_id) if src.leader_id else None
    h = _horizon()
    page = queries.list_tasks(s, current_actor(), TaskFilter(source_id=src.id), h, sort="code", per_page=200)
    assist, leaders = queries.names_for(s, [r.Task.id for r in page.rows])
    return render_template(
        "office/source.html",
        src=src,
        leader=leader,
        page=page,
        assist=assist,
        leaders=leaders,
        is_meeting=src.kind in MEETING_KINDS,
    )


# --- the task list ------------------------------------------------------------------


def _horizon() -> Horizon:
    return Horizon.build(get_session(), current_app.config["TRACKER"].due_soon_workdays)


def _list_args(flt: TaskFilter, sort: str, per_page: int) -> dict:
    args = flt.to_args()
    if sort != "due":
        args["sort"] = sort
    if per_page != 50:
        args["per_page"] = per_page
    return args


@shared()
def _views_select():
    """The user's saved views (id, name, query): plain rows, the statement built once."""
    return (
        select(SavedView.id, SavedView.name, SavedView.query)
        .where(SavedView.user_id == sa.bindparam("user_id"))
        .order_by(SavedView.name, SavedView.id)
    )


@shared()
def _choices_select(model):
    """Active departments or leaders (id, name) for the list's filters, as ``_departments()``."""
    return select(model.id, model.name).where(model.active).order_by(model.sort_order, model.id)


@shared()
def _sources_select():
    """The 200 latest sources (id, title, date) for the list's filter: plain rows, not entities."""
    return (
        select(Source.id, Source.title, Source.source_date)
        .order_by(Source.source_date.desc(), Source.id.desc())
        .limit(200)
    )


@bp.get("/tasks")
def tasks():
    s = get_session()
    actor = current_actor()
    flt = TaskFilter.from_args(request.args)
    sort = request.args.get("sort", "due")
    sort = sort if sort in SORTS else "due"
    per_page = _int(request.args.get("per_page")) or 50
    per_page = per_page if per_page in PER_PAGE_CHOICES else 50
    page_no = max(1, _int(request.args.get("page")) or 1)
    result = queries.list_task_rows(s, actor, flt, _horizon(), sort=sort, page=page_no, per_page=per_page)
    ids = [row.id for row in result.rows]
    assist, leaders = queries.names_for(s, ids)
    args = _list_args(flt, sort, per_page)
    conn = s.connection()
    views = conn.execute(_views_select(), {"user_id": actor.user_id}).all()
    return render_template(
        "office/tasks.html",
        page=result,
        flt=flt,
        sort=sort,
        per_page=per_page,
        args=args,
        query=urlencode(args, doseq=True),
        assist=assist,
        leaders_of=leaders,
        views=views,
        departments=conn.execute(_choices_select(Department)).all(),
        leaders=conn.execute(_choices_select(Leader)).all(),
        sources=[(i, f"{day.isoformat()} {title}") for i, title, day in conn.execute(_sources_select())],
        statuses=STATUS_LABELS["office"],
        lights=list(Light),
        sorts=SORT_LABELS,
        per_page_choices=PER_PAGE_CHOICES,
        urls=_row_urls(),
        page_url=lambda n: url_for(".tasks", **{**args, "page": n}),
        sort_url=lambda key: url_for(".tasks", **{**args, "sort": key}),
    )


def _task_label(task_id: int) -> str:
    task = get_session().get(Task, task_id)
    return task.code if task else f"编号{task_id}"


@bp.post("/tasks/bulk")
def bulk():
    """Assign or remind many tasks in one transaction: each task in its own savepoint,
    so one refusal does not undo the others, and the office reads why it was refused."""
    s = get_session()
    actor = current_actor()
    back = _safe_back(request.form.get("next"), url_for(".tasks"))
    action = request.form.get("action", "")
    if action not in BULK_ACTIONS:
        abort(400)
    ids = list(dict.fromkeys(_ints("ids")))
    if not ids:
        flash("请先勾选要处理的事项", "error")
        return redirect(back)
    message = request.form.get("message", "").strip()
    done: list[str] = []
    refused: list[str] = []
    for task_id in ids:
        try:
            with s.begin_nested():
                if action == "assign":
                    task_svc.assign(s, actor, task_id)
                else:
                    task_chasing.remind(s, actor, task_id, message)
            done.append(_task_label(task_id))
        except DomainError as exc:
            refused.append(f"{_task_label(task_id)}（{exc.message}）")
    s.commit()
    verb = BULK_ACTIONS[action]
    if done:
        flash(f"已{verb} {len(done)} 项：" + "、".join(done), "success")
    if refused:
        flash(f"未能{verb} {len(refused)} 项：" + "；".join(refused), "error")
    return redirect(back)


@bp.get("/tasks/export")
def export_tasks():
    """The filtered list as the standard ledger workbook (台账), grouped by source
    unless the list was sorted otherwise."""

    s = get_session()
    flt = TaskFilter.from_args(request.args)
    sort = request.args.get("sort", "")
    out = io.BytesIO()
    export_ledger(s, current_actor(), out, flt, _horizon(), sort=sort if sort in SORTS else "source")
    out.seek(0)
    return send_file(
        out,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"督办台账-{clock.today():%Y%m%d}.xlsx",
    )


# --- saved views ------------------------------------------------------------------


def _clean_query(raw: str) -> str:
    """Keep only what the list understands, in its canonical form."""
    args = MultiDict(parse_qsl(raw.lstrip("?")))
    sort = args.get("sort", "due")
    per_page = _int(args.get("per_page")) or 50
    return urlencode(
        _list_args(
            TaskFilter.from_args(args),
            sort if sort in SORTS else "due",
            per_page if per_page in PER_PAGE_CHOICES else 50,
        ),
        doseq=True,
    )


@bp.post("/views")
def save_view():
    s = get_session()
    actor = current_actor()
    name = one_line(request.form.get("name", ""))
    query = _clean_query(request.form.get("query", ""))
    back = url_for(".tasks") + (f"?{query}" if query else "")
    if not name or len(name) > 60:
        flash("请填写视图名称（不超过60个字）", "error")
        return redirect(back)
    if len(query) > 1000:
        flash("筛选条件过长，无法保存", "error")
        return redirect(back)
    view = s.exec(select(SavedView).where(SavedView.user_id == actor.user_id, SavedView.name == name)).first()
    if view is None:
        s.add(SavedView(user_id=actor.user_id, name=name, query=query))
        flash(f"已保存视图“{name}”", "success")
    else:
        view.query = query
        flash(f"已更新视图“{name}”", "success")
    s.commit()
    return redirect(back)


@bp.post("/views/<int:view_id>/delete")
def delete_view(view_id: int):
    s = get_session()
    view = s.get(SavedView, view_id)
    if view is None or view.user_id != current_actor().user_id:
        raise NotFound("未找到该视图")
    s.delete(view)
    s.commit()
    flash(f"已删除视图“{view.name}”", "success")
    return redirect(url_for(".tasks"))


# --- the draft form -----------------------------------------------------------------


def _task_form_data(form) -> tuple[dict, dict]:
    """The service input from the form, and problems the form itself can see."""
    problems = {}
    milestones = []
    for title, due in zip(form.getlist("milestone_title"), form.getlist("milestone_due")):
        title, due = title.strip(), due.strip()
        if not title and not due:
            continue
        if not title or not due:
            problems["milestones"] = "时间节点需同时填写内容和日期"
            continue
        milestones.append({"title": title, "due_date": due})
    data = {
        "title": form.get("title", ""),
        "requirement": form.get("requirement", ""),
        "source_id": _int(form.get("source_id")),
        "item_no": form.get("item_no", ""),
        "lead_department_id": _int(form.get("lead_department_id")),
        "assisting_department_ids": _ints("assisting_department_ids"),
        "leader_ids": _ints("leader_ids"),
        "urgency": form.get("urgency") or Urgency.NORMAL.value,
        "deadline_kind": form.get("deadline_kind") or DeadlineKind.DATE.value,
        "due_date": form.get("due_date") or None,
        "deadline_text": form.get("deadline_text", ""),
        "recurrence": form.get("recurrence", ""),
        "time_limit_preset": form.get("time_limit_preset", ""),
        "feedback_cycle": form.get("feedback_cycle") or "once",
        "needs_leader_approval": form.get("needs_leader_approval") == "1",
        "milestones": milestones,
    }
    return data, problems


def _render_task_form(task: Task | None, values: dict, errors: dict, status: int = 200):
    s = get_session()
    presets = s.exec(
        select(TimeLimitPreset).where(TimeLimitPreset.active).order_by(TimeLimitPreset.sort_order, TimeLimitPreset.id)
    ).all()
    recent_sources = s.exec(select(Source).order_by(Source.source_date.desc(), Source.id.desc()).limit(200)).all()
    if values.get("source_id") and all(src.id != values["source_id"] for src in recent_sources):
        extra = s.get(Source, values["source_id"])
        recent_sources = ([extra] if extra else []) + list(recent_sources)
    milestones = values.get("milestones") or []
    return render_template(
        "office/task_form.html",
        task=task,
        v=values,
        errors=errors,
        presets=presets,
        sources=recent_sources,
        departments=_departments(),
        leaders=_leaders(),
        urgencies=list(Urgency),
        deadline_kinds={k.value: label for k, label in DEADLINE_KIND_LABELS.items()},
        milestones=milestones + [{"title": "", "due_date": ""}],
    ), status


def _save_draft(task_id: int | None):
    """Create or update the draft, then optionally send it out, all in one commit."""
    s = get_session()
    actor = current_actor()
    data, problems = _task_form_data(request.form)
    then = request.form.get("then", "")
    task = s.get(Task, task_id) if task_id else None
    if problems:
        return _render_task_form(task, data, problems, 422)
    try:
        if task_id is None:
            task = task_svc.create_draft(s, actor, data)
        else:
            task = task_svc.update_draft(s, actor, task_id, data)
        if then == "assign":
            task_svc.assign(s, actor, task.id)
        elif then == "submit":
            task_svc.submit_for_approval(s, actor, task.id)
    except ValidationFailed as exc:
        s.rollback()
        task = s.get(Task, task_id) if task_id else None
        return _render_task_form(task, data, exc.fields or {"_": exc.message}, 422)
    s.commit()
    said = {"assign": "已保存并交办", "submit": "已保存并提交领导审核"}.get(then, "草稿已保存")
    flash(f"{said}：{task.code} {task.title}", "success")
    if then in ("assign", "submit"):
        return redirect(task_url(task.id))
    return redirect(url_for(".edit_task", task_id=task.id))


@bp.route("/tasks/new", methods=["GET", "POST"])
def new_task():
    if request.method == "POST":
        return _save_draft(None)
    values = {
        "source_id": _int(request.args.get("source_id")),
        "item_no": request.args.get("item_no", ""),
        "urgency": Urgency.NORMAL.value,
        "deadline_kind": DeadlineKind.DATE.value,
        "feedback_cycle": "once",
    }
    return _render_task_form(None, values, {})


@bp.route("/tasks/<int:task_id>/edit", methods=["GET", "POST"])
def edit_task(task_id: int):
    s = get_session()
    task = task_svc.get_task(s, task_id)
    if request.method == "POST":
        return _save_draft(task_id)
    check(Action.EDIT_DRAFT, task.status, {Party.OFFICE})
    values = {**task.model_dump(), **task_svc.draft_values(s, task)}
    values["due_date"] = task.due_date.isoformat() if task.due_date else ""
    values["milestones"] = [{**m, "due_date": m["due_date"].isoformat()} for m in values["milestones"]]
    return _render_task_form(task, values, {})


@bp.post("/tasks/<int:task_id>/delete")
def delete_task(task_id: int):
    s = get_session()
    task = task_svc.get_task(s, task_id)
    code = task.code
    task_svc.delete_draft(s, current_actor(), task_id)
    s.commit()
    flash(f"已删除草稿 {code}", "success")
    return redirect(url_for(".tasks"))


# --- escalation and the printable notice ----------------------------------------------


@bp.route("/tasks/<int:task_id>/escalate", methods=["GET", "POST"])
def escalate(task_id: int):
    s = get_session()
    task = task_svc.get_task(s, task_id)
    lead = s.get(Department, task.lead_department_id) if task.lead_department_id else None
    errors: dict = {}
    reason = request.form.get("reason", "")
    level = _int(request.form.get("level")) or MANUAL_DEFAULT_LEVEL
    if request.method == "POST":
        try:
            esc = task_chasing.escalate(s, current_actor(), task_id, reason, level)
        except ValidationFailed as exc:
            s.rollback()
            errors = exc.fields or {"_": exc.message}
        else:
            s.commit()
            flash(f"已发出督办通知（{esc.notice_no}）", "success")
            return redirect(url_for(".notice", escalation_id=esc.id))
    state = deadline_state(s, _horizon(), task.id)
    if request.method != "POST" and state.overdue:
        reason = f"该事项已超过{deadline_name(state.kind)}{state.workdays}个工作日，请抓紧办理并书面报告办理情况。"
    return render_template(
        "office/escalate.html",
        task=task,
        lead=lead,
        reason=reason,
        level=level,
        levels=level_choices(),
        errors=errors,
        overdue=(state.workdays, state.calendar_days),
    ), (422 if errors else 200)


def _deadline_missed(state) -> str:
    """Which deadline was missed, for the notice (``DeadlineState.kind``)."""
    if state.deadline is None:
        return ""
    d = state.deadline
    on = f"{d.year}年{d.month}月{d.day}日"
    if state.kind == "report":
        return f"本期进展应于{on}前报送"
    return f"{deadline_name(state.kind)}为{on}"


@bp.get("/escalations/<int:escalation_id>/notice")
def notice(escalation_id: int):
    s = get_session()
    esc = s.get(Escalation, escalation_id)
    if esc is None:
        raise NotFound("未找到该督办通知单")
    task = task_svc.get_task(s, esc.task_id)
    department = s.get(Department, esc.department_id)
    assist, leaders = queries.names_for(s, [task.id])
    src = s.get(Source, task.source_id) if task.source_id else None
    state = deadline_state(s, _horizon(), task.id)
    return render_template(
        "office/notice.html",
        esc=esc,
        task=task,
        department=department,
        assist=assist[task.id],
        leaders=leaders[task.id],
        src=src,
        overdue_workdays=state.workdays,
        overdue_days=state.calendar_days,
        overdue_since=state.deadline,
        overdue_what=_deadline_missed(state),
        today=clock.today(),
        level_label=level_name(esc.level),
        issued_on=clock.local_date(esc.created_at),
    )


# --- the review queue -----------------------------------------------------------------


def _render_review(errors: dict | None = None, status: int = 200):
    s = get_session()
    closes = s.execute(
        select(CloseRequest, Task, Department)
        .join(Task, Task.id == CloseRequest.task_id)
        .join(Department, Department.id == CloseRequest.department_id)
        .where(CloseRequest.status == RequestStatus.PENDING, Task.status == Status.PENDING_REVIEW)
        .order_by(CloseRequest.created_at, CloseRequest.id)
    ).all()
    extensions = s.execute(
        select(ExtensionRequest, Task, Department)
        .join(Task, Task.id == ExtensionRequest.task_id)
        .join(Department, Department.id == ExtensionRequest.department_id)
        .where(ExtensionRequest.status == RequestStatus.PENDING)
        .order_by(ExtensionRequest.created_at, ExtensionRequest.id)
    ).all()
    changes = s.execute(
        select(ChangeRequest, Task)
        .join(Task, Task.id == ChangeRequest.task_id)
        .where(ChangeRequest.status == RequestStatus.PENDING)
        .order_by(ChangeRequest.created_at, ChangeRequest.id)
    ).all()
    departments = _departments()
    dept_names = {d.id: d.name for d in s.exec(select(Department)).all()}
    return render_template(
        "office/review.html",
        closes=closes,
        silent=queries.silent_assisting(s, [task.id for _req, task, _dept in closes]),
        extensions=extensions,
        reassigns=[(r, t) for r, t in changes if r.kind == ChangeKind.REASSIGN],
        changes=[(r, t) for r, t in changes if r.kind != ChangeKind.REASSIGN],
        departments=departments,
        dept_names=dept_names,
        errors=errors or {},
        me_id=current_actor().user_id,
    ), status


@bp.get("/review")
def review_queue():
    return _render_review()


def _decide(key: str, step, success: str):
    """Run one decision; on a refusal show the queue again with the message at that item."""
    s = get_session()
    try:
        step(s, current_actor())
    except DomainError as exc:
        s.rollback()
        return _render_review({key: exc.message}, exc.http_status)
    s.commit()
    flash(success, "success")
    return redirect(url_for(".review_queue"))


def _approve() -> bool:
    decision = request.form.get("decision", "")
    if decision not in ("approve", "reject"):
        abort(400)
    return decision == "approve"


@bp.post("/review/close/<int:task_id>")
def review_close(task_id: int):
    approve, note = _approve(), request.form.get("note", "")
    return _decide(
        f"close-{task_id}",
        lambda s, a: task_requests.review_close(s, a, task_id, approve, note),
        "已审核办结" if approve else "已退回，事项回到办理中",
    )


@bp.post("/review/extension/<int:req_id>")
def review_extension(req_id: int):
    approve, note = _approve(), request.form.get("note", "")
    return _decide(
        f"extension-{req_id}",
        lambda s, a: task_requests.decide_extension(s, a, req_id, approve, note),
        "已同意延期，完成时限已调整" if approve else "已不同意延期",
    )


@bp.post("/review/change/<int:req_id>")
def review_change(req_id: int):
    approve, note = _approve(), request.form.get("note", "")
    return _decide(
        f"change-{req_id}",
        lambda s, a: task_requests.decide_change(s, a, req_id, approve, note),
        "已同意变更" if approve else "已不同意变更",
    )


@bp.post("/review/reassign/<int:req_id>")
def review_reassign(req_id: int):
    approve, note = _approve(), request.form.get("note", "")
    new_lead = _int(request.form.get("new_lead_department_id"))
    return _decide(
        f"reassign-{req_id}",
        lambda s, a: task_requests.decide_reassign(s, a, req_id, approve, new_lead, note),
        "已同意改派，新牵头单位需重新签收" if approve else "已不同意改派",
    )
