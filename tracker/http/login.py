"""Who the caller is, for every page, API call and board callback.

Secure by default: a ``before_request`` guard lets anonymous callers reach
only the login page, static files and /healthz (the Dash prefix included:
PITFALLS says protecting the page alone leaks data through Dash's own routes).
The login page itself is an HTML view (``tracker.web.auth``); the endpoints
named here are that page's.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, g, redirect, request, session, url_for
from flask_login import LoginManager, current_user

from tracker import clock
from tracker.db import get_session
from tracker.http.errors import error_response, wants_json
from tracker.models import User
from tracker.services import access, calendar
from tracker.services.actors import Actor
from tracker.services.notify import messages as notify
from tracker.shared_sql import shared


class _LoginManager(LoginManager):
    """A bearer token, when sent, decides who the caller is, whatever cookies come along.

    Flask-Login tries the session first and, under "strong" protection, gives up on
    a session without its identifier before it ever looks at the token; an API client
    that keeps cookies would then be anonymous.
    """

    def _load_user(self):
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return self._update_request_context_with_user(_load_from_token(request))
        return super()._load_user()

    def _session_protection_failed(self):
        """A session with no user in it has nothing to protect. "Strong" protection would rewrite
        it (``_remember = "clear"``) on every anonymous request, and such a response overtaking a
        concurrent login's (the browser's own /favicon.ico, a prefetch) put the anonymous cookie back
        over the new one: the user was logged out as soon as they logged in."""
        if "_user_id" not in session:
            return False
        return super()._session_protection_failed()


login_manager = _LoginManager()
login_manager.session_protection = "strong"

PUBLIC_ENDPOINTS = {"auth.login", "static", "home.healthz", "home.favicon"}


class LoginUser:
    """Flask-Login's view of a user row (kept apart from the table model)."""

    def __init__(self, row: "User | UserRecord", unread: int | None = None):
        self.row = row
        self.unread = unread  # the navigation badge, read with the row (None: not read)
        self.id = row.id
        self.is_authenticated = True
        self.is_active = row.active
        self.is_anonymous = False

    def get_id(self) -> str:
        # The hash is part of the id so a password change ends the other sessions.
        return f"{self.row.id}:{self.row.password_hash[-12:]}"


class UserRecord:
    """The logged-in user's row as read for this request: the columns of ``User``, read-only.

    Every page loads its user; as an ORM entity (identity map, instance state, row processors) it
    cost 0.3-0.4 ms more per clerk page, ~5 % (interleaved A/B, bench/load/README.md). A page that
    changes the user loads the entity (``current_row``)."""

    __slots__ = tuple(c.key for c in User.__table__.c)

    def __init__(self, values):
        for name, value in zip(self.__slots__, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"UserRecord is read-only; change the User entity (current_row()) instead of {name}")


@shared()
def _user_select() -> sa.Select:
    """The user, the navigation badge's count and the calendar's version (parameter ``day``) in one
    statement: every page needs the first two and nearly every page the third (``Horizon.build``).
    Built once: building it and its cache key on every request cost a few percent of a worker's CPU."""
    user = User.__table__
    return sa.select(*user.c, notify.unread_count_of(user.c.id), *calendar.VERSION_COLUMNS).where(
        user.c.id == sa.bindparam("user_id")
    )


@login_manager.user_loader
def _load_user(raw: str):
    user_id, _, tag = raw.partition(":")
    if not user_id.isdigit():
        return None
    db, today = get_session(), clock.today()
    found = db.connection().execute(_user_select(), {"user_id": int(user_id), "day": today}).first()
    if found is None:
        return None
    width = len(UserRecord.__slots__)
    row = UserRecord(found[:width])
    unread, *version = found[width:]
    calendar.remember_version(db, today, version)
    if not row.active or row.password_hash[-12:] != tag:
        return None
    return LoginUser(row, unread)


def _load_from_token(req):
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    row = access.user_for_token(get_session(), header[7:].strip())
    if row is None:
        return None
    g.token_auth = True
    get_session().commit()  # last_used_at
    return LoginUser(row)


@login_manager.unauthorized_handler
def _unauthorized():
    if wants_json():
        return error_response(401, "unauthorized", "请先登录或提供有效的访问令牌")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def current_actor() -> Actor:
    return Actor.of(current_user.row)


def current_row() -> User:
    """The logged-in user as an entity of the request's session, for a page that changes it."""
    return get_session().get(User, current_user.id)


def _guard():
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None and request.path.startswith("/static/"):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    row = current_user.row
    if row.must_change_password and request.endpoint not in {"auth.change_password", "auth.logout"}:
        if wants_json():
            return error_response(403, "password_change_required", "请先修改初始密码")
        return redirect(url_for("auth.change_password"))
    return None


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    app.before_request(_guard)
