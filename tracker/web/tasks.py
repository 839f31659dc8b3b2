"""The task page (督办事项详情) and one POST endpoint per workflow action.

Every action: parse the form, call one service, commit once, redirect with a
Chinese flash. A domain error re-renders the task page with the message and
the error's HTTP status; nothing of the failed request is saved (the session
is rolled back, and files written for it are removed). A task the user may not
see answers 404 on every route, so its existence is not disclosed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from sqlmodel import Session, select
from werkzeug.exceptions import HTTPException

from tracker import clock
from tracker.db import get_session
from tracker.errors import DomainError, NotFound, ValidationFailed
from tracker.http.errors import error_response
from tracker.http.login import current_actor
from tracker.http.params import parse_date, to_int
from tracker.models import (
    FEEDBACK_CYCLE_LABELS,
    SOURCE_KIND_LABELS,
    URGENCY_LABELS,
    Attachment,
    ChangeKind,
    ChangeRequest,
    DeadlineKind,
    Department,
    ExtensionRequest,
    ProgressReport,
    RequestStatus,
    Task,
)
from tracker.rules.ladder import MANUAL_DEFAULT_LEVEL, level_choices
from tracker.rules.overdue import Horizon, light_label
from tracker.services.actors import Actor, own_part_only, parties
from tracker.services.auditing.labels import ACTION_LABELS
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.scheduling import cascade
from tracker.services.tasks import attachments, queries
from tracker.services.tasks import lifecycle as svc
from tracker.services.tasks import page as taskpage
from tracker.services.tasks import requests as task_requests
from tracker.workflow import OPEN, Action, Party, allowed, status_label

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

# A request may carry several files of up to 20 MB each; a bigger body is refused
# by Flask with the friendly 413 page before anything is read or written.
MAX_REQUEST_BYTES = attachments.MAX_TOTAL + 1024 * 1024  # room for the form fields


@bp.record_once
def _configure(state) -> None:
    if state.app.config.get("MAX_CONTENT_LENGTH") is None:
        state.app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES


@bp.app_template_filter("local_dt")
def local_dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC instant as China time."""
    if value is None:
        return ""
    return value.astimezone(clock.CHINA).strftime(fmt)


@bp.app_template_filter("filesize")
def filesize(n: int | None) -> str:
    n = n or 0
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} B"


PARTY_LABELS = {Party.OFFICE: "督查室", Party.LEAD: "牵头单位", Party.ASSIST: "协办单位", Party.LEADER: "责任领导"}
PARTY_ORDER = (Party.OFFICE, Party.LEAD, Party.ASSIST, Party.LEADER)


def main_party(who: set[Party]) -> Party:
    """The relation whose words the page uses (an actor normally has just one)."""
    return next((p for p in PARTY_ORDER if p in who), Party.NONE)


# --- reading -----------------------------------------------------------------------


@dataclass
class Entry:
    """One line of the timeline."""

    at: datetime
    who: str
    label: str
    action: str
    note: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)
    report: Any = None  # a progress report row
    files: list = field(default_factory=list)  # attachment rows
    link: tuple[str, str] | None = None  # (words, url)


def _departments(session: Session, ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(session.execute(select(Department.id, Department.name).where(Department.id.in_(ids))).all())


def _by_id(session: Session, model, ids) -> dict[int, Any]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {row.id: row for row in session.exec(select(model).where(model.id.in_(ids)))}


def _known_or_by_id(session: Session, model, ids, known: dict[int, Any]) -> dict[int, Any]:
    """Rows already loaded for the page, plus any others the history names."""
    wanted = {i for i in ids if i}
    out = {i: known[i] for i in wanted if i in known}
    out.update(_by_id(session, model, wanted - out.keys()))
    return out


def build_timeline(
    session: Session,
    task: Task,
    party: Party,
    only_department: int | None,
    *,
    reports_known: dict[int, ProgressReport] | None = None,
    files_known: dict[int, Attachment] | None = None,
    names_known: dict[int, str] | None = None,
) -> list[Entry]:
    """The audit log in the viewer's words; ``only_department`` (``actors.own_part_only``): an
    assisting department sees only its own reports and their files.

    ``reports_known``/``files_known``/``names_known``: the task's reports, attachments and
    department names the page has already read (saves statements); anything else the history
    names is read here."""
    events = taskpage.timeline(session, task.id)  # with each named row's details
    ids = lambda entity: [e.entity_id for e in events if e.entity == entity]  # noqa: E731
    reports = _known_or_by_id(session, ProgressReport, ids("progress_report"), reports_known or {})
    files = _known_or_by_id(session, Attachment, ids("attachment"), files_known or {})
    dep_ids: set = {e.reminder_department_id for e in events if e.reminder_id is not None}
    for e in events:
        for snap in (e.before or {}, e.after or {}):
            dep_ids.add(snap.get("lead_department_id"))
        if e.change_id is not None:
            dep_ids.add((e.change_payload or {}).get("lead_department_id"))
            dep_ids.add((e.change_payload or {}).get("suggested_department_id"))
    known = {i: n for i, n in (names_known or {}).items() if i and n is not None and i in dep_ids}
    names = {**known, **_departments(session, dep_ids - known.keys())}
    only_own = only_department is not None  # actors.own_part_only

    def own(report: ProgressReport | None) -> bool:
        return not only_own or (report is not None and report.department_id == only_department)

    by_report: dict[int, list[Attachment]] = {}
    by_close: dict[int, list[Attachment]] = {}
    out: list[Entry] = []
    for e in events:
        if e.entity == "attachment":
            att = files.get(e.entity_id)
            if att is None:
                continue
            close_id = (e.after or {}).get("close_request_id")
            if att.report_id:
                by_report.setdefault(att.report_id, []).append(att)
            elif close_id and not only_own:
                by_close.setdefault(close_id, []).append(att)
            elif not only_own:
                out.append(Entry(e.at, e.actor_name, ACTION_LABELS["attachment_upload"], e.action, files=[att]))
            continue
        report = reports.get(e.entity_id) if e.entity == "progress_report" else None
        if e.entity == "progress_report" and not own(report):
            continue
        entry = Entry(
            e.at, e.actor_name, ACTION_LABELS.get(e.action, e.action), e.action, note=e.note or "", report=report
        )
        before, after = e.before or {}, e.after or {}
        if "status" in after and before.get("status") != after.get("status"):
            old = status_label(before["status"], party) if before.get("status") else "—"
            entry.details.append(("状态", f"{old} → {status_label(after['status'], party)}"))
        if "due_date" in after and "due_date" in before:
            entry.details.append(("完成时限", f"{before['due_date'] or '—'} → {after['due_date'] or '—'}"))
        if "lead_department_id" in after and "lead_department_id" in before:
            entry.details.append(
                (
                    "牵头单位",
                    f"{names.get(before['lead_department_id'], '—')} → {names.get(after['lead_department_id'], '—')}",
                )
            )
        if e.entity == "extension_request" and e.ext_old_due_date is not None:
            entry.details.append(("申请时限", f"{e.ext_old_due_date} → {e.ext_new_due_date}"))
        if e.entity == "change_request" and e.change_id is not None:
            payload = e.change_payload or {}
            if payload.get("lead_department_id"):
                entry.details.append(("拟改为牵头单位", names.get(payload["lead_department_id"], "—")))
            if payload.get("suggested_department_id"):
                entry.details.append(("建议承办单位", names.get(payload["suggested_department_id"], "—")))
            if payload.get("title"):
                entry.details.append(("拟改事项名称", payload["title"]))
            if payload.get("requirement"):
                entry.details.append(("拟改工作要求", payload["requirement"]))
        if e.entity == "reminder" and e.reminder_id is not None:
            entry.details.append(("催办单位", names.get(e.reminder_department_id, "—")))
            if e.reminder_rule != "manual":
                entry.label = "系统自动催办"
        if e.entity == "escalation" and e.escalation_id is not None:
            level = e.escalation_level
            entry.details.append(("督办通知单", e.escalation_notice_no))
            entry.details.append(("督办层级", level_choices().get(level, str(level))))
            notice = _notice_path(e.escalation_id) if party == Party.OFFICE else None
            if notice:
                entry.link = ("查看督办通知单", notice)
        if e.entity == "close_request":
            entry.files = by_close.setdefault(e.entity_id, [])
        if report is not None:
            entry.files = by_report.setdefault(report.id, [])
        out.append(entry)
    return out


def latest_reports(reports: list) -> dict[int, Any]:
    """The newest report of each department, from the task's reports newest first
    (``tasks.page.reports_and_files``)."""
    out: dict[int, Any] = {}
    for r in reports:
        out.setdefault(r.department_id, r)
    return out


TIMELINE_SHOWN = 50


def task_context(session: Session, actor: Actor, task_id: int) -> dict:
    """Everything the task page shows; NotFound for a task the actor may not see."""
    # One plain row (taskpage.task_select) is the task, its derived state and its open requests:
    # one statement instead of a get and two selects, and no ORM entities to build.
    h = Horizon.build(session, current_app.config["TRACKER"].due_soon_workdays)
    row = task = taskpage.task_row(session, h, task_id)
    who = parties(session, actor, task) if task is not None else set()
    if not who:
        raise NotFound(f"未找到编号为 {task_id} 的督办事项")
    party = main_party(who)
    actions = set(allowed(task.status, who))
    pending_ext, pending_change, pending_close, last_return = taskpage.open_requests(row)
    if last_return is not None and (task.status != "in_progress" or (pending_close is not None)):
        last_return = None  # only while the task is back in the department's hands

    # What the forms need beyond the transition table: a decision needs a pending
    # request; a change may not be decided by the person who asked for it.
    if pending_ext is None:
        actions.discard(Action.DECIDE_EXTENSION)
    if pending_change is None or pending_change.kind != ChangeKind.REASSIGN:
        actions.discard(Action.DECIDE_REASSIGN)
    if (
        pending_change is None
        or pending_change.kind == ChangeKind.REASSIGN
        or pending_change.requested_by_id == actor.user_id
    ):
        actions.discard(Action.DECIDE_CHANGE)
    if task.deadline_kind != DeadlineKind.DATE or task.due_date is None:
        actions.discard(Action.REQUEST_EXTENSION)

    needs_departments = bool(actions & {Action.REQUEST_REASSIGN, Action.DECIDE_REASSIGN, Action.REQUEST_CHANGE})
    assisting, leader_names, milestones, departments = taskpage.people_and_milestones(
        session, task.id, departments=needs_departments
    )
    reports, task_files = taskpage.reports_and_files(session, task.id)
    latest = latest_reports(reports)
    latest_ids = {r.id for r in latest.values()}
    files: dict[int, list] = {i: [] for i in latest_ids}
    for att in task_files:  # attachments.for_reports, from the task's files already read
        if att.report_id in latest_ids:
            files[att.report_id].append(att)

    own = own_part_only(actor, who)
    lead_latest = latest.get(task.lead_department_id) if own is None else None
    if own is not None:
        assist_latest = [(name, latest.get(dep_id)) for dep_id, name in assisting if dep_id == own]
    else:
        assist_latest = [(name, latest.get(dep_id)) for dep_id, name in assisting]

    change_names = {}
    if pending_change:
        wanted = {(pending_change.payload or {}).get(k) for k in ("lead_department_id", "suggested_department_id")}
        change_names = {i: name for i, name in departments if i in wanted}  # the active ones, when read
        change_names.update(_departments(session, wanted - change_names.keys()))
    own_previous = latest.get(actor.department_id) if actor.department_id else None
    timeline = build_timeline(
        session,
        task,
        party,
        own,
        reports_known={r.id: r for r in reports},
        files_known={a.id: a for a in task_files},
        names_known={**dict(departments), task.lead_department_id: row.lead_name, **dict(assisting)},
    )
    # A task reported on weekly for years has hundreds of entries: the newest TIMELINE_SHOWN, and a
    # link to the rest (with all of them, the page of a task with 420 reports weighs 343 KB).
    hidden = 0 if request.args.get("history") == "all" else max(0, len(timeline) - TIMELINE_SHOWN)
    return {
        "task": task,
        "row": row,
        "party": party,
        "party_label": PARTY_LABELS.get(party, ""),
        "status_text": status_label(task.status, party),
        "light_label": light_label(row.light, row.due_soon),
        "source_label": SOURCE_KIND_LABELS.get(row.source_kind, "") if row.source_kind else "",
        "urgency_label": URGENCY_LABELS.get(task.urgency, task.urgency),
        "cycle_label": FEEDBACK_CYCLE_LABELS.get(task.feedback_cycle, task.feedback_cycle),
        "assist_names": [name for _id, name in assisting],
        "leader_names": leader_names,
        "milestones": milestones,
        "today": h.today,
        "timeline": timeline[hidden:],
        "timeline_hidden": hidden,
        "timeline_total": len(timeline),
        "lead_latest": lead_latest,
        "assist_latest": assist_latest,
        "latest_files": files,
        "own_previous": own_previous,
        "actions": actions,
        "A": Action,
        "pending_ext": pending_ext,
        "pending_change": pending_change,
        "change_names": change_names,
        "pending_close": pending_close,
        "silent_assisting": (
            queries.silent_assisting(session, [task.id]).get(task.id, [])
            if Action.APPROVE_CLOSE in actions and pending_close is not None
            else []
        ),
        "last_return": last_return,
        "departments": tuple((str(i), name) for i, name in departments),  # text ids, as the form sends them
        "escalation_levels": level_choices(),
        "max_file_bytes": attachments.MAX_SIZE,
        "max_files": attachments.MAX_FILES,
        "max_total_bytes": attachments.MAX_TOTAL,
        "allowed_types": attachments.ALLOWED_LABEL,
        "accept": ",".join("." + ext for ext in attachments.TYPES),
        "is_open": task.status in OPEN,
        "may_cascade": cascade.may_have_level(task.parent_id, row.source_kind),  # else no 逐级分解 section
        "draft_edit_url": (
            url_for("office.edit_task", task_id=task.id)
            if party == Party.OFFICE and task.status == "draft" and "office.edit_task" in current_app.view_functions
            else None
        ),
    }


def render_task(task_id: int, *, status: int = 200, error: DomainError | None = None, form: str = ""):
    ctx = task_context(get_session(), current_actor(), task_id)
    values = request.form if request.method == "POST" else {}
    return render_template(
        "tasks/show.html", error=error, form_name=form, fields=(error.fields if error else {}), values=values, **ctx
    ), status


@bp.get("/<int:task_id>")
def show(task_id: int):
    return render_task(task_id)


@bp.get("/attachments/<int:attachment_id>")
def download(attachment_id: int):
    row, path = attachments.for_download(get_session(), current_actor(), attachment_id)
    resp = send_file(
        path,
        mimetype=row.content_type or "application/octet-stream",
        as_attachment=True,
        download_name=row.original_name,
        max_age=0,
    )
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# --- acting ------------------------------------------------------------------------


def _safe_next(default: str) -> str:
    target = request.form.get("next") or ""
    if (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and ":" not in target.split("?")[0]
    ):
        return target
    return default


def _text(name: str) -> str:
    return (request.form.get(name) or "").strip()


def _int(name: str) -> int | None:
    return to_int(_text(name))


def _date(name: str, label: str) -> date:
    day = parse_date(_text(name), label=label, field=name, error=ValidationFailed)
    if day is None:
        raise ValidationFailed(f"请填写有效的{label}", fields={name: f"请填写有效的{label}"})
    return day


def _decision() -> bool:
    value = _text("decision")
    if value not in ("approve", "refuse"):
        raise ValidationFailed("请选择同意或不同意", fields={"decision": "请选择"})
    return value == "approve"


def _files(name: str = "files") -> list:
    return request.files.getlist(name)


def act(
    task_id: int,
    form: str,
    step: Callable[[Session, Actor], Any],
    message: str | Callable[[Any], str],
    *,
    redirect_to: Callable[[Any], str | None] | None = None,
):
    """Run one service step as one unit of work, then redirect or re-render on a domain error."""
    session = get_session()
    try:
        result = step(session, current_actor())
        session.commit()
    except NotFound:
        session.rollback()
        raise
    except DomainError as exc:
        session.rollback()
        try:
            return render_task(task_id, status=exc.http_status, error=exc, form=form)
        except NotFound:  # out of the actor's sight now (a leader's 退回 made it a draft): the message alone
            return error_response(exc.http_status, exc.code, exc.message, exc.fields)
    flash(message(result) if callable(message) else message, "success")
    target = redirect_to(result) if redirect_to else None
    return redirect(target or _safe_next(url_for("tasks.show", task_id=task_id)))


def _request_of(session: Session, model, task_id: int, request_id: int, what: str):
    req = session.get(model, request_id)
    if req is None or req.task_id != task_id:
        raise NotFound(f"未找到该{what}")
    return req


@bp.post("/<int:task_id>/acknowledge")
def acknowledge(task_id: int):
    return act(task_id, "acknowledge", lambda s, a: svc.acknowledge(s, a, task_id), "已签收，请按时限办理并反馈进展")


@bp.post("/<int:task_id>/report")
def report(task_id: int):
    def step(s: Session, a: Actor):
        percent = _text("percent")
        data = {
            "text": _text("text"),
            "percent": percent or None,
            "problems": _text("problems"),
            "next_steps": _text("next_steps"),
            "needs_coordination": bool(request.form.get("needs_coordination")),
            "milestones_done": [n for n in map(to_int, request.form.getlist("milestones_done")) if n is not None],
        }
        rep = svc.report_progress(s, a, task_id, data)
        stored = attachments.store_all(s, a, task_id, rep.id, _files())
        return rep, stored

    def said(result) -> str:
        _, stored = result
        return "进展已报送" + (f"，附件 {len(stored)} 个" if stored else "")

    return act(task_id, "report", step, said)


@bp.post("/<int:task_id>/extension")
def request_extension(task_id: int):
    return act(
        task_id,
        "request_extension",
        lambda s, a: task_requests.request_extension(
            s, a, task_id, _date("new_due_date", "新的完成时限"), _text("reason")
        ),
        "延期申请已提交，请等待督查室审核",
    )


@bp.post("/<int:task_id>/extension/<int:request_id>/decide")
def decide_extension(task_id: int, request_id: int):
    def step(s: Session, a: Actor):
        _request_of(s, ExtensionRequest, task_id, request_id, "延期申请")
        return task_requests.decide_extension(s, a, request_id, _decision(), _text("note"))

    return act(
        task_id,
        "decide_extension",
        step,
        lambda req: "已同意延期，完成时限已调整" if req.status == RequestStatus.APPROVED else "已不同意延期",
    )


@bp.post("/<int:task_id>/close")
def request_close(task_id: int):
    def step(s: Session, a: Actor):
        req = task_requests.request_close(s, a, task_id, _text("summary"))
        attachments.store_all(s, a, task_id, None, _files(), close_request_id=req.id)
        return req

    return act(task_id, "request_close", step, "办结申请已提交，请等待督查室审核")


@bp.post("/<int:task_id>/review")
def review(task_id: int):
    def step(s: Session, a: Actor):
        decision = _text("decision")
        if decision not in ("approve", "return"):
            raise ValidationFailed("请选择审核结果", fields={"decision": "请选择办结或退回"})
        return task_requests.review_close(s, a, task_id, decision == "approve", _text("note"))

    return act(
        task_id,
        "review",
        step,
        lambda task: "审核通过，事项已办结" if task.status == "closed" else "已退回承办单位继续办理",
    )


@bp.post("/<int:task_id>/suspend")
def suspend(task_id: int):
    return act(task_id, "suspend", lambda s, a: svc.suspend(s, a, task_id, _text("reason")), "事项已暂缓办理")


@bp.post("/<int:task_id>/resume")
def resume(task_id: int):
    return act(task_id, "resume", lambda s, a: svc.resume(s, a, task_id, _text("note")), "事项已恢复办理")


@bp.post("/<int:task_id>/cancel")
def cancel(task_id: int):
    return act(task_id, "cancel", lambda s, a: svc.cancel(s, a, task_id, _text("reason")), "事项已撤销")


@bp.post("/<int:task_id>/reopen")
def reopen(task_id: int):
    return act(
        task_id, "reopen", lambda s, a: svc.reopen(s, a, task_id, _text("reason")), "事项已重新打开，退回承办单位办理"
    )


@bp.post("/<int:task_id>/reassign")
def request_reassign(task_id: int):
    window = current_app.config["TRACKER"].reassign_window_workdays
    return act(
        task_id,
        "request_reassign",
        lambda s, a: task_requests.request_reassign(
            s, a, task_id, _text("reason"), _int("suggested_department_id"), window_workdays=window
        ),
        "改派申请已提交，请等待督查室审核",
    )


@bp.post("/<int:task_id>/reassign/<int:request_id>/decide")
def decide_reassign(task_id: int, request_id: int):
    def step(s: Session, a: Actor):
        _request_of(s, ChangeRequest, task_id, request_id, "改派申请")
        return task_requests.decide_reassign(
            s, a, request_id, _decision(), _int("new_lead_department_id"), _text("note")
        )

    return act(
        task_id,
        "decide_reassign",
        step,
        lambda req: "已同意改派，事项已交新的牵头单位签收" if req.status == RequestStatus.APPROVED else "已不同意改派",
    )


@bp.post("/<int:task_id>/change")
def request_change(task_id: int):
    return act(
        task_id,
        "request_change",
        lambda s, a: task_requests.request_change(
            s,
            a,
            task_id,
            _text("reason"),
            lead_department_id=_int("lead_department_id"),
            requirement=_text("requirement") or None,
            title=_text("title") or None,
        ),
        "变更申请已提交，请等待审核",
    )


@bp.post("/<int:task_id>/change/<int:request_id>/decide")
def decide_change(task_id: int, request_id: int):
    def step(s: Session, a: Actor):
        _request_of(s, ChangeRequest, task_id, request_id, "变更申请")
        return task_requests.decide_change(s, a, request_id, _decision(), _text("note"))

    return act(
        task_id,
        "decide_change",
        step,
        lambda req: "已同意变更" if req.status == RequestStatus.APPROVED else "已不同意变更",
    )


@bp.post("/<int:task_id>/remind")
def remind(task_id: int):
    return act(task_id, "remind", lambda s, a: task_chasing.remind(s, a, task_id, _text("message")), "已催办牵头单位")


def _notice_path(escalation_id: int) -> str | None:
    """The office's printable 督办通知单, if that page exists in this build."""
    path = f"/office/escalations/{escalation_id}/notice"
    try:
        current_app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        return None
    return path


@bp.post("/<int:task_id>/escalate")
def escalate(task_id: int):
    def step(s: Session, a: Actor):
        level = _int("level") or MANUAL_DEFAULT_LEVEL
        return task_chasing.escalate(s, a, task_id, _text("reason"), level)

    return act(
        task_id,
        "escalate",
        step,
        lambda esc: f"已发出督办通知（{esc.notice_no}）",
        redirect_to=lambda esc: _notice_path(esc.id),
    )


@bp.post("/<int:task_id>/approve")
def leader_approve(task_id: int):
    return act(
        task_id,
        "leader_approve",
        lambda s, a: svc.leader_approve(s, a, task_id, _text("note")),
        "已审核同意，事项已交办",
    )


@bp.post("/<int:task_id>/reject")
def leader_reject(task_id: int):
    return act(
        task_id,
        "leader_reject",
        lambda s, a: svc.leader_reject(s, a, task_id, _text("reason")),
        "已退回督查室修改",
        # a draft again, which leaders do not see: back to the portfolio, not to a 404
        redirect_to=lambda task: _safe_next(url_for("leader.portfolio")),
    )
