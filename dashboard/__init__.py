"""The Plotly Dash board, mounted inside the Flask app at /dashboard/.

``init_dashboard(server)`` builds one Dash app on the Flask server (the
okomarov/dash_on_flask shape) and registers itself under
``server.extensions["dash"]`` so the navigation offers it. Every path under
/dashboard/ is behind the app-wide login guard (``tracker.http.login``); on top of
that this module

- refuses the board to roles with no business on it (the administrator);
- exempts Dash's JSON callback endpoint from the form CSRF check but accepts
  only same-origin JSON POSTs there (a cross-site form cannot send JSON, and the
  session cookie is SameSite=Lax);
- sends a CSP for /dashboard/ that adds only the hashes of Dash's own inline
  scripts (``app.csp_hashes()``) to ``script-src 'self'``.

Row-level permissions are applied inside each callback by the board service.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import dash
from flask import Blueprint, Flask, abort, current_app, render_template, request, send_file
from flask_login import current_user

from dashboard.callbacks import register
from dashboard.layout import layout
from tracker import clock
from tracker.db import get_session
from tracker.http.errors import HTTP_MESSAGES, error_response
from tracker.http.login import current_actor
from tracker.http.params import page_number
from tracker.http.security import CSP, csrf
from tracker.rules.overdue import Horizon
from tracker.services.figures.board import BoardFilter, overdue_filter
from tracker.services.ledger.export import export_ledger
from tracker.services.tasks import queries
from tracker.services.tasks.queries import TaskFilter
from tracker.workflow import Party, status_label

PREFIX = "/dashboard/"
BOARD_ROLES = {"supervisor", "leader", "clerk"}

bp = Blueprint("board", __name__, url_prefix="/dashboard", template_folder="templates")


def _board_filter_args():
    return BoardFilter.from_args(request.args)


@bp.get("/tasks")
def tasks():
    """The list behind a leader's board numbers (the office and departments have their own lists)."""
    session = get_session()
    h = Horizon.build(session, current_app.config["TRACKER"].due_soon_workdays)
    f = TaskFilter.from_args(request.args)
    page = queries.list_tasks(
        session, current_actor(), f, h, sort="due", page=page_number(request.args.get("page")), per_page=50
    )
    _assist, leader_names = queries.names_for(session, [r.Task.id for r in page.rows])
    return render_template(
        "board/tasks.html",
        page=page,
        args=f.to_args(),
        leader_names=leader_names,
        status_text=lambda s: status_label(s, Party.LEADER),
    )


@bp.get("/export.xlsx")
def export():
    """The overdue grid's rows (same filters) as the standard ledger workbook (台账)."""
    session = get_session()
    h = Horizon.build(session, current_app.config["TRACKER"].due_soon_workdays)
    out = io.BytesIO()
    export_ledger(
        session, current_actor(), out, overdue_filter(_board_filter_args()), h, title="逾期事项台账", sort="due"
    )
    out.seek(0)
    return send_file(
        out,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"逾期事项-{clock.today():%Y%m%d}.xlsx",
    )


def _dependency(item) -> bool:
    """An input, state or output of a callback request: ``{"id": …, "property": …}``, or a list of
    them for a wildcard (ALL)."""
    if isinstance(item, list):
        return all(_dependency(i) for i in item)
    return isinstance(item, dict) and isinstance(item.get("id"), (str, dict)) and isinstance(item.get("property"), str)


def _callback_body(callback_map: dict) -> bool:
    """Whether the callback request's body has the shape Dash's dispatcher reads."""
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        return False
    if not isinstance(body, dict) or not isinstance(body.get("output"), str) or body["output"] not in callback_map:
        return False
    outputs = body.get("outputs", [])
    changed = body.get("changedPropIds", [])
    return (
        all(
            isinstance(body.get(k, []), list) and all(_dependency(i) for i in body.get(k, []))
            for k in ("inputs", "state")
        )
        and _dependency(outputs if isinstance(outputs, list) else [outputs])
        and isinstance(changed, list)
        and all(isinstance(c, str) for c in changed)
    )


def _csp(dash_app) -> str:
    hashes = " ".join(dash_app.csp_hashes())
    return CSP.replace("script-src 'self'", f"script-src 'self' {hashes}")


def init_dashboard(server: Flask):
    """Mount the board on ``server`` at /dashboard/ and return the Dash app."""
    app = dash.Dash(
        __name__,
        server=server,
        url_base_pathname=PREFIX,
        assets_folder=str(Path(__file__).parent / "assets"),
        title="督办看板",
        update_title=None,
        serve_locally=True,
        compress=False,
        external_stylesheets=["/static/vendor/bootstrap-5.3.8/bootstrap.min.css"],
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.layout = layout
    register(app)
    server.register_blueprint(bp)

    @server.errorhandler(dash.exceptions.DependencyException)
    def _no_such_bundle(exc):
        # /dashboard/_dash-component-suites/<package>/<path> for a package or file Dash does not
        # serve: a missing file, not a server error.
        return error_response(404, "http_404", HTTP_MESSAGES[404])

    server.extensions["dash"] = app

    dispatch = server.view_functions[PREFIX + "_dash-update-component"]
    csrf.exempt(dispatch)
    policy: dict[str, str] = {}

    @server.before_request
    def _board_guard():
        if not request.path.startswith(PREFIX) and request.path != PREFIX.rstrip("/"):
            return None
        # the login guard (registered earlier) has already sent anonymous callers away
        if not current_user.is_authenticated or current_user.row.role not in BOARD_ROLES:
            abort(403)
        if request.method == "POST":
            same_site = request.headers.get("Sec-Fetch-Site", "same-origin") in {"same-origin", "none"}
            origin = request.headers.get("Origin")
            if not request.is_json or not same_site or (origin and origin != request.host_url.rstrip("/")):
                abort(400)
            if request.path == PREFIX + "_dash-update-component" and not _callback_body(app.callback_map):
                abort(400)  # Dash reads the body as it expects it: anything else was its 500
        return None

    @server.after_request
    def _board_csp(resp):
        if request.path.startswith(PREFIX):
            if "csp" not in policy:  # hashes are known once every callback is registered
                policy["csp"] = _csp(app)
            resp.headers["Content-Security-Policy"] = policy["csp"]
            if "/_dash-component-suites/" not in request.path and "/assets/" not in request.path:
                resp.headers.setdefault("Cache-Control", "no-store")  # data, not code
        return resp

    return app
