"""The landing page: a summary of the work the user may see."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for

from tracker.db import get_session
from tracker.http.login import current_actor
from tracker.models import Role, Task
from tracker.rules.overdue import Horizon, is_due_soon, is_overdue, is_running
from tracker.services.actors import visible_clause

bp = Blueprint("home", __name__)

# Each role lands on its own working page once that page exists.
LANDING = {Role.CLERK: "department.inbox", Role.LEADER: "leader.portfolio", Role.ADMIN: "admin.index"}


@bp.get("/")
def index():
    actor = current_actor()
    landing = LANDING.get(actor.role)
    if landing and landing in current_app.view_functions:
        return redirect(url_for(landing))
    session = get_session()
    settings = current_app.config["TRACKER"]
    h = Horizon.build(session, settings.due_soon_workdays)
    counts = session.execute(
        sa.select(
            sa.func.count().filter(is_running()),
            sa.func.count().filter(is_overdue(h)),
            sa.func.count().filter(is_due_soon(h)),
            sa.func.count().filter(Task.status == "closed"),
        )
        .select_from(Task)
        .where(visible_clause(actor))
    ).one()
    return render_template(
        "home.html",
        today=h.today,
        open=counts[0],
        overdue=counts[1],
        due_soon=counts[2],
        closed=counts[3],
        soon_days=settings.due_soon_workdays,
    )


@bp.get("/favicon.ico")
def favicon():
    """Public, and writes no session: a browser asks for it by itself, often while the login form is
    being sent, and a login redirect here would answer with the anonymous session cookie, which
    could land after the login's and log the user straight out again."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/healthz")
def healthz():
    """For nginx, systemd and monitoring: 200 when the database answers, 503 when it does not."""
    try:
        get_session().execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        current_app.logger.exception("healthz: database unreachable")
        return jsonify({"status": "error", "database": "unreachable"}), 503
    return jsonify({"status": "ok"})
