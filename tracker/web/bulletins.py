"""Pages: 通报 (weekly and monthly bulletins) and the scoring weights (考核权重).

Who sees what (the permission matrix in tests/test_permission_matrix.py):
- the office (督查室) lists, reads, prints, exports and generates bulletins and
  edits the weights;
- leaders and departments read, print and export bulletins: a 通报 is published
  to every unit by nature (a department sees its own place in the ranking and
  the other units' overdue items, as on the printed notice);
- administrators edit the weights with the office (系统管理), but have no
  business with the bulletins themselves.
A bulletin's page is its printable form (print CSS, A4).
"""

from __future__ import annotations

import io

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from importers.bulletin_export import write_bulletin
from tracker import clock
from tracker.db import get_session
from tracker.errors import DomainError
from tracker.http.login import current_actor
from tracker.models import Role
from tracker.services.figures import bulletins, scoring
from tracker.web.access import roles_required

bp = Blueprint("bulletins", __name__, url_prefix="/bulletins")


@bp.app_template_filter("china_time")
def _china_time(value) -> str:
    """A stored UTC instant as China time (the bulletin's 生成时间)."""
    return value.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M") if value else ""


READERS = (Role.SUPERVISOR, Role.CLERK, Role.LEADER)


@bp.get("/")
@roles_required(*READERS)
def index():
    s = get_session()
    kind = request.args.get("kind", "")
    rows = bulletins.list_bulletins(s, kind if kind in bulletins.KINDS else None)
    return render_template(
        "bulletins/index.html",
        rows=rows,
        kind=kind,
        kinds=bulletins.KINDS,
        can_generate=current_user.row.role == Role.SUPERVISOR,
        last_week=bulletins.last_complete_period("week"),
        last_month=bulletins.last_complete_period("month"),
        form={},
        errors={},
    )


@bp.post("/generate")
@roles_required(Role.SUPERVISOR)
def generate():
    s = get_session()
    kind = request.form.get("kind", "")
    period = request.form.get("period", "").strip() or None
    try:
        bulletin = bulletins.generate_bulletin(s, kind, period, actor=current_actor())
    except DomainError as exc:
        s.rollback()
        return render_template(
            "bulletins/index.html",
            rows=bulletins.list_bulletins(s),
            kind="",
            kinds=bulletins.KINDS,
            can_generate=True,
            last_week=bulletins.last_complete_period("week"),
            last_month=bulletins.last_complete_period("month"),
            form=request.form,
            errors=exc.fields or {"_": exc.message},
            message=exc.message,
        ), exc.http_status
    s.commit()
    flash(f"已生成：{bulletin.data['title']}", "success")
    return redirect(url_for("bulletins.show", bulletin_id=bulletin.id))


@bp.get("/<int:bulletin_id>")
@roles_required(*READERS)
def show(bulletin_id: int):
    bulletin = bulletins.get(get_session(), bulletin_id)
    return render_template("bulletins/show.html", b=bulletin, d=bulletin.data or {}, labels=scoring.WEIGHT_LABELS)


@bp.get("/<int:bulletin_id>/export")
@roles_required(*READERS)
def export(bulletin_id: int):

    bulletin = bulletins.get(get_session(), bulletin_id)
    out = io.BytesIO()
    write_bulletin(out, bulletin.data or {})
    out.seek(0)
    name = ("督办周通报" if bulletin.kind == "week" else "督办月通报") + f"-{bulletin.period}.xlsx"
    return send_file(
        out,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=name,
    )


@bp.route("/weights", methods=["GET", "POST"])
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def weights():
    s = get_session()
    errors: dict = {}
    values = {k: str(v) for k, v in scoring.score_weights(s).items()}
    status = 200
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in scoring.WEIGHT_LABELS}
        try:
            scoring.set_weights(s, current_actor(), values)
        except DomainError as exc:
            s.rollback()
            errors, status = exc.fields or {"_": exc.message}, exc.http_status
        else:
            s.commit()
            flash("考核权重已保存，新生成的通报和每日考核快照将按新权重计分；已生成的通报不变。", "success")
            return redirect(url_for("bulletins.weights"))
    return render_template(
        "bulletins/weights.html",
        values=values,
        errors=errors,
        labels=scoring.WEIGHT_LABELS,
        defaults=scoring.DEFAULT_WEIGHTS,
        doc=scoring.__doc__,
        is_admin=current_user.row.role == Role.ADMIN,
    ), status
