"""The leader's page (分管事项): what is late in the portfolio, and what awaits approval.

Read-only apart from one-click 催办 and the approval of tasks the office
submitted; both post to the task endpoints, which re-check everything.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from tracker.db import get_session
from tracker.http.login import current_actor
from tracker.models import Role
from tracker.rules.overdue import Horizon, Light
from tracker.services.tasks import queries
from tracker.services.tasks.queries import TaskFilter
from tracker.web.access import roles_required
from tracker.workflow import Party, Status, status_label

bp = Blueprint("leader", __name__, url_prefix="/leader")

SECTION_LIMIT = 200
# Overdue first, then due soon (or a milestone missed), then the rest.
SECTIONS = [
    ("overdue", "逾期事项", TaskFilter(light=Light.RED.value), "due"),
    ("due_soon", "临期或节点滞后", TaskFilter(light=Light.YELLOW.value), "due"),
    ("on_track", "正常推进", TaskFilter(light=Light.GREEN.value), "due"),
    (
        "other",
        "已办结、暂缓或撤销",
        TaskFilter(status=[Status.CLOSED.value, Status.SUSPENDED.value, Status.CANCELLED.value]),
        "-updated",
    ),
]


@bp.get("/")
@roles_required(Role.LEADER)
def portfolio():
    session = get_session()
    actor = current_actor()
    h = Horizon.build(session, current_app.config["TRACKER"].due_soon_workdays)
    pending = queries.list_tasks(
        session, actor, TaskFilter(status=[Status.PENDING_APPROVAL.value]), h, per_page=SECTION_LIMIT
    )
    sections = []
    for key, title, flt, sort in SECTIONS:
        page = queries.list_tasks(session, actor, flt, h, sort=sort, per_page=SECTION_LIMIT)
        sections.append({"key": key, "title": title, "page": page})
    ids = [r.Task.id for r in pending.rows] + [r.Task.id for s in sections for r in s["page"].rows]
    assist_names, leader_names = queries.names_for(session, ids)
    return render_template(
        "leader/portfolio.html",
        pending=pending,
        sections=sections,
        today=h.today,
        assist_names=assist_names,
        leader_names=leader_names,
        limit=SECTION_LIMIT,
        status_text=lambda s: status_label(s, Party.LEADER),
    )
