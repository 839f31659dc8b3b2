"""The web importer: upload a ledger (台账), a 建议/提案 交办清单 or a
department list (单位名录), correct the recognised columns, watch the dry run, confirm,
see what was created.

Thin views over ``tracker.services.ledger.jobs``: each request commits once; the
dry run and the commit run in a background thread started after the request's
own commit (``ledger.jobs.launch``). The office imports all three; the administrator
department lists only. Another user's job is a 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlmodel import select

from importers.mapping import FIELD_LABELS_BY_KIND
from tracker import db
from tracker.db import get_session
from tracker.errors import Conflict, DomainError, ValidationFailed
from tracker.http.login import current_actor
from tracker.http.params import page_number
from tracker.models import DEPARTMENT_KIND_LABELS, Role, Source, Task
from tracker.services.ledger import jobs as svc

bp = Blueprint("imports", __name__, url_prefix="/imports")

PER_PAGE = 100
ACTION_LABELS = {"create": "新建", "update": "更新进展", "unchanged": "无变化", "duplicate": "重复", "error": "有错误"}
KIND_LABELS = {"date": "日期", "recurring": "周期报送", "ongoing": "长期", "immediate": "立即办理"}


@bp.before_request
def _office_or_admin():
    """The office, and the administrator for department lists (login is checked globally first)."""
    if current_user.is_authenticated and current_user.row.role not in (Role.SUPERVISOR, Role.ADMIN):
        abort(403)


@bp.context_processor
def _labels():
    return {
        "STATUS_LABELS": svc.STATUS_LABELS,
        "KINDS": svc.KINDS,
        "ACTION_LABELS": ACTION_LABELS,
        "MOTION_KINDS": svc.MOTION_KINDS,
        "DEADLINE_KINDS": KIND_LABELS,
        "UNIT_KINDS": {k.value: v for k, v in DEPARTMENT_KIND_LABELS.items()},
    }


def _folder():
    return svc.folder_of(current_app.instance_path)


def _kinds() -> dict[str, str]:
    actor = current_actor()
    return {k: v for k, v in svc.KINDS.items() if svc.may_import(actor, k)}


def _render_index(errors: dict | None = None, status: int = 200, kind: str | None = None):
    s = get_session()
    kinds = _kinds()
    return render_template(
        "imports/index.html",
        jobs=svc.recent_jobs(s, current_actor()),
        kinds=kinds,
        kind=kind or next(iter(kinds)),
        errors=errors or {},
        max_size=svc.LIMITS.human_size(svc.LIMITS.max_file_bytes),
    ), status


@bp.get("/")
def index():
    s = get_session()
    svc.cleanup(s, _folder())
    s.commit()
    return _render_index(kind=request.args.get("kind"))


@bp.post("/")
def upload():
    s = get_session()
    kind = request.form.get("kind", "ledger")
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed("请选择要导入的文件", fields={"file": "请选择文件"})
        svc.cleanup(s, _folder())
        job = svc.create_job(s, current_actor(), kind, upload.stream, upload.filename, _folder())
    except ValidationFailed as exc:
        s.rollback()
        return _render_index({"file": exc.message}, 422, kind)
    s.commit()
    return redirect(url_for(".job", job_id=job.id))


def _job(job_id: int, *, light: bool = False):
    s = get_session()
    job = svc.get_job(s, current_actor(), job_id, light=light)
    if svc.check_stale(s, job):
        s.commit()
    return s, job


def _rows_page(report: dict, show: str, page: int) -> tuple[list[dict], int]:
    rows = report.get("rows") or []
    if show == "problems":
        rows = [r for r in rows if r.get("errors") or r.get("warnings")]
    elif show == "errors":
        rows = [r for r in rows if r.get("errors")]
    elif show in ACTION_LABELS:
        rows = [r for r in rows if r.get("action") == show]
    pages = max(1, -(-len(rows) // PER_PAGE))
    page = min(max(1, page), pages)
    return rows[(page - 1) * PER_PAGE : page * PER_PAGE], pages


@bp.get("/<int:job_id>")
def job(job_id: int):
    s, job = _job(job_id)
    report = job.report or {}
    show = request.args.get("show", "")
    page = page_number(request.args.get("page"))
    rows, pages = _rows_page(report, show, page) if report.get("stage") in ("plan", "result") else ([], 1)
    options = {k: v for k, v in (job.options or {}).items() if k != "scan"}
    return render_template(
        "imports/job.html",
        job=job,
        report=report,
        rows=rows,
        pages=pages,
        page=min(page, pages),
        show=show,
        options=options,
        fields=svc.FIELDS[job.kind],
        field_labels=FIELD_LABELS_BY_KIND[job.kind],
        why_not=svc.why_not(report) if report.get("stage") == "plan" else "",
        can_restart=svc.can_restart(job, _folder()),
        scan=svc.scan_of(job),
        progress=svc.progress(job),
        sources=_sources(report) if job.status == "done" and job.kind == "ledger" else [],
        page_url=lambda n: url_for(".job", job_id=job.id, show=show or None, page=n),
    )


def _sources(report: dict) -> list[tuple[int, str, int]]:
    """The created tasks' sources with how many each, for links to the office task
    list filtered by source."""
    ids = [r["task_id"] for r in report.get("rows", []) if r.get("action") == "create" and r.get("task_id")]
    s = get_session()
    per_source: dict[int, int] = {}
    for part in range(0, len(ids), 900):
        for source_id in s.exec(select(Task.source_id).where(Task.id.in_(ids[part : part + 900]))):
            if source_id is not None:
                per_source[source_id] = per_source.get(source_id, 0) + 1
    if not per_source:
        return []
    titles = dict(s.exec(select(Source.id, Source.title).where(Source.id.in_(list(per_source)))).all())
    return [(sid, titles.get(sid, ""), n) for sid, n in sorted(per_source.items())]


@bp.get("/<int:job_id>/progress")
def progress(job_id: int):
    _s, job = _job(job_id, light=True)
    body = svc.progress(job)
    body["url"] = url_for(".job", job_id=job.id)
    return jsonify(body)


@bp.post("/<int:job_id>/plan")
def plan(job_id: int):
    s, job = _job(job_id)
    try:
        options = svc.read_options(job, request.form)
        token = svc.start_plan(s, current_actor(), job, options, _folder())
    except DomainError as exc:
        s.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".job", job_id=job_id))
    s.commit()
    svc.launch(db.engine(), job.id, token, _folder())
    return redirect(url_for(".job", job_id=job.id))


@bp.post("/<int:job_id>/confirm")
def confirm(job_id: int):
    s, job = _job(job_id)
    try:
        token = svc.start_commit(s, current_actor(), job)
    except Conflict as exc:
        s.rollback()
        flash(exc.message, "info" if job.status in ("done", "committing") else "error")
        return redirect(url_for(".job", job_id=job_id))
    except DomainError as exc:
        s.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".job", job_id=job_id))
    s.commit()
    svc.launch(db.engine(), job.id, token, _folder())
    return redirect(url_for(".job", job_id=job.id))
