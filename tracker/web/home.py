"""The landing page: a summary of the district's open work."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, render_template

from tracker.db import get_session
from tracker.services.derived import Horizon, is_due_soon, is_overdue, is_running
from tracker.models import Task

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    session = get_session()
    settings = current_app.config["TRACKER"]
    h = Horizon.build(session, settings.due_soon_workdays)
    counts = session.execute(
        sa.select(
            sa.func.count().filter(is_running()),
            sa.func.count().filter(is_overdue(h)),
            sa.func.count().filter(is_due_soon(h)),
            sa.func.count().filter(Task.status == "closed"),
        ).select_from(Task)
    ).one()
    return render_template("home.html", today=h.today, open=counts[0], overdue=counts[1],
                           due_soon=counts[2], closed=counts[3])


@bp.get("/healthz")
def healthz():
    get_session().execute(sa.text("SELECT 1"))
    return jsonify({"status": "ok"})
