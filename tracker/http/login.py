"""Who the caller is, for every page, API call and board callback.

Secure by default: a ``before_request`` guard lets anonymous callers reach
only the login page, static files and /healthz (the Dash prefix included:
PITFALLS says protecting the page alone leaks data through Dash's own routes).
The login page itself is an HTML view (``tracker.web.auth``); the endpoints
named here are that page's.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import LoginManager, current_user

from tracker import clock
from tracker.db import get_session
from tracker.http.errors import error_response, wants_json
from tracker.models import User, UserSession
from tracker.services import access, calendar
from tracker.services.accounts import sessions
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

    def __init__(self, row: "User | UserRecord", unread: int | None = None, *, token: str = ""):
        self.row = row
        self.unread = unread  # the navigation badge, read with the row (None: not read)
        self.token = token  # the login session's (services/accounts/sessions.py); none for a bearer token
        self.id = row.id
        self.is_authenticated = True
        self.is_active = row.active
        self.is_anonymous = False

    def get_id(self) -> str:
        # What the signed cookie keeps: the user and the session's token, whose hash is the
        # ``usersession`` row that every request must find alive.
        return f"{self.row.id}:{self.token}"


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
    """The user, the navigation badge's count, the calendar's version (parameter ``day``) and the
    login session (parameter ``session_id``, not revoked) in one statement: every page needs the
    first two and its session, nearly every page the third (``Horizon.build``). Built once: building
    it and its cache key on every request cost a few percent of a worker's CPU."""
    user, login = User.__table__, UserSession.__table__
    return (
        sa.select(
            *user.c,
            notify.unread_count_of(user.c.id),
            *calendar.VERSION_COLUMNS,
            login.c.created_at,
            login.c.last_seen_at,
        )
        .join(
            login,
            sa.and_(
                login.c.id == sa.bindparam("session_id"),
                login.c.user_id == user.c.id,
                login.c.revoked_at.is_(None),
            ),
        )
        .where(user.c.id == sa.bindparam("user_id"))
    )


@login_manager.user_loader
def _load_user(raw: str):
    user_id, _, token = raw.partition(":")
    if not user_id.isdigit() or not token:
        return None
    session_id = sessions.token_hash(token)
    db, today = get_session(), clock.today()
    params = {"user_id": int(user_id), "day": today, "session_id": session_id}
    found = db.connection().execute(_user_select(), params).first()
    if found is None:
        return None  # no such user, or the session was revoked: the cookie is dead
    width = len(UserRecord.__slots__)
    row = UserRecord(found[:width])
    unread, *version, created_at, last_seen_at = found[width:]
    calendar.remember_version(db, today, version)
    if not row.active:
        return None
    now = clock.now()
    if ended := sessions.ended(created_at, last_seen_at, now, sessions.Limits.of(current_app.config["TRACKER"])):
        g.session_ended = ended
        sessions.close(db, session_id, ended)
        db.commit()
        return None
    if sessions.touch(db, session_id, last_seen_at, now):
        db.commit()
    g.login_session = session_id
    return LoginUser(row, unread, token=token)


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
    if ended := g.get("session_ended"):
        flash(
            "登录已超过最长有效期，请重新登录" if ended == "expired" else "长时间未操作，登录已超时，请重新登录", "info"
        )
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def current_actor() -> Actor:
    return Actor.of(current_user.row)


def current_session_id() -> str | None:
    """The hash of the request's login session (None for a bearer token)."""
    return g.get("login_session")


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
    settings = app.config["TRACKER"]
    # The cookie itself is refused past the session's lifetime too (Flask's default: 31 days).
    app.permanent_session_lifetime = sessions.Limits.of(settings).lifetime
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    app.before_request(_guard)
