"""Login, logout and password change: the pages. Who the caller is, and the guard that sends
anonymous callers here, live in ``tracker.http.login``; the sessions page in ``tracker.web.account``."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from tracker.db import get_session
from tracker.http import devices
from tracker.http.login import LoginUser, current_actor, current_session_id
from tracker.models import User
from tracker.services.accounts import sessions, signin
from tracker.services.organisation import directory as organisation

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("home.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("home.index")
    return target


def _client_ip() -> str:
    return request.remote_addr or ""


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    error = None
    username = ""
    if request.method == "POST":
        db = get_session()
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        device = devices.read(request)
        attempt = signin.Attempt(username, _client_ip(), device.trusts(username))
        refusal = signin.claim(db, attempt)
        db.commit()  # the try counts for every worker before the password is checked
        if refusal is not None:
            return render_template("auth/login.html", error=refusal.message, username=username), 429
        settings = current_app.config["TRACKER"]
        success = signin.check(db, attempt, password, user_agent=request.user_agent.string, demo_mode=settings.demo)
        db.commit()
        if success is None:
            error = "用户名或密码错误"
        else:
            session.clear()  # no session fixation: a fresh session on login
            login_user(LoginUser(success.user, token=success.token))
            target = "auth.change_password" if success.user.must_change_password else None
            resp = redirect(url_for(target) if target else _safe_next(request.args.get("next")))
            devices.remember(resp, device, username)
            return resp
    return render_template("auth/login.html", error=error, username=username), (401 if error else 200)


@bp.post("/logout")
@login_required
def logout():
    if current_session_id() is not None:
        db = get_session()
        sessions.logout(db, current_actor(), current_session_id())
        db.commit()
    logout_user()
    session.clear()
    flash("您已退出登录", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    errors = {}
    if request.method == "POST":
        db = get_session()
        row = db.get(User, current_user.id)
        try:
            organisation.change_password(
                db,
                current_actor(),
                row,
                request.form.get("old_password", ""),
                request.form.get("new_password", ""),
                request.form.get("confirm", ""),
                keep_session=current_session_id(),
            )
        except organisation.ValidationFailed as exc:
            errors = exc.fields or {"_": exc.message}
        else:
            db.commit()
            flash("密码已修改，其他设备上的登录已全部退出", "success")
            return redirect(url_for("home.index"))
    return render_template("auth/password.html", errors=errors), (422 if errors else 200)
