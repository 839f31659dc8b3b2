"""Pages: my login sessions (退出其他设备 / 退出所有设备), an administrator ending a user's
sessions, and the office's list of throttled logins with its unlock action.

Each POST calls one service of ``tracker/services/accounts/`` (which writes the audit event) and
commits once."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from tracker import clock
from tracker.db import get_session
from tracker.http.login import current_actor, current_session_id
from tracker.models import Role
from tracker.services.accounts import sessions, throttle
from tracker.services.organisation import directory as organisation
from tracker.web.access import roles_required

bp = Blueprint("account", __name__)


def _limits() -> sessions.Limits:
    return sessions.Limits.of(current_app.config["TRACKER"])


@bp.get("/account/sessions")
def my_sessions():
    rows = sessions.active(get_session(), current_user.id, _limits())
    return render_template(
        "account/sessions.html",
        rows=rows,
        current=current_session_id(),
        limits=_limits(),
        now=clock.now(),
        labels=sessions.REASON_LABELS,
    )


@bp.post("/account/sessions/<session_id>/revoke")
def revoke_mine(session_id: str):
    db = get_session()
    sessions.revoke(db, current_actor(), current_user.id, session_id)
    db.commit()
    if session_id == current_session_id():
        logout_user()
        session.clear()
        flash("您已退出登录", "info")
        return redirect(url_for("auth.login"))
    flash("已让该设备退出登录", "success")
    return redirect(url_for("account.my_sessions"))


@bp.post("/account/sessions/others")
def sign_out_others():
    db = get_session()
    count = sessions.end_all(db, current_actor(), current_user.id, reason="everywhere", keep=current_session_id())
    db.commit()
    flash(f"已退出其他 {count} 个设备上的登录" if count else "没有其他设备登录", "success")
    return redirect(url_for("account.my_sessions"))


@bp.post("/account/sessions/all")
def sign_out_everywhere():
    db = get_session()
    sessions.end_all(db, current_actor(), current_user.id, reason="everywhere")
    db.commit()
    logout_user()
    session.clear()
    flash("已退出所有设备上的登录", "info")
    return redirect(url_for("auth.login"))


# --- an administrator ends a user's sessions (the user's page: admin/user_form.html) ------------


@bp.post("/admin/users/<int:user_id>/sessions/<session_id>/revoke")
@roles_required(Role.ADMIN)
def admin_revoke(user_id: int, session_id: str):
    db = get_session()
    sessions.revoke(db, current_actor(), user_id, session_id, by_admin=True)
    db.commit()
    flash("已强制该会话下线", "success")
    return redirect(url_for("admin.user_edit", user_id=user_id) + "#sessions")


@bp.post("/admin/users/<int:user_id>/sessions/revoke")
@roles_required(Role.ADMIN)
def admin_revoke_all(user_id: int):
    db = get_session()
    user = organisation.get_user(db, user_id)
    count = sessions.end_all(db, current_actor(), user.id, reason="admin")
    db.commit()
    flash(f"已强制“{user.username}”的 {count} 个会话下线", "success")
    return redirect(url_for("admin.user_edit", user_id=user_id) + "#sessions")


# --- throttled logins (the office and administrators) -------------------------------------------


@bp.get("/admin/throttled")
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def throttled():
    return render_template(
        "account/throttled.html",
        rows=throttle.throttled(get_session()),
        kinds=throttle.KIND_LABELS,
        free=throttle.FREE_TRIES,
        is_admin=current_user.row.role == Role.ADMIN,
    )


@bp.post("/admin/throttled/unlock")
@roles_required(Role.SUPERVISOR, Role.ADMIN)
def unlock():
    kind, subject = request.form.get("kind", ""), request.form.get("subject", "")
    db = get_session()
    throttle.unlock(db, current_actor(), kind, subject)
    db.commit()
    flash(f"已解除“{subject}”的登录限制", "success")
    return redirect(url_for("account.throttled"))


_BROWSERS = (
    ("DingTalk", "钉钉"),
    ("wxwork", "企业微信"),
    ("MicroMessenger", "微信"),
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Windows", "Windows"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


@bp.app_template_filter("device_label")
def device_label(user_agent: str) -> str:
    """ "Chrome · Windows" from a User-Agent string, for people; the raw string is the cell's title."""
    browser = next((name for key, name in _BROWSERS if key in user_agent), "")
    system = next((name for key, name in _SYSTEMS if key in user_agent), "")
    return " · ".join(x for x in (browser, system) if x) or "未知设备"
