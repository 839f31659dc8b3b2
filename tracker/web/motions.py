"""Pages for 人大建议/政协提案: the office's list, import, review, feedback, figures and export;
the lead unit's 面商, answer and 改派 request; the co-handling unit's opinion.

Thin: each POST parses the form, calls one service in ``tracker.services.motions.handling``
and commits once. The office acts at /<id>/office, units at /<id>/unit (the
service decides what the unit may do from its part in the task).
"""

from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from sqlmodel import select

from tracker import clock
from tracker.db import get_session
from tracker.errors import DomainError, NotFound, NotPermitted, ValidationFailed
from tracker.http.login import current_actor
from tracker.http.params import parse_date, to_int
from tracker.models import Department, Leader, Role, Task
from tracker.services.ledger import jobs as import_svc
from tracker.services.motions import handling as motions
from tracker.services.motions import limits as motion_limits
from tracker.services.motions import publishing as motion_publishing
from tracker.services.tasks import attachments
from tracker.services.tasks import lifecycle as tasks
from tracker.web.access import roles_required
from tracker.workflow import Party

bp = Blueprint("motions", __name__, url_prefix="/motions")
FILTER_ARGS = ("kind", "session", "department_id", "category", "key", "stage")


DATE_LABELS = {"met_on": "面商日期", "promise_date": "承诺办结日期", "received_on": "收到日期"}


def _date(name: str) -> date | None:
    return parse_date(request.form.get(name), label=DATE_LABELS.get(name, "日期"), field=name, error=ValidationFailed)


def _done(motion_id: int, fn):
    """Run one service call, commit, and come back to the record with a message."""
    s = get_session()
    try:
        message = fn(s)
        s.commit()
        flash(message, "success")
    except (NotPermitted, NotFound) as exc:
        s.rollback()
        attachments.discard_pending(s)
        abort(exc.http_status)
    except DomainError as exc:
        s.rollback()
        attachments.discard_pending(s)
        flash(exc.message, "error")
    return redirect(url_for("motions.show", motion_id=motion_id))


@bp.get("/")
@roles_required(Role.SUPERVISOR, Role.CLERK)
def index():
    s = get_session()
    actor = current_actor()
    a = request.args
    dep = to_int(a.get("department_id"))
    rows = motions.list_motions(
        s,
        actor,
        kind=a.get("kind", ""),
        session_name=a.get("session", ""),
        department_id=dep,
        category=a.get("category", ""),
        key_only=a.get("key") == "1",
        stage=a.get("stage", ""),
    )
    names = dict(s.exec(select(Department.id, Department.name)).all())
    return render_template(
        "motions/index.html",
        rows=rows,
        names=names,
        args=a,
        values=motions.filter_values(s),
        departments=sorted(names.items(), key=lambda x: x[1]),
        m=motions,
        is_office=actor.is_office,
    )


@bp.post("/import")
@roles_required(Role.SUPERVISOR)
def import_list():
    """The list goes through the web importer like any upload: recognised columns, a
    dry run (预检) that writes nothing, then 确认导入; the 类别 and 届次 chosen here
    are step 1's options."""

    s = get_session()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要导入的建议提案清单（.xlsx、.xls 或 .csv）", "error")
        return redirect(url_for("motions.index"))
    kind = request.form.get("kind", "")
    preset = {
        "motion_kind": kind if kind in motions.KIND_LABELS else "",
        "session_name": " ".join(request.form.get("session", "").split())[:60],
    }
    folder = import_svc.folder_of(current_app.instance_path)
    try:
        import_svc.cleanup(s, folder)
        job = import_svc.create_job(
            s, current_actor(), "motions", upload.stream, upload.filename, folder, preset=preset
        )
    except DomainError as exc:
        s.rollback()
        flash(exc.message, "error")
        return redirect(url_for("motions.index"))
    s.commit()
    return redirect(url_for("imports.job", job_id=job.id))


@bp.get("/<int:motion_id>")
@roles_required(Role.SUPERVISOR, Role.CLERK)
def show(motion_id: int):
    s = get_session()
    actor = current_actor()
    try:
        motion, task, who = motions.get(s, actor, motion_id)
    except NotFound:
        abort(404)
    names = dict(s.exec(select(Department.id, Department.name)).all())
    steps = motions.steps(s, motion.id)
    assisting_ids = tasks.assisting_ids(s, task.id)
    my_opinion = next(
        (
            st
            for st in steps
            if st.kind == "opinion"
            and st.round == motion.round
            and st.department_id == actor.department_id
            and st.done_on is None
        ),
        None,
    )
    return render_template(
        "motions/show.html",
        motion=motion,
        task=task,
        who=who,
        Party=Party,
        names=names,
        steps=steps,
        feedbacks=motions.feedbacks(s, motion.id),
        m=motions,
        today=clock.today(),
        assisting=[names[i] for i in assisting_ids],
        my_opinion=my_opinion,
        assisting_ids=assisting_ids,
        leaders=motions.leaders(s),
        label=motions.label(motion),
        departments=sorted(names.items(), key=lambda x: x[1]),
        leader_name=s.get(Leader, motion.supervising_leader_id).name if motion.supervising_leader_id else "",
        reassign_last=motion_limits.limit_due(
            s, clock.local_date(task.assigned_at), motion_limits.load_limits(s)["reassign"]
        )
        if task.assigned_at
        else None,
    )


@bp.post("/<int:motion_id>/unit")
@roles_required(Role.CLERK)
def unit_action(motion_id: int):
    actor, f = current_actor(), request.form
    step = f.get("step", "")

    def run(s):
        motions.get(s, actor, motion_id)  # another unit's item does not exist for it
        if step == "opinion":
            motions.send_opinion(s, actor, motion_id, f.get("text", ""))
            return "协办意见已报送主办单位"
        if step == "consult":
            motions.record_consult(
                s, actor, motion_id, _date("met_on") or clock.today(), f.get("form", ""), f.get("text", "")
            )
            return "面商沟通情况已记录"
        if step == "answer":
            motions.answer(
                s,
                actor,
                motion_id,
                f.get("category", ""),
                f.get("summary", ""),
                request.files.get("file") if request.files.get("file") and request.files["file"].filename else None,
                promise_date=_date("promise_date"),
            )
            return "答复已提交督查室审核"
        if step == "reassign":
            dep = to_int(f.get("suggested_department_id"))
            motions.request_reassign(s, actor, motion_id, f.get("reason", ""), dep)
            return "改派申请已提交督查室"
        if step == "promise":
            motions.keep_promise(s, actor, motion_id, f.get("text", ""))
            return "落实情况已登记"
        raise ValidationFailed("未知的操作")

    return _done(motion_id, run)


@bp.post("/<int:motion_id>/office")
@roles_required(Role.SUPERVISOR)
def office_action(motion_id: int):
    actor, f = current_actor(), request.form
    step = f.get("step", "")

    def run(s):
        if step in ("approve_reassign", "refuse_reassign"):
            motions.decide_reassign(
                s,
                actor,
                motion_id,
                step == "approve_reassign",
                to_int(f.get("new_lead_department_id")),
                f.get("note", ""),
            )
            return "改派申请已处理"
        if step in ("approve_answer", "return_answer"):
            motions.review_answer(s, actor, motion_id, step == "approve_answer", f.get("note", ""))
            return "答复已审核通过，可以发出" if step == "approve_answer" else "答复已退回主办单位"
        if step == "feedback":
            m = motions.record_feedback(
                s, actor, motion_id, f.get("result", ""), f.get("note", ""), _date("received_on")
            )
            return "满意度已登记" + ("，已转入第二轮办理" if m.round == 2 and m.stage == "handling" else "")
        if step == "publish":
            motion_publishing.set_publish(s, actor, motion_id, f.get("publish") == "1", f.get("reason", ""))
            return "公开设置已保存"
        if step == "assign":
            motions.get(s, actor, motion_id)  # an unknown id is a 404, not a message
            motion = motions.assign_batch(s, actor, [motion_id])[0]
            return f"已交办，答复时限 {s.get(Task, motion.task_id).due_date.isoformat()}"
        if step == "edit_draft":
            motions.update_draft(
                s,
                actor,
                motion_id,
                lead_department_id=to_int(f.get("lead_department_id")),
                assisting_department_ids=[
                    i for i in map(to_int, f.getlist("assisting_department_ids")) if i is not None
                ],
                supervising_leader_id=to_int(f.get("supervising_leader_id")),
            )
            return "承办单位和领办领导已保存"
        raise ValidationFailed("未知的操作")

    return _done(motion_id, run)


@bp.post("/assign")
@roles_required(Role.SUPERVISOR)
def assign_selected():
    """交办 the motions ticked on the list, all or none; back to the list as it was filtered."""
    s = get_session()
    raw = request.form.getlist("motion_ids")
    ids = [to_int(v) for v in raw]
    back = url_for("motions.index", **{k: v for k, v in request.args.items() if k in FILTER_ARGS and v})
    if None in ids:
        flash("所选建议提案编号有误，请刷新页面后重新勾选", "error")
        return redirect(back)
    try:
        done = motions.assign_batch(s, current_actor(), ids)
        s.commit()
        flash(f"已交办{len(done)}件：" + "、".join(motions.label(m) for m in done), "success")
    except DomainError as exc:
        s.rollback()
        flash(exc.message, "error")
    return redirect(back)


@bp.get("/figures")
@roles_required(Role.SUPERVISOR)
def figures():
    s = get_session()
    a = request.args
    rows = motion_publishing.figures_by_unit(s, kind=a.get("kind", ""), session_name=a.get("session", ""))
    return render_template(
        "motions/figures.html",
        rows=rows,
        args=a,
        values=motions.filter_values(s),
        m=motions,
        limits=motion_limits.load_limits(s),
        unit_labels=motion_limits.UNIT_LABELS,
    )


@bp.post("/limits")
@roles_required(Role.SUPERVISOR)
def limits():
    s = get_session()
    data = {
        key: [request.form.get(f"amount_{key}", ""), request.form.get(f"unit_{key}", "")]
        for key in motion_limits.DEFAULT_LIMITS
        if f"amount_{key}" in request.form
    }
    try:
        motion_limits.save_limits(s, current_actor(), data)
        s.commit()
        flash("办理时限已保存，此后交办的建议提案按新时限计算", "success")
    except DomainError as exc:
        s.rollback()
        flash(exc.message, "error")
    return redirect(url_for("motions.figures"))


@bp.get("/export")
@roles_required(Role.SUPERVISOR)
def export():
    s = get_session()
    buf = io.BytesIO()
    motion_publishing.export_public(
        s, buf, kind=request.args.get("kind", ""), session_name=request.args.get("session", "")
    )
    buf.seek(0)
    return send_file(
        buf,
        as_attachment=True,
        download_name="建议提案办理结果公开.xlsx",
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
