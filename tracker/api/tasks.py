"""Tasks: list, detail, drafts, progress reports and every workflow step.

Thin: parse, call one service, commit once. The services decide visibility
(404 for a task the caller may not see) and permission (403/409)."""

from __future__ import annotations

from flask import current_app
from sqlmodel import select
from werkzeug.datastructures import MultiDict

from tracker.api import schemas as s
from tracker.api.blueprint import bp
from tracker.api.core import body, operation, parse, query, reply, validation_failed
from tracker.api.present import draft_values, horizon, local, task_detail, task_page, visible_task
from tracker.db import get_session
from tracker.errors import NotFound
from tracker.http.login import current_actor
from tracker.models import (
    ChangeKind,
    ChangeRequest,
    Department,
    ExtensionRequest,
    ProgressReport,
    RequestStatus,
    User,
)
from tracker.services.actors import own_part_only, parties
from tracker.services.chasing import by_hand as task_chasing
from tracker.services.tasks import lifecycle as svc
from tracker.services.tasks import queries
from tracker.services.tasks import requests as task_requests
from tracker.workflow import Action, check

TAG = "督办事项"
TASK_ID = {"task_id": "事项编号（id）"}


def _filter_args(q: s.TaskQuery) -> MultiDict:
    """The validated query as the strings TaskFilter.from_args reads: nothing
    unchecked from the query string reaches SQL."""
    pairs = []
    for name, value in q.model_dump(mode="json", exclude_defaults=True, exclude={"sort", "page", "per_page"}).items():
        for v in value if isinstance(value, list) else [value]:
            pairs.append((name, "1" if v is True else str(v)))
    return MultiDict(pairs)


@operation(
    bp,
    "GET",
    "/tasks",
    summary="事项列表",
    tag=TAG,
    query=s.TaskQuery,
    response=s.TaskPage,
    description="只返回调用者可见的事项：督查室看全部，承办单位看本单位牵头或协办的已交办事项，"
    "领导看分管和担任责任领导的事项。筛选参数与页面列表相同。",
)
def list_tasks():
    q = query(s.TaskQuery)
    session = get_session()
    flt = queries.TaskFilter.from_args(_filter_args(q))
    page = queries.list_tasks(
        session, current_actor(), flt, horizon(session), sort=q.sort, page=q.page, per_page=q.per_page
    )
    return reply(task_page(session, current_actor(), page))


@operation(
    bp,
    "GET",
    "/tasks/{task_id}",
    summary="事项详情（含时间节点、待审申请、可执行操作和办理记录）",
    tag=TAG,
    response=s.TaskDetail,
    path_params=TASK_ID,
)
def get_task(task_id: int):
    return reply(task_detail(get_session(), current_actor(), task_id))


@operation(
    bp,
    "POST",
    "/tasks",
    summary="登记事项（草稿，仅督查室）",
    tag=TAG,
    body=s.TaskCreate,
    response=s.TaskDetail,
    status=201,
)
def create_task():
    data = body(s.TaskCreate)
    session = get_session()
    actor = current_actor()
    task = svc.create_draft(session, actor, data)
    session.commit()
    return reply(task_detail(session, actor, task.id), 201)


@operation(
    bp,
    "PATCH",
    "/tasks/{task_id}",
    summary="修改草稿（仅督查室）",
    tag=TAG,
    body=s.TaskPatch,
    response=s.TaskDetail,
    errors=(409,),
    path_params=TASK_ID,
    description="只需给出要修改的字段。assisting_department_ids、leader_ids、milestones 给出时整体替换。",
)
def update_task(task_id: int):
    patch = body(s.TaskPatch)
    session = get_session()
    actor = current_actor()
    task, who = visible_task(session, actor, task_id)
    check(Action.EDIT_DRAFT, task.status, who)
    merged = draft_values(session, task)
    merged.update(patch.model_dump(exclude_unset=True))
    data = parse(s.TaskCreate, merged)
    svc.update_draft(session, actor, task_id, data)
    session.commit()
    return reply(task_detail(session, actor, task_id))


@operation(
    bp,
    "DELETE",
    "/tasks/{task_id}",
    summary="删除草稿（仅督查室）",
    tag=TAG,
    status=204,
    errors=(409,),
    path_params=TASK_ID,
)
def delete_task(task_id: int):
    session = get_session()
    svc.delete_draft(session, current_actor(), task_id)
    session.commit()
    return reply(None, 204)


@operation(
    bp,
    "GET",
    "/tasks/{task_id}/actions",
    summary="调用者现在可对该事项执行的操作",
    tag=TAG,
    response=s.ActionList,
    path_params=TASK_ID,
    description="按工作流（tracker.workflow.allowed）计算；没有待审申请时不列出相应的审核操作。",
)
def task_actions(task_id: int):
    detail = task_detail(get_session(), current_actor(), task_id)
    return reply(
        s.ActionList(
            task_id=detail.id,
            status=detail.status,
            status_label=detail.status_label,
            parties=detail.parties,
            actions=detail.actions,
        )
    )


# --- progress reports ------------------------------------------------------------


def _report_out(session, report: ProgressReport) -> s.ProgressReportOut:
    dep = session.get(Department, report.department_id) if report.department_id else None
    author = session.get(User, report.author_id) if report.author_id else None
    return s.ProgressReportOut(
        id=report.id,
        task_id=report.task_id,
        department=s.Ref(id=dep.id, name=dep.name) if dep else None,
        author_name=author.display_name if author else "",
        created_at=local(report.created_at),
        text=report.text,
        percent=report.percent,
        problems=report.problems,
        next_steps=report.next_steps,
        needs_coordination=report.needs_coordination,
    )


@operation(
    bp,
    "GET",
    "/tasks/{task_id}/progress-reports",
    summary="进展反馈列表（新的在前；协办单位只见本单位报送的）",
    tag=TAG,
    response=s.ProgressReportList,
    path_params=TASK_ID,
)
def list_reports(task_id: int):
    session, actor = get_session(), current_actor()
    _task, who = visible_task(session, actor, task_id)
    rows = queries.progress_reports(session, task_id, only_department=own_part_only(actor, who))
    return reply(s.ProgressReportList(items=[_report_out(session, r) for r in rows]))


@operation(
    bp,
    "POST",
    "/tasks/{task_id}/progress-reports",
    summary="报送进展（牵头单位；协办单位报送其承担部分）",
    tag=TAG,
    body=s.ReportIn,
    response=s.ProgressReportOut,
    status=201,
    errors=(409,),
    path_params=TASK_ID,
)
def create_report(task_id: int):
    data = body(s.ReportIn)
    session = get_session()
    report = svc.report_progress(session, current_actor(), task_id, data)
    session.commit()
    return reply(_report_out(session, report), 201)


# --- workflow steps --------------------------------------------------------------


def _request_for(
    session, actor, task_id: int, model, kinds: tuple[str, ...], action: Action, given: int | None, what: str
) -> int:
    """The request a decide_* step is about: the given one, which must belong to this
    task, or the task's pending one. Visibility and permission are checked first so
    a caller without the right learns nothing about requests."""
    task, who = visible_task(session, actor, task_id)
    svc.check_step(session, action, task, who)
    if given is not None:
        req = session.get(model, given)
        if req is None or req.task_id != task_id or (model is ChangeRequest and req.kind not in kinds):
            raise NotFound(f"该事项没有编号为 {given} 的{what}")
        return req.id
    stmt = select(model).where(model.task_id == task_id, model.status == RequestStatus.PENDING)
    if model is ChangeRequest:
        stmt = stmt.where(ChangeRequest.kind.in_(kinds))
    req = session.exec(stmt).first()
    if req is None:
        raise task_requests.none_pending(session, model, task_id, what, kinds or None)
    return req.id


def _check_remind_target(session, actor, task_id: int, department_id: int | None) -> None:
    """A reminder goes to the lead or an assisting department of the task, nobody else."""
    if department_id is None:
        return
    task, who = visible_task(session, actor, task_id)
    check(Action.REMIND, task.status, who)
    involved = {task.lead_department_id, *svc.assisting_ids(session, task.id)}
    if department_id not in involved:
        raise validation_failed({"department_id": "只能催办该事项的牵头单位或协办单位"})


def _record(kind: str, row) -> dict:
    out = {"type": kind, "id": row.id}
    for name in ("status", "notice_no", "new_due_date", "department_id", "level"):
        value = getattr(row, name, None)
        if value is not None:
            out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def _run(session, actor, task_id: int, act) -> dict | None:
    """Call the service function for one action; return what it created, if anything."""
    a = act.action
    window = current_app.config["TRACKER"].reassign_window_workdays
    if a == "acknowledge":
        svc.acknowledge(session, actor, task_id)
    elif a == "assign":
        svc.assign(session, actor, task_id)
    elif a == "submit_for_approval":
        svc.submit_for_approval(session, actor, task_id)
    elif a == "leader_approve":
        svc.leader_approve(session, actor, task_id, act.note)
    elif a == "leader_reject":
        svc.leader_reject(session, actor, task_id, act.reason)
    elif a in ("report", "report_part"):
        return _record("progress_report", svc.report_progress(session, actor, task_id, act))
    elif a == "request_extension":
        return _record(
            "extension_request", task_requests.request_extension(session, actor, task_id, act.new_due_date, act.reason)
        )
    elif a == "decide_extension":
        rid = _request_for(
            session, actor, task_id, ExtensionRequest, (), Action.DECIDE_EXTENSION, act.request_id, "延期申请"
        )
        return _record("extension_request", task_requests.decide_extension(session, actor, rid, act.approve, act.note))
    elif a == "request_close":
        return _record("close_request", task_requests.request_close(session, actor, task_id, act.summary))
    elif a == "approve_close":
        task_requests.review_close(session, actor, task_id, True, act.note)
    elif a == "return":
        task_requests.review_close(session, actor, task_id, False, act.note)
    elif a == "suspend":
        svc.suspend(session, actor, task_id, act.reason)
    elif a == "resume":
        svc.resume(session, actor, task_id, act.note)
    elif a == "cancel":
        svc.cancel(session, actor, task_id, act.reason)
    elif a == "reopen":
        svc.reopen(session, actor, task_id, act.reason)
    elif a == "request_reassign":
        return _record(
            "change_request",
            task_requests.request_reassign(
                session, actor, task_id, act.reason, act.suggested_department_id, window_workdays=window
            ),
        )
    elif a == "decide_reassign":
        rid = _request_for(
            session,
            actor,
            task_id,
            ChangeRequest,
            (ChangeKind.REASSIGN,),
            Action.DECIDE_REASSIGN,
            act.request_id,
            "改派申请",
        )
        return _record(
            "change_request",
            task_requests.decide_reassign(session, actor, rid, act.approve, act.new_lead_department_id, act.note),
        )
    elif a == "request_change":
        return _record(
            "change_request",
            task_requests.request_change(
                session,
                actor,
                task_id,
                act.reason,
                lead_department_id=act.lead_department_id,
                requirement=act.requirement,
                title=act.title,
            ),
        )
    elif a == "decide_change":
        rid = _request_for(
            session,
            actor,
            task_id,
            ChangeRequest,
            (ChangeKind.LEAD_CHANGE, ChangeKind.REQUIREMENT_CHANGE),
            Action.DECIDE_CHANGE,
            act.request_id,
            "变更申请",
        )
        return _record("change_request", task_requests.decide_change(session, actor, rid, act.approve, act.note))
    elif a == "remind":
        _check_remind_target(session, actor, task_id, act.department_id)
        return _record(
            "reminder", task_chasing.remind(session, actor, task_id, act.message, department_id=act.department_id)
        )
    elif a == "escalate":
        return _record("escalation", task_chasing.escalate(session, actor, task_id, act.reason, act.level))
    else:  # pragma: no cover - the request model admits only the actions above
        raise AssertionError(a)
    return None


@operation(
    bp,
    "POST",
    "/tasks/{task_id}/transitions",
    summary="执行工作流操作",
    tag=TAG,
    body=s.TransitionRequest,
    response=s.TransitionResult,
    errors=(409,),
    path_params=TASK_ID,
    description='请求体为 {"action": 操作, ...该操作的参数}。可执行的操作见 GET /tasks/{task_id}/actions；'
    "无权执行为 403，事项当前状态不允许为 409（illegal_transition），不支持的操作为 422"
    "（unknown_action）。编辑、删除草稿分别用 PATCH、DELETE /tasks/{task_id}。",
)
def transition(task_id: int):
    act = body(s.TransitionRequest, strip_tag=True).root
    session = get_session()
    actor = current_actor()
    result = _run(session, actor, task_id, act)
    session.commit()
    task = svc.get_task(session, task_id)
    detail = task_detail(session, actor, task_id) if parties(session, actor, task) else None
    return reply(s.TransitionResult(action=act.action, result=result, task=detail))
