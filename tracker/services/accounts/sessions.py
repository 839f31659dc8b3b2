"""Login sessions, kept in the database so that ending one takes effect at once.

The browser's signed cookie carries a random token; the ``usersession`` row is keyed by its
SHA-256, so neither a database dump nor the sessions page gives out a working cookie. A session
ends when it is revoked (logout, "sign out everywhere", its owner or an administrator revoking it,
a password change or reset, the account deactivated), after ``idle`` without a request, and
``lifetime`` after it began, whichever comes first (``Settings.session_idle_minutes``,
``session_lifetime_hours``). The page loader (``tracker/http/login.py``) reads the row with the
user in one statement and writes ``last_seen_at`` at most once a minute, not on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from tracker import clock
from tracker.config import Settings
from tracker.errors import NotFound
from tracker.models import User, UserSession
from tracker.services import audit
from tracker.services.actors import Actor

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is at most this stale: one write a minute per session
KEEP_ENDED = timedelta(days=30)  # ended sessions are kept this long for the owner's and the admin's pages

REASON_LABELS = {
    "logout": "已退出",
    "everywhere": "退出所有设备",
    "revoked": "本人下线",
    "admin": "管理员强制下线",
    "password": "密码已修改",
    "deactivated": "账号已停用",
    "idle": "长时间未操作",
    "expired": "超过最长有效期",
}


@dataclass(frozen=True)
class Limits:
    idle: timedelta
    lifetime: timedelta

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        return cls(timedelta(minutes=settings.session_idle_minutes), timedelta(hours=settings.session_lifetime_hours))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User, *, ip: str, user_agent: str) -> str:
    """Open a session for ``user`` and return its token (for the cookie, never stored); audited as
    ``login``. Sessions of this user that ended more than ``KEEP_ENDED`` ago are dropped."""
    now = clock.now()
    token = secrets.token_urlsafe(32)
    session.execute(
        sa.delete(UserSession).where(
            UserSession.user_id == user.id,
            sa.or_(UserSession.revoked_at < now - KEEP_ENDED, UserSession.last_seen_at < now - KEEP_ENDED),
        )
    )
    row = UserSession(
        id=token_hash(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        ip=ip[:64],
        user_agent=user_agent[:255],
    )
    session.add(row)
    session.flush()
    audit.record(session, Actor.of(user), "login", entity="user", entity_id=user.id, after={"ip": ip})
    return token


def ended(created_at: datetime, last_seen_at: datetime, now: datetime, limits: Limits) -> str | None:
    """Why a session not revoked is over at ``now``: "idle", "expired", or None while it lasts."""
    if now - created_at >= limits.lifetime:
        return "expired"
    if now - last_seen_at >= limits.idle:
        return "idle"
    return None


def close(session: Session, session_id: str, reason: str) -> None:
    """Mark a session found over (``ended``) as such, so that it stays over whatever clock the
    next worker reads."""
    _revoke(session, [UserSession.id == session_id], reason)


def touch(session: Session, session_id: str, last_seen_at: datetime, now: datetime) -> bool:
    """Note that the session was used at ``now``, when the last note is ``TOUCH_EVERY`` old; True
    when a row was written (the caller commits)."""
    if now - last_seen_at < TOUCH_EVERY:
        return False
    session.execute(
        sa.update(UserSession)
        .where(UserSession.id == session_id, UserSession.last_seen_at < now - TOUCH_EVERY)
        .values(last_seen_at=now)
    )
    return True


def active(session: Session, user_id: int, limits: Limits) -> list[UserSession]:
    """The user's sessions that still let a cookie in, the most recently used first."""
    now = clock.now()
    return list(
        session.exec(
            select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.last_seen_at > now - limits.idle,
                UserSession.created_at > now - limits.lifetime,
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.created_at.desc())
        )
    )


def _revoke(session: Session, where, reason: str) -> int:
    stmt = (
        sa.update(UserSession)
        .where(UserSession.revoked_at.is_(None), *where)
        .values(revoked_at=clock.now(), revoked_reason=reason)
    )
    return session.execute(stmt).rowcount


def logout(session: Session, actor: Actor, session_id: str) -> None:
    """The current session ends (its cookie is dead from now on); audited as ``logout``."""
    _revoke(session, [UserSession.id == session_id], "logout")
    audit.record(session, actor, "logout", entity="user", entity_id=actor.user_id)


def revoke(session: Session, actor: Actor, user_id: int, session_id: str, *, by_admin: bool = False) -> None:
    """End one of ``user_id``'s sessions: its owner from the sessions page, or an administrator.

    Raises NotFound for a session that is not that user's."""
    row = session.get(UserSession, session_id)
    if row is None or row.user_id != user_id:
        raise NotFound("未找到该登录会话")
    reason = "admin" if by_admin else "revoked"
    if _revoke(session, [UserSession.id == session_id], reason):
        audit.record(
            session,
            actor,
            "session_revoked",
            entity="user",
            entity_id=user_id,
            after={"session": session_id[:8], "ip": row.ip, "reason": reason},
        )


def end_all(session: Session, actor: Actor, user_id: int, *, reason: str, keep: str | None = None) -> int:
    """End every session of ``user_id`` (but ``keep``, the caller's own) and return how many.

    ``reason`` "everywhere" (its owner signing out everywhere) and "admin" are audited here
    (``logout_everywhere``, ``session_revoked``); a password change, a reset and a deactivation
    end the sessions as part of their own audited change."""
    where = [UserSession.user_id == user_id]
    if keep is not None:
        where.append(UserSession.id != keep)
    count = _revoke(session, where, reason)
    if reason == "everywhere":
        audit.record(
            session,
            actor,
            "logout_everywhere",
            entity="user",
            entity_id=user_id,
            after={"sessions": count, "kept_current": keep is not None},
        )
    elif reason == "admin" and count:
        audit.record(
            session,
            actor,
            "session_revoked",
            entity="user",
            entity_id=user_id,
            after={"sessions": count, "reason": reason},
        )
    return count
