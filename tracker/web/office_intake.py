"""The office's split page (拆分议定事项): minutes or an instruction, pasted or read from a file,
proposed as a table of draft tasks with every field's source marked, then saved all or none.

Routes on the office blueprint (``tracker.web.office``), whose guard admits the office only."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from tracker.db import get_session
from tracker.errors import ValidationFailed
from tracker.http.login import current_actor
from tracker.http.params import to_int
from tracker.models import Source, Urgency
from tracker.services.intake import decompose, documents
from tracker.services.intake.deadlines import describe_recurrence
from tracker.services.tasks import sources as source_svc
from tracker.web.office import _departments, _leaders, bp


def _rows_from_form(form) -> list[decompose.DraftRow]:
    """The editable table as posted: rows-<i>-<column>."""
    count = min(to_int(form.get("row_count")) or 0, 200)
    rows = []
    for i in range(count):
        values = {name: (form.get(f"rows-{i}-{name}") or "").strip() for name in decompose.ROW_FIELDS}
        rows.append(decompose.DraftRow(include=form.get(f"rows-{i}-include") == "1", **values))
    return rows


def _render(src: Source, text: str, rows, status: int = 200, message: str = "", notes=(), reading=None):
    """``reading``: the proposal with the resolvers it was read with, for the marked text."""
    marks, mentions = [], []
    if reading is not None:
        proposal, resolvers = reading
        marks = decompose.marked_text(text, proposal, resolvers.full_name)
        mentions = decompose.mentions(proposal, resolvers.full_name)
    return render_template(
        "office/decompose.html",
        src=src,
        text=text,
        rows=rows,
        message=message,
        notes=notes,
        marks=marks,
        mentions=mentions,
        department_names=[d.name for d in _departments()],
        leader_names=[ldr.name for ldr in _leaders()],
        urgencies=list(Urgency),
        describe_recurrence=describe_recurrence,
        excerpt=lambda span: decompose.excerpt(text, span),
    ), status


@bp.route("/sources/<int:source_id>/decompose", methods=["GET", "POST"])
def decompose_source(source_id: int):
    """Paste the 议定事项, check the proposed table, then save every row or none."""
    s = get_session()
    src = source_svc.get_source(s, source_id)
    if request.method == "GET":
        return _render(src, src.body, None)
    action = request.form.get("action", "split")
    text = request.form.get("text", "")
    notes: list[str] = []
    if action == "read":  # a Word, PDF or text file, a scan or a photo instead of pasted text
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return _render(src, text, None, 422, "请选择要读取的文件")
        try:
            doc = documents.read_document(upload.read(), upload.filename)
        except ValidationFailed as exc:
            return _render(src, text, None, 422, exc.message)
        text, notes, action = doc.text, doc.warnings, "split"
    if action == "split":
        resolvers = decompose.Resolvers.load(s)
        proposal = decompose.propose_resolved(s, src, text, resolvers=resolvers)
        if not proposal.rows:
            return _render(src, text, None, 422, "没有找到可拆分的议定事项，请粘贴会议纪要的议定事项部分")
        return _render(src, text, proposal.rows, notes=notes, reading=(proposal, resolvers))
    rows = _rows_from_form(request.form)
    if action == "check":
        decompose.resolve_rows(s, src, rows)
        return _render(src, text, rows)
    if action not in ("draft", "assign"):
        abort(400)
    try:
        created = decompose.save_rows(s, current_actor(), src, rows, assign=action == "assign")
    except ValidationFailed as exc:
        s.rollback()
        return _render(src, text, rows, 422, exc.message)
    s.commit()
    verb = "登记并交办" if action == "assign" else "登记为草稿"
    flash(f"已{verb} {len(created)} 项督办事项：" + "、".join(t.code for t in created), "success")
    return redirect(url_for(".source", source_id=src.id))
