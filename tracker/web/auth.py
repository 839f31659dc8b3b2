"""Login, logout and password change: the pages. Who the caller is, and the guard that sends
anonymous callers here, live in ``tracker.http.login``."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from tracker.db import get_session
from tracker.http.login import LoginUser, current_actor
from tracker.models import User
from tracker.services import access
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
        if access.is_throttled(db, username, _client_ip()):
            error = "登录失败次数过多，请15分钟后再试"
            return render_template("auth/login.html", error=error, username=username), 429
        user = organisation.authenticate(db, username, password)
        if user is None:
            access.record_failure(db, username, _client_ip())
            db.commit()
            error = "用户名或密码错误"
        else:
            access.clear_failures(db, username)
            access.require_change_of_demo_password(db, user, password, demo_mode=current_app.config["TRACKER"].demo)
            db.commit()
            session.clear()  # no session fixation: a fresh session on login
            login_user(LoginUser(user))
            if user.must_change_password:
                return redirect(url_for("auth.change_password"))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", error=error, username=username), (401 if error else 200)


@bp.post("/logout")
@login_required
def logout():
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
            )
        except organisation.ValidationFailed as exc:
            errors = exc.fields or {"_": exc.message}
        else:
            db.commit()
            login_user(LoginUser(row))  # the id changed with the hash
            flash("密码已修改", "success")
            return redirect(url_for("home.index"))
    return render_template("auth/password.html", errors=errors), (422 if errors else 200)
